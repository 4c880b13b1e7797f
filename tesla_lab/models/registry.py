"""The model families by name, :func:`make_model` to build one, :func:`load_estimator` to read a saved one.

Torch families (``linear``, ``logistic``, ``mlp``, ``cnn``, ``tt_mlp``) are TESLA networks described by a
``build_model`` config; ``sklearn:<kind>`` families wrap scikit-learn estimators. Unknown names raise
:class:`~tesla_lab.errors.ConfigError` listing the choices.

>>> model = make_model("mlp", n_features=4, n_outputs=3, task="classification", hidden_sizes=[8])
>>> model.framework, model.family, model.hparams["hidden_sizes"]
('torch', 'mlp', [8])
>>> make_model("tt-mlpp", 4, 3, "classification")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: unknown model family 'tt-mlpp' (did you mean 'tt_mlp'?); choose one of: cnn, linear, \
logistic, mlp, sequential, sklearn:gradient_boosting, sklearn:knn, sklearn:linear, sklearn:logistic, \
sklearn:random_forest, sklearn:ridge, sklearn:svm, tt_mlp
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models import cnn, linear, logistic, mlp, sequential, sklearn, tt_mlp
from tesla_lab.models.base import MODEL_FILE, Estimator, check_task
from tesla_lab.models.storage import get, is_folder
from tesla_lab.models.torch_model import TorchModel

__all__ = ["Family", "FAMILIES", "FRAMEWORK_CHOICES", "get_family", "families", "make_model", "check_hparams",
           "default_family", "check_framework", "resolve_framework", "load_estimator"]


@dataclass(frozen=True)
class Family:
    """A model family: its framework, the tasks it does, its hyper-parameters with their defaults (``None`` when
    the wrapped estimator validates them) and the builder.

    >>> get_family("logistic").tasks
    ('classification',)
    """

    name: str
    framework: str
    tasks: tuple[str, ...]
    defaults: dict[str, Any] | None
    description: str
    build: Callable[..., Estimator]


FAMILIES: Registry[Family] = Registry("model family")
for _module, _text in ((linear, "linear regression (one Dense layer, MSE)"),
                       (logistic, "logistic regression, binary (sigmoid) or multinomial (softmax)"),
                       (mlp, "multi-layer perceptron (dense hidden layers)"),
                       (cnn, "convolutional network for images given as pixel rows (e.g. digits 8x8)"),
                       (tt_mlp, "MLP with tensor-train (TTLinear) hidden layers"),
                       (sequential, "a layer list edited in the model builder (Dense, TT, Conv2D, ...)")):
    _name = _module.__name__.rsplit(".", 1)[1]
    FAMILIES.register(_name, partial(Family, _name, "torch", _module.TASKS, _module.DEFAULTS, _text, _module.build))
for _kind in sklearn.kinds():
    _tasks = tuple(t for t in ("classification", "regression") if t in sklearn.ESTIMATORS[_kind])
    _paths = ", ".join(sorted(set(sklearn.ESTIMATORS[_kind].values())))
    FAMILIES.register(f"sklearn:{_kind}", partial(Family, f"sklearn:{_kind}", "scikit-learn", _tasks, None,
                                                  f"scikit-learn {_paths}", partial(sklearn.build, _kind)))

# what `tesla train -f` accepts: a framework, and the family it trains when none is named
FRAMEWORK_CHOICES: dict[str, str] = {"torch": "mlp", "tt": "tt_mlp", "scikit-learn": "sklearn:random_forest"}
_FRAMEWORK_ALIASES = {"pytorch": "torch", "sklearn": "scikit-learn", "scikit_learn": "scikit-learn",
                      "tensor-train": "tt", "tensor_train": "tt"}


def get_family(name: str) -> Family:
    """The :class:`Family` named ``name`` (case-insensitive, ``-`` = ``_``)."""
    return FAMILIES.get(name)()


def families(framework: str | None = None, task: str | None = None) -> list[str]:
    """Family names, optionally only those of a framework (``'torch'``, ``'tt'``, ``'scikit-learn'``) or task.

    >>> families("torch", "regression")
    ['cnn', 'linear', 'mlp', 'sequential', 'tt_mlp']
    """
    wanted = None if framework is None else resolve_framework(framework)
    out = []
    for name in FAMILIES.names():
        fam = get_family(name)
        if wanted is not None and fam.framework != ("torch" if wanted == "tt" else wanted):
            continue
        if task is not None and task not in fam.tasks:
            continue
        out.append(fam.name)
    return out


def resolve_framework(framework: str) -> str:
    """The canonical framework name: ``'torch'``, ``'tt'`` or ``'scikit-learn'`` (``'sklearn'``, ``'pytorch'`` work).

    >>> resolve_framework("sklearn")
    'scikit-learn'
    >>> resolve_framework("jax")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown framework 'jax'; choose one of: torch, tt, scikit-learn
    """
    if not isinstance(framework, str):
        raise ConfigError(f"framework must be a name (torch, tt, scikit-learn); got {framework!r}")
    key = str(framework).strip().lower()
    key = _FRAMEWORK_ALIASES.get(key, key)
    if key not in FRAMEWORK_CHOICES:
        raise ConfigError(f"unknown framework {framework!r}; choose one of: {', '.join(FRAMEWORK_CHOICES)}")
    return key


def default_family(framework: str, task: str) -> str:
    """The family a framework trains when none is named: torch → mlp, tt → tt_mlp, scikit-learn → random forest.

    >>> default_family("tt", "classification"), default_family("sklearn", "regression")
    ('tt_mlp', 'sklearn:random_forest')
    """
    check_task(task)
    return FRAMEWORK_CHOICES[resolve_framework(framework)]


def check_framework(framework: str, family: str) -> str:
    """The canonical family name, after checking it belongs to ``framework``.

    >>> check_framework("scikit-learn", "mlp")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: family 'mlp' is a torch model but framework 'scikit-learn' was asked for; use \
framework 'torch' (or 'tt'), or a scikit-learn family: sklearn:gradient_boosting, sklearn:knn, sklearn:linear, \
sklearn:logistic, sklearn:random_forest, sklearn:ridge, sklearn:svm
    """
    wanted = resolve_framework(framework)
    fam = get_family(family)
    if fam.framework != ("torch" if wanted == "tt" else wanted):
        hint = "'torch' (or 'tt')" if fam.framework == "torch" else "'scikit-learn'"
        raise ConfigError(f"family {family!r} is a {fam.framework} model but framework {framework!r} was asked for; "
                          f"use framework {hint}, or a {'scikit-learn' if wanted == 'scikit-learn' else 'torch'} "
                          f"family: {', '.join(families(wanted))}")
    return fam.name


def make_model(family: str, n_features: int, n_outputs: int, task: str, **hparams: Any) -> Estimator:
    """Build an unfitted model of ``family`` for ``n_features`` inputs and ``n_outputs`` classes (classification)
    or targets (regression). ``hparams`` are the family's hyper-parameters (``hidden_sizes``, ``tt_rank``, ...;
    for ``sklearn:*`` the estimator's own parameters).

    >>> make_model("linear", 4, 3, "classification")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: family 'linear' does regression only, not classification; for classification \
choose one of: cnn, logistic, mlp, sequential, sklearn:gradient_boosting, sklearn:knn, sklearn:logistic, \
sklearn:random_forest, sklearn:svm, tt_mlp
    >>> make_model("mlp", 4, 3, "classification", tt_rank=4)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: family 'mlp' has no hyper-parameter(s) 'tt_rank'; it takes: activation, \
batch_norm, dropout, hidden_sizes
    """
    fam = get_family(family)
    task = check_task(task)
    if task not in fam.tasks:
        raise ConfigError(f"family {fam.name!r} does {' and '.join(fam.tasks)} only, not {task}; for {task} choose "
                          f"one of: {', '.join(families(task=task))}")
    check_hparams(fam.name, hparams)
    return fam.build(n_features=n_features, n_outputs=n_outputs, task=task, **hparams)


def check_hparams(family: str, hparams: dict[str, Any]) -> None:
    """Refuse hyper-parameter names ``family`` does not take (scikit-learn families are checked by the estimator
    when it is built).

    >>> check_hparams("linear", {"tt_rank": 4})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: family 'linear' has no hyper-parameter(s) 'tt_rank'; it takes: (nothing)
    """
    fam = get_family(family)
    unknown = sorted(set(hparams) - set(fam.defaults)) if fam.defaults is not None else []
    if unknown:
        takes = ", ".join(sorted(fam.defaults or {})) or "(nothing)"
        raise ConfigError(f"family {fam.name!r} has no hyper-parameter(s) {', '.join(map(repr, unknown))}; it takes: "
                          f"{takes}")


def load_estimator(source: Any, entry: dict[str, Any] | None = None, *, trust: bool = False) -> Estimator:
    """Read back a model written by :meth:`Estimator.save`: from a folder (``entry`` is its ``model.json``), or
    from an artifact store / Project / Run given the ``entry`` ``save`` returned. Torch weights load with
    ``weights_only=True``; scikit-learn pickles load only from a store and only with ``trust=True``.

    >>> import tempfile
    >>> load_estimator(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: .../model.json is missing; the model folder ... is incomplete (save it again)
    """
    if entry is None:
        if not is_folder(source):
            raise ConfigError("load_estimator from a store needs the entry that save() returned")
        try:
            entry = json.loads(get(source, MODEL_FILE))
        except json.JSONDecodeError as exc:
            raise DataError(f"{MODEL_FILE} in {source} is not valid JSON ({exc}); save the model again") from exc
    if not isinstance(entry, dict) or not {"config", "payload", "format"} <= set(entry):
        raise DataError(f"a saved model entry needs 'config', 'payload' and 'format'; got {entry!r:.120}")
    config = entry["config"]
    if entry["format"] == "pickle":
        if is_folder(source):
            raise ConfigError(f"refusing to unpickle an estimator from the folder {source}: TESLA Lab loads "
                              "scikit-learn pickles only from a project's artifact store (with trust=True)")
        return sklearn.SklearnModel.from_config(config, get(source, entry["payload"]), trust=trust)
    if entry["format"] != "torch":
        raise DataError(f"unknown saved model format {entry['format']!r}; expected 'torch' or 'pickle'")
    return TorchModel.from_config(config, get(source, entry["payload"]))
