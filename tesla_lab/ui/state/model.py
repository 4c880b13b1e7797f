"""The Model view's state: the layers of a TESLA network and the training settings, checked on every edit.

Every change rebuilds the network (``nn.build_model``) and its summary: parameter count, dense equivalent, TT
compression ratio and a memory estimate. A bad value (rank 0, batch size 0, layers whose shapes do not fit)
shows its ``TeslaError`` message in ``error`` and ``can_launch`` is False. :meth:`ModelState.train_config`
gives the :class:`~tesla_lab.workflow.TrainConfig` (family ``sequential``) the training process runs.

>>> state = ModelState(n_inputs=64, n_outputs=10)
>>> state.can_launch, state.total_params < state.dense_params
(True, True)
>>> state.update_layer(0, tt_rank=0)
>>> state.can_launch, state.error
(False, 'invalid model: layer 1 (TT): TT ranks must be integers >= 1; got rank=0. Typical values: 4 to 16')
>>> state.update_layer(0, tt_rank=4); state.batch_size = 0
>>> state.error
'invalid training settings: batch_size must be an integer >= 1; got 0'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, TeslaError
from tesla_lab.jobs import list_devices
from tesla_lab.models.sequential import network_config
from tesla_lab.nn import ACTIVATIONS, ModelSummary, Sequential, layer_from_config
from tesla_lab.optim import OPTIMIZERS
from tesla_lab.tn import padded_size, prime_factors
from tesla_lab.train.precision import PRECISION_CHOICES
from tesla_lab.ui.state.base import StateBase, action, param
from tesla_lab.workflow import TrainConfig

__all__ = ["ModelState", "LAYER_KINDS", "LAYER_FIELDS", "layer_config", "training_memory"]

# what the builder offers, and each kind's fields with their defaults
LAYER_FIELDS: dict[str, dict[str, Any]] = {
    "Dense": {"units": 64, "activation": "relu"},
    "TT": {"units": 64, "activation": "relu", "tt_rank": 4, "in_shape": "", "out_shape": ""},
    "Conv2D": {"filters": 8, "kernel_size": 3, "activation": "relu"},
    "MaxPool2D": {"pool_size": 2},
    "BatchNorm": {},
    "LeakyReLU": {"negative_slope": 0.01},
    "Dropout": {"rate": 0.1},
    "Flatten": {},
    "ZeroPad": {"features": 16},
}
LAYER_KINDS = tuple(LAYER_FIELDS)
ACTIVATION_CHOICES = ["relu", "leaky_relu", "gelu", "tanh", "sigmoid", "elu", "silu", "none"]
LOSS_CHOICES = ["auto", "cross_entropy", "bce_with_logits", "mse", "mae", "huber", "smooth_l1"]
OPTIMIZER_CHOICES = [name for name in ("adam", "adamw", "sgd", "rmsprop", "adagrad") if name in OPTIMIZERS]
PREPROCESSING_CHOICES = ["standardize", "minmaxscale", "pixelscale", "none"]
_OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1, "sgd": 1}  # per-parameter buffers
_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "mixed": 2}  # activation bytes per value


def _shape(value: Any, name: str) -> list[int] | None:
    """``'4, 4, 4'`` / ``[4, 4, 4]`` → ``[4, 4, 4]``; ``''`` / None → None (factorized automatically)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    items = value.replace("x", ",").split(",") if isinstance(value, str) else value
    try:
        dims = [int(str(d).strip()) for d in items]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be mode sizes like '4,4,4' (or empty to factorize automatically); "
                          f"got {value!r}") from None
    if not dims or any(d < 1 for d in dims):
        raise ConfigError(f"{name} sizes must be integers >= 1, e.g. '4,4,4'; got {value!r}")
    return dims


def layer_config(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`~tesla_lab.nn.build_model` config of one builder layer ``{"kind": ..., **fields}``.

    >>> layer_config({"kind": "TT", "units": 32, "activation": "relu", "tt_rank": 4, "in_shape": "8,8"})
    {'type': 'Dense', 'units': 32, 'activation': 'relu', 'tt_rank': 4, 'in_shape': [8, 8], 'out_shape': None}
    >>> layer_config({"kind": "Pool"})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown layer kind 'Pool'; choose one of: Dense, TT, Conv2D, MaxPool2D, BatchNorm, \
LeakyReLU, Dropout, Flatten, ZeroPad
    """
    kind = spec.get("kind")
    if kind not in LAYER_FIELDS:
        raise ConfigError(f"unknown layer kind {kind!r}; choose one of: {', '.join(LAYER_KINDS)}")
    f = {**LAYER_FIELDS[kind], **{k: v for k, v in spec.items() if k != "kind"}}
    act = None if f.get("activation") in (None, "", "none") else f.get("activation")
    if kind == "Dense":
        return {"type": "Dense", "units": f["units"], "activation": act}
    if kind == "TT":
        return {"type": "Dense", "units": f["units"], "activation": act, "tt_rank": f["tt_rank"],
                "in_shape": _shape(f["in_shape"], "in_shape"), "out_shape": _shape(f["out_shape"], "out_shape")}
    if kind == "Conv2D":
        return {"type": "Conv2D", "filters": f["filters"], "kernel_size": f["kernel_size"], "padding": "same",
                "activation": act}
    if kind == "MaxPool2D":
        return {"type": "MaxPool2D", "pool_size": f["pool_size"]}
    if kind == "LeakyReLU":
        return {"type": "LeakyReLU", "negative_slope": float(f["negative_slope"])}
    if kind == "Dropout":
        return {"type": "Dropout", "rate": float(f["rate"])}
    if kind == "ZeroPad":
        return {"type": "ZeroPad", "features": int(f["features"])}
    return {"type": kind}  # BatchNorm, Flatten


def training_memory(summary: ModelSummary, batch_size: int, optimizer: str = "adam",
                    precision: str = "fp32") -> dict[str, int]:
    """A rough training-memory estimate in bytes: fp32 weights + gradients + optimizer buffers, and the
    activations of one batch (kept for the backward pass, and their gradients).

    >>> from tesla_lab.nn import summarize
    >>> import torch
    >>> training_memory(summarize(torch.nn.Linear(10, 10), (10,)), batch_size=4)
    {'params': 440, 'gradients': 440, 'optimizer': 880, 'activations': 320, 'total': 2080}
    """
    params = 4 * summary.total_params
    values = sum(math.prod(r.output_shape) for r in summary.rows if r.output_shape)
    activations = 2 * _BYTES.get(precision, 4) * batch_size * values
    buffers = _OPTIMIZER_STATES.get(optimizer.replace("_", ""), 2) * params
    total = 2 * params + buffers + activations
    return {"params": params, "gradients": params, "optimizer": buffers, "activations": activations, "total": total}


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


class ModelState(StateBase):
    """Layers and training settings of one model, validated on every change.

    ``n_inputs`` / ``n_outputs`` / ``task`` / ``image_shape`` come from the data (the workbench links them);
    with ``image_input`` and an image shape the network gets ``(1, H, W)`` images (for Conv2D layers).
    """

    layers = param.List(default=[{"kind": "TT", **LAYER_FIELDS["TT"], "units": 32}], item_type=dict)
    n_inputs = param.Integer(default=64, doc="features per sample (after one-hot encoding)")
    n_outputs = param.Integer(default=10, doc="classes, or 1 for regression")
    task = param.Selector(default="classification", objects=["classification", "regression"])
    image_shape = param.Parameter(default=None, doc="(H, W) of image data")
    image_input = param.Boolean(default=False, doc="feed (1, H, W) images instead of flat rows")
    model_name = param.String(default="tesla-model", doc="registry name of the trained model (and the run)")
    optimizer = param.Selector(default="adam", objects=OPTIMIZER_CHOICES)
    lr = param.Number(default=1e-3, allow_None=True, doc="learning rate (None: the optimizer's default)")
    loss = param.Selector(default="auto", objects=LOSS_CHOICES)
    epochs = param.Integer(default=10)
    batch_size = param.Integer(default=32)
    device = param.Selector(default="auto", objects=["auto", "cpu"], check_on_set=False)
    precision = param.Selector(default="fp32", objects=list(PRECISION_CHOICES))
    checkpoint_every = param.Integer(default=1, doc="epochs between checkpoints (0: only at the end)")
    seed = param.Integer(default=0)
    test_size = param.Number(default=0.2)
    val_size = param.Number(default=0.1)
    preprocessing = param.Selector(default="standardize", objects=PREPROCESSING_CHOICES)
    # results of the last check
    summary = param.Parameter(default=None, doc="the ModelSummary (None while invalid)")
    total_params = param.Integer(default=0)
    dense_params = param.Integer(default=0)
    compression_ratio = param.Number(default=1.0)
    memory = param.Dict(default={}, doc="training_memory() of the current settings")
    can_launch = param.Boolean(default=False)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.param.device.objects = ["auto", *list_devices()]
        self.refresh()

    # ------------------------------------------------------------------------------------------- layers
    def add_layer(self, kind: str, index: int | None = None, **fields: Any) -> None:
        """Insert a layer of ``kind`` (default fields, overridden by ``fields``) at ``index`` (default: last)."""
        if kind not in LAYER_FIELDS:
            self.error = f"invalid model: unknown layer kind {kind!r}; choose one of: {', '.join(LAYER_KINDS)}"
            return
        layers = list(self.layers)
        layers.insert(len(layers) if index is None else index, {"kind": kind, **LAYER_FIELDS[kind], **fields})
        self.layers = layers

    def remove_layer(self, index: int) -> None:
        """Remove layer ``index``."""
        layers = list(self.layers)
        if 0 <= index < len(layers):
            del layers[index]
            self.layers = layers

    def move_layer(self, index: int, offset: int) -> None:
        """Move layer ``index`` up (``offset=-1``) or down (``+1``)."""
        layers = list(self.layers)
        target = index + offset
        if 0 <= index < len(layers) and 0 <= target < len(layers):
            layers[index], layers[target] = layers[target], layers[index]
            self.layers = layers

    def update_layer(self, index: int, **fields: Any) -> None:
        """Change fields of layer ``index`` (``kind=`` switches its kind, keeping the fields it shares)."""
        layers = [dict(spec) for spec in self.layers]
        spec = layers[index]
        kind = fields.pop("kind", spec["kind"])
        if kind != spec["kind"] and kind in LAYER_FIELDS:
            spec = {"kind": kind, **{k: spec.get(k, v) for k, v in LAYER_FIELDS[kind].items()}}
        spec.update(fields)
        layers[index] = spec
        self.layers = layers

    def padding_offer(self) -> int | None:
        """The feature count to zero-pad the inputs to when the first layer is a TT layer and the input count has
        no tensor-train split (a prime such as wine's 13 features); None when nothing needs padding.

        >>> state = ModelState(n_inputs=13, n_outputs=3)
        >>> state.can_launch, state.padding_offer()
        (False, 15)
        >>> state.pad_inputs(); state.can_launch, [s["kind"] for s in state.layers], state.padding_offer()
        (True, ['ZeroPad', 'TT'], None)
        """
        first = self.layers[0] if self.layers else None
        if first is None or first.get("kind") != "TT" or self.input_shape() is not None or first.get("in_shape"):
            return None
        n = int(self.n_inputs or 0)
        return padded_size(n)[0] if n >= 1 and len(prime_factors(n)) < 2 else None

    def pad_inputs(self, features: int | None = None) -> None:
        """Zero-pad the inputs to ``features`` (default: :meth:`padding_offer`) with a ``ZeroPad`` first layer."""
        features = features or self.padding_offer()
        if not features:
            self.message = "the inputs need no padding"
            return
        self.add_layer("ZeroPad", index=0, features=int(features))

    # ------------------------------------------------------------------------------------------- checking
    def input_shape(self) -> list[int] | None:
        """The sample shape the network sees: ``[1, H, W]`` for image input, else None (flat rows)."""
        if self.image_input and self.image_shape and math.prod(self.image_shape) == self.n_inputs:
            return [1, *self.image_shape]
        return None

    def network(self) -> dict[str, Any]:
        """The :func:`~tesla_lab.nn.build_model` config of the whole network (output layer included)."""
        hidden = [layer_config(spec) for spec in self.layers]
        return network_config(hidden, self.n_inputs, self.n_outputs, self.input_shape())

    def _labels(self, config: dict[str, Any]) -> list[str]:
        """What the user calls each layer of :meth:`network`: ``layer 2 (TT)``, or the ones added for them."""
        offset = 1 if self.input_shape() else 0
        labels = ["input reshape"] * offset + [f"layer {i + 1} ({s.get('kind')})" for i, s in enumerate(self.layers)]
        extra = len(config["layers"]) - len(labels)
        return labels + ["flatten"] * (extra - 1) + ["output layer"]

    def _build(self) -> Sequential:
        """Build layer by layer, so an error names the layer the user sees."""
        try:
            config = self.network()
        except TeslaError as exc:
            raise ConfigError(str(exc)) from exc
        labels = self._labels(config)
        model = Sequential(input_shape=config["input_shape"])
        for i, cfg in enumerate(config["layers"]):
            label = labels[i]
            try:
                model.add(layer_from_config(cfg))
            except TeslaError as exc:
                message = str(exc).split(": ", 1)[1] if str(exc).startswith(f"layer {i} (") else str(exc)
                raise ConfigError(f"{label}: {message}") from exc
            except (RuntimeError, TypeError, ValueError) as exc:
                raise ConfigError(f"{label}: {exc}") from exc
        return model

    @param.depends("layers", "n_inputs", "n_outputs", "task", "image_shape", "image_input", "optimizer", "lr",
                   "loss", "epochs", "batch_size", "device", "precision", "checkpoint_every", "seed", "test_size",
                   "val_size", "preprocessing", "model_name", watch=True)
    def refresh(self) -> bool:
        """Check the layers and settings; update the summary, the counts and ``can_launch``."""
        summary = self._check_model()
        ok = summary is not None and self._check_settings() is not None
        self.param.update(can_launch=ok, message="valid model: ready to train" if ok else "")
        return ok

    @action("invalid model")
    def _check_model(self) -> ModelSummary:
        try:
            summary = self._build().summary()
        except TeslaError:
            self.param.update(summary=None, total_params=0, dense_params=0, compression_ratio=1.0, memory={})
            raise
        memory = training_memory(summary, max(int(self.batch_size or 1), 1), self.optimizer, self.precision)
        self.param.update(summary=summary, total_params=summary.total_params, dense_params=summary.dense_params,
                          compression_ratio=summary.compression_ratio, memory=memory)
        return summary

    @action("invalid training settings")
    def _check_settings(self) -> TrainConfig:
        if not isinstance(self.model_name, str) or not self.model_name.strip() or "@" in self.model_name:
            raise ConfigError(f"the model name must be a non-empty name without '@' (e.g. 'digits-tt'); got "
                              f"{self.model_name!r}")
        return self.train_config()

    def summary_table(self) -> pd.DataFrame:
        """The per-layer table: ``layer, type`` (``TT`` for a tensor-train layer), ``TT ranks, output shape, params,
        dense equivalent, compression`` (``'7.2x'``)."""
        columns = ["layer", "type", "TT ranks", "output shape", "params", "dense equivalent", "compression"]
        if self.summary is None:
            return pd.DataFrame(columns=columns)
        labels = self._labels(self.network())
        rows = [[label, r.kind, r.ranks_text, "?" if r.output_shape is None else str(tuple(r.output_shape)),
                 r.params, r.dense_params, r.compression_text] for label, r in zip(labels, self.summary.rows)]
        return pd.DataFrame(rows, columns=columns)

    def stats_text(self) -> str:
        """One line: parameters, dense equivalent, compression and the memory estimate."""
        if self.summary is None:
            return "no valid model"
        mem = self.memory
        return (f"{self.total_params:,} parameters (dense equivalent {self.dense_params:,}, TT compression "
                f"{self.compression_ratio:.1f}x); memory: weights {_size(mem['params'])}, training about "
                f"{_size(mem['total'])} at batch size {self.batch_size}")

    # ------------------------------------------------------------------------------------------- config
    def train_config(self, *, dataset: str | None = None, target: str | None = None,
                     features: list[str] | None = None) -> TrainConfig:
        """The :class:`~tesla_lab.workflow.TrainConfig` of these settings (raises ``ConfigError`` when invalid)."""
        hidden = [layer_config(spec) for spec in self.layers]
        return TrainConfig(
            dataset=dataset, target=target, features=features, task=self.task, framework="torch",
            family="sequential", model={"layers": hidden, "input_shape": self.input_shape()},
            optimizer=self.optimizer, lr=self.lr, loss=None if self.loss == "auto" else self.loss,
            epochs=self.epochs, batch_size=self.batch_size, device=self.device, precision=self.precision,
            seed=self.seed, test_size=self.test_size, val_size=self.val_size,
            preprocessing=[] if self.preprocessing == "none" else [self.preprocessing],
            checkpoint_every=self.checkpoint_every or None,
        )

    def use_data(self, *, n_inputs: int | None, n_outputs: int | None, task: str | None,
                 image_shape: Any = None) -> None:
        """Fit the output layer and input to the data (what the workbench calls when the data changes)."""
        updates: dict[str, Any] = {"image_shape": tuple(image_shape) if image_shape else None}
        if n_inputs:
            updates["n_inputs"] = int(n_inputs)
        if n_outputs:
            updates["n_outputs"] = int(n_outputs)
        if task in ("classification", "regression"):
            updates["task"] = task
        if not image_shape:
            updates["image_input"] = False
        self.param.update(**updates)

    @classmethod
    def activations(cls) -> list[str]:
        """The activation names the builder offers (all valid for :func:`~tesla_lab.nn.get_activation`)."""
        return [a for a in ACTIVATION_CHOICES if a in ACTIVATIONS]
