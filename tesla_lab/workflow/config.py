"""``TrainConfig``: the one training configuration every entry point builds (Python, CLI, UI, papermill, YAML).

It is plain, validated data: constructing it with a bad value raises :class:`~tesla_lab.errors.ConfigError`
naming the field, the value and the choices; ``to_dict()`` is stored with each run, so
``TrainConfig.from_dict(run.config)`` reproduces it.

>>> cfg = TrainConfig(dataset="iris", framework="tt", epochs=5, model={"hidden_sizes": [32], "tt_rank": 4})
>>> TrainConfig.from_dict(cfg.to_dict()) == cfg
True
>>> TrainConfig(epochs=0)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: epochs must be an integer >= 1; got 0
>>> TrainConfig.from_dict({"epoch": 3})
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: unknown training option 'epoch' (did you mean 'epochs'?); valid options: dataset, ...
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tesla_lab.errors import ConfigError
from tesla_lab.loss import LOSSES
from tesla_lab.models import check_framework, check_hparams, resolve_framework
from tesla_lab.optim import OPTIMIZERS
from tesla_lab.store.retention import check_keep
from tesla_lab.train import Trainer
from tesla_lab.workflow.preprocess import parse_steps

__all__ = ["TrainConfig", "TASK_CHOICES"]

TASK_CHOICES = ("auto", "classification", "regression")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _int(name: str, value: Any, minimum: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}{' or None' if optional else ''}; got {value!r}")
    return value


def _number(name: str, value: Any, *, optional: bool = True) -> float | None:
    """A positive float; numeric strings are accepted (YAML reads ``1e-3`` as text)."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{name} must be a positive number{' or None' if optional else ''}; got {value!r}")
    return float(value)


def _size(name: str, value: Any, *, allow_zero: bool) -> float | int:
    """A split size: a fraction in (0, 1) (``[0, 1)`` with ``allow_zero``) or a whole number of rows."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ok = False
    elif isinstance(value, int):
        ok = value >= (0 if allow_zero else 1)
    else:
        ok = 0.0 <= value < 1.0 if allow_zero else 0.0 < value < 1.0
    if not ok:
        low = "[0, 1)" if allow_zero else "(0, 1)"
        raise ConfigError(f"{name} must be a fraction in {low} or a number of rows; got {value!r}")
    return value  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """Tuples → lists, recursively, so the dict dumps to JSON and YAML alike."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _name(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name} must be a non-empty string or None; got {value!r}")
    return value.strip()


@dataclass
class TrainConfig:
    """Everything that decides a training run.

    Args:
        dataset: a file path, a sample name (``'iris'``), or a dataset of the project's store (``'train'``,
            ``'train@2'`` for version 2); ``None``: the dataset loaded last (``tesla load``).
        target: the target column (default: the one given at ``tesla load``, the sample's, or the last column).
        features: the feature columns (default: every other column).
        task: ``'auto'`` (whole numbers / text with few values → classification), ``'classification'``,
            ``'regression'``.
        framework: ``'torch'``, ``'tt'`` (tensor-train torch models) or ``'scikit-learn'``.
        family: the model family (:func:`~tesla_lab.models.families`); ``None``: the framework's default
            (mlp, tt_mlp, sklearn:random_forest).
        model: the family's hyper-parameters, e.g. ``{"hidden_sizes": [64, 32], "tt_rank": 8}``.
        optimizer, lr, loss: training loop (``loss=None``: the family's); ``lr=None``: the optimizer's default.
        epochs, batch_size, grad_clip: training loop.
        iterations: the training budget in the documents' sense (``tesla train -p``): sets ``epochs`` for torch
            and tensor-train families, ``max_iter`` or ``n_estimators`` in ``model`` for scikit-learn ones
            (:func:`~tesla_lab.workflow.apply_iterations`, when the run starts); ``None``: leave them as given.
        device, precision, seed: ``None`` takes the project's defaults (``tesla.yaml``), else auto / fp32 / 0.
        test_size, val_size: held-out fractions (or row counts) of the data.
        preprocessing: steps after the automatic fill-missing and one-hot encoding: names from
            ``standardize``, ``minmaxscale``, ``normalize``, ``pixelscale``, ``fillmissing`` or
            ``{"type": name, **options}``; ``[]`` for none.
        max_categories: text columns with more distinct values are refused as free text.
        scale_target: regression models learn the standardized target (predictions are scaled back).
        checkpoint_every: store a resumable checkpoint every N epochs (``None``: every tenth of the epochs, so a
            crashed run loses at most a tenth; always after the last epoch and when stopped).
        keep_checkpoints: which stored checkpoints to keep: ``"last+best"`` (the last, for resume, and the best
            by validation loss, else training loss), an integer N (the last N) or ``"all"``.
    """

    dataset: str | None = None
    target: str | None = None
    features: list[str] | None = None
    task: str = "auto"
    framework: str = "torch"
    family: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "adam"
    lr: float | None = None
    loss: str | None = None
    epochs: int = 10
    iterations: int | None = None
    batch_size: int = 32
    grad_clip: float | None = None
    device: str | None = None
    precision: str | None = None
    seed: int | None = None
    test_size: float | int = 0.2
    val_size: float | int = 0.0
    preprocessing: list[Any] = field(default_factory=lambda: ["standardize"])
    max_categories: int = 20
    scale_target: bool = True
    checkpoint_every: int | None = None
    keep_checkpoints: int | str = "last+best"

    def __post_init__(self) -> None:
        self.dataset = _name("dataset", self.dataset)
        self.target = _name("target", self.target)
        if self.features is not None:
            if isinstance(self.features, str):
                self.features = [f.strip() for f in self.features.split(",") if f.strip()]
            if not isinstance(self.features, (list, tuple)) or not self.features or not all(
                    isinstance(f, str) and f for f in self.features):
                raise ConfigError(f"features must be a non-empty list of column names or None; got {self.features!r}")
            if len(set(self.features)) != len(self.features):
                raise ConfigError(f"features lists a column twice: {self.features!r}")
            self.features = list(self.features)
        if self.task not in TASK_CHOICES:
            raise ConfigError(f"task must be one of: {', '.join(TASK_CHOICES)}; got {self.task!r}")
        self.framework = resolve_framework(self.framework)
        if self.family is not None:
            self.family = check_framework(self.framework, _name("family", self.family))  # type: ignore[arg-type]
        if not isinstance(self.model, Mapping) or not all(isinstance(k, str) for k in self.model):
            raise ConfigError(f"model must be a dict of hyper-parameters (e.g. {{'hidden_sizes': [64]}}); got "
                              f"{self.model!r}")
        self.model = dict(self.model)
        if self.family is not None:
            check_hparams(self.family, self.model)
        OPTIMIZERS.get(self.optimizer)  # a ConfigError listing the optimizers
        if self.loss is not None:
            LOSSES.get(self.loss)
        self.lr = _number("lr", self.lr)
        self.grad_clip = _number("grad_clip", self.grad_clip)
        self.epochs = _int("epochs", self.epochs, 1)  # type: ignore[assignment]
        self.iterations = _int("iterations", self.iterations, 1, optional=True)
        self.batch_size = _int("batch_size", self.batch_size, 1)  # type: ignore[assignment]
        if self.device is not None and (not isinstance(self.device, str) or not _DEVICE.match(self.device)):
            raise ConfigError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got {self.device!r}")
        if self.precision is not None:
            Trainer(precision=self.precision)  # a ConfigError listing the precisions
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ConfigError(f"seed must be an integer or None; got {self.seed!r}")
        self.test_size = _size("test_size", self.test_size, allow_zero=False)
        self.val_size = _size("val_size", self.val_size, allow_zero=True)
        fractions = isinstance(self.test_size, float) and isinstance(self.val_size, float)
        if fractions and self.test_size + self.val_size >= 1:
            raise ConfigError(f"test_size + val_size must leave rows to train on; got {self.test_size} + "
                              f"{self.val_size} >= 1")
        if isinstance(self.preprocessing, (str, dict)):
            self.preprocessing = [self.preprocessing]
        parse_steps(self.preprocessing)
        self.preprocessing = list(self.preprocessing)
        self.max_categories = _int("max_categories", self.max_categories, 1)  # type: ignore[assignment]
        if not isinstance(self.scale_target, bool):
            raise ConfigError(f"scale_target must be true or false; got {self.scale_target!r}")
        self.checkpoint_every = _int("checkpoint_every", self.checkpoint_every, 1, optional=True)
        self.keep_checkpoints = check_keep(self.keep_checkpoints)

    # ------------------------------------------------------------------------------------------ conversion
    @classmethod
    def fields(cls) -> list[str]:
        """The option names, in order.

        >>> TrainConfig.fields()[:3]
        ['dataset', 'target', 'features']
        """
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from a dict (a run's stored config, YAML, papermill parameters); unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a training config must be a mapping of option → value; got {type(data).__name__}")
        names = cls.fields()
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"unknown training option {key!r}{hint}; valid options: {', '.join(names)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-able dict of every option.

        >>> TrainConfig(epochs=3).to_dict()["epochs"]
        3
        """
        return _plain(dataclasses.asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a YAML file of options (``tesla train --config model.yaml``).

        >>> TrainConfig.from_yaml("missing.yaml")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: config file 'missing.yaml' not found; check the path
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file '{p}' not found; check the path")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file '{p}' is not valid YAML: {exc}") from exc
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"config file '{p}' must hold a mapping of options (epochs: 10, ...); got "
                              f"{type(data).__name__}")
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        """The options as YAML text (what :meth:`from_yaml` reads)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (``None`` values are skipped, so CLI flags left out keep the file's).

        >>> TrainConfig(epochs=5).replace(epochs=None, lr=0.01).epochs
        5
        """
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
