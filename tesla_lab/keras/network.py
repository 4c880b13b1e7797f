"""``TensorNetwork`` for Keras 3: the documents' ``keras.layers.TensorNetwork(...)``, grown with ``add_layer``.

The constructor and :meth:`TensorNetwork.add_layer` take the arguments of the PyTorch
:class:`tesla_lab.nn.TensorNetwork` (``input_dim → hidden_dim → output_dim`` blocks, ``attention_type``,
``checkpoint_gradients``, ``mixed_precision``, ``data_parallel``, ``model_parallel``); the model is a
``keras.Model``, so ``compile``/``fit``/``evaluate``/``predict``/``save`` are Keras' own, on any backend. On Keras:
``checkpoint_gradients`` builds the block under ``keras.RematScope`` (activations recomputed in backward),
``mixed_precision`` gives its layers the ``mixed_bfloat16`` (or ``'fp16'``: ``mixed_float16``) dtype policy, and
``data_parallel``/``model_parallel`` are recorded only (set up ``keras.distribution`` yourself; ``fit`` warns once).
``kind='sparse'`` (pruned) layers are PyTorch-only.

>>> import numpy as np
>>> tn = TensorNetwork(input_dim=100, hidden_dim=10, output_dim=10)
>>> tn = tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, attention_type="sparse")
>>> tuple(tn(np.zeros((3, 100), "float32")).shape)
(3, 10)
>>> tn.layer_flags()
{'hidden1': ('attention_type=sparse',)}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tesla_lab import _layer_options as layer_specs
from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.keras._backend import keras
from tesla_lab.keras.attention import SparseAttention
from tesla_lab.keras.tt_dense import TTDense
from tesla_lab.tn.factorize import resolve_shapes
from tesla_lab.tn.ranks import check_ranks

__all__ = ["TensorNetwork", "Residual"]

ops = keras.ops

_KINDS = {"tt": "tt", "tensor_train": "tt", "ttlinear": "tt", "ttdense": "tt", "dense": "dense", "linear": "dense",
          "attention": "attention", "sparse_attention": "attention", "batchnorm": "batchnorm",
          "batch_norm": "batchnorm", "bn": "batchnorm", "dropout": "dropout", "activation": "activation"}
_TORCH_ONLY = ("sparse", "pruned")
_POLICIES = {True: "mixed_bfloat16", "bf16": "mixed_bfloat16", "bfloat16": "mixed_bfloat16",
             "fp16": "mixed_float16", "float16": "mixed_float16"}
_MSE = ("mse", "mean_squared_error")


@keras.saving.register_keras_serializable(package="tesla")
class Residual(keras.layers.Layer):
    """``x + f(x)`` for a list of layers ``f``, as the torch ``Residual`` (attention, width-keeping blocks).

    >>> import numpy as np
    >>> keras.ops.convert_to_numpy(Residual([keras.layers.Identity()])(np.ones((1, 2), "float32"))).tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, layers: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inner = [keras.saving.deserialize_keras_object(layer) if isinstance(layer, dict) else layer
                      for layer in layers]

    def call(self, inputs: Any) -> Any:
        # no `training` argument: Keras passes it on through its call context, and TensorFlow's rematerialisation
        # (checkpoint_gradients) accepts no keyword arguments in graph mode
        x = inputs
        for layer in self.inner:
            x = layer(x)
        return inputs + ops.cast(x, inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layers": [keras.saving.serialize_keras_object(x) for x in self.inner]}


def _activation_layer(name: Any, **kwargs: Any) -> Any | None:
    """A Keras layer for an activation name; ``'default'`` and ``'leaky_relu'`` are torch's LeakyReLU(0.01)."""
    if name is None:
        return None
    if isinstance(name, str) and name.strip().lower() in ("default", "leaky_relu", "leakyrelu"):
        return keras.layers.LeakyReLU(negative_slope=0.01, **kwargs)
    try:
        keras.activations.get(name)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"unknown activation {name!r}; use a Keras activation name (relu, gelu, tanh, sigmoid, "
                          f"softmax, ...), 'default' (leaky ReLU) or None") from exc
    return keras.layers.Activation(name, **kwargs)


@keras.saving.register_keras_serializable(package="tesla")
class TensorNetwork(keras.Model):
    """A Keras model ``input_dim → hidden_dim → ... → output_dim``: a first hidden layer (``TTDense`` when both sizes
    factorize), the layers added with :meth:`add_layer`, then a ``Dense`` output layer.

    Arguments as :class:`tesla_lab.nn.TensorNetwork`. Images are flattened (``(N, 8, 8)`` works with
    ``input_dim=64``); with ``loss='mse'``, integer class labels are one-hot encoded to ``output_dim`` outputs.

    >>> TensorNetwork(input_dim=10, hidden_dim=10, output_dim=2).add_layer(input_dim=12)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: add_layer(input_dim=12) does not match the previous layer hidden0, which outputs \
10 features; pass input_dim=10 (or leave it out)
    """

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, *, tt_rank: int | Sequence[int] = 8,
                 activation: str | None = "default", dropout: float = 0.0, batch_norm: bool = False,
                 input_layer: str = "auto", output_activation: str | None = None,
                 layers: Sequence[dict[str, Any]] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        layer_specs.check_network_args(input_dim, hidden_dim, output_dim, input_layer)
        self._check_rank(tt_rank)
        self.input_dim, self.hidden_dim, self.output_dim = input_dim, hidden_dim, output_dim
        self.tt_rank, self.activation_name, self.dropout_rate = tt_rank, activation, dropout
        self.batch_norm, self.input_layer, self.output_activation = batch_norm, input_layer, output_activation
        self._specs: list[dict[str, Any]] = []
        self._parallel_warned = False
        self._loss_name: Any = None
        self.body: list[Any] = []
        self._width = input_dim
        layer_specs.append_input_layer(self._append, input_layer, input_dim, hidden_dim)
        self.head = keras.layers.Dense(output_dim, activation=output_activation, name="output")
        for spec in layers:
            self.add_layer(**spec)

    @staticmethod
    def _check_rank(rank: Any) -> None:
        if isinstance(rank, Sequence) and not isinstance(rank, str):
            check_ranks(list(rank), len(rank), name="tt_rank")
        else:
            check_ranks(rank, 1, name="tt_rank")

    def add_layer(self, kind: str | Any = "tt", units: int | None = None, *, input_dim: int | None = None,
                  hidden_dim: int | None = None, output_dim: int | None = None,
                  tt_rank: int | Sequence[int] | None = None, activation: str | None = "inherit",
                  attention_type: str | None = None, num_heads: int = 2, window: int = 2, block_size: int = 4,
                  token_dim: int | None = None, sparsity: float = 0.9, dropout: float | None = None,
                  batch_norm: bool | None = None, checkpoint_gradients: bool = False,
                  mixed_precision: bool | str = False, data_parallel: bool = False,
                  model_parallel: bool = False) -> TensorNetwork:
        """Insert a hidden layer before the output layer; returns ``self`` so calls chain.

        Same arguments and sizes as :meth:`tesla_lab.nn.TensorNetwork.add_layer`; ``kind`` may also be a Keras
        layer. ``sparsity`` is accepted for the signature's sake ('sparse' layers are PyTorch-only).
        """
        if self.built:
            raise ConfigError("cannot add layers to a built TensorNetwork (its weights exist); add every layer "
                              "before the first call, compile()/fit(), or build a new model")
        recorded = layer_specs.check_add_layer(
            self._width, len(self._specs), units=units, input_dim=input_dim, hidden_dim=hidden_dim,
            output_dim=output_dim, checkpoint_gradients=checkpoint_gradients, mixed_precision=mixed_precision,
            data_parallel=data_parallel, model_parallel=model_parallel)
        if mixed_precision is not False and mixed_precision not in _POLICIES:
            raise ConfigError(f"add_layer: mixed_precision must be True, False, 'bf16' or 'fp16'; got "
                              f"{mixed_precision!r}")
        if isinstance(kind, keras.layers.Layer):
            spec: dict[str, Any] = {"kind": "layer", "layer": kind}
        elif isinstance(kind, str) and kind in _TORCH_ONLY:
            raise ConfigError(f"add_layer({kind!r}): pruned sparse layers are PyTorch-only (tesla_lab.nn); on Keras "
                              f"use 'tt' or 'dense', or attention_type= for sparse attention")
        elif not isinstance(kind, str) or kind not in _KINDS:
            raise ConfigError(f"unknown layer kind {kind!r}; choose one of: {', '.join(sorted(_KINDS))}, or pass a "
                              "keras.layers.Layer")
        else:
            spec = {"kind": "attention" if attention_type is not None and kind == "tt" else _KINDS[kind],
                    "units": units, "tt_rank": tt_rank, "activation": activation, "attention_type": attention_type,
                    "num_heads": num_heads, "window": window, "block_size": block_size, "token_dim": token_dim,
                    "dropout": dropout, "batch_norm": batch_norm}
        spec.update(recorded)
        self._append(spec)
        self._specs.append(spec)
        return self

    # ------------------------------------------------------------------ building blocks
    def _layer(self, kind: str, width: int, units: int, spec: dict[str, Any], **kw: Any) -> list[Any]:
        """One hidden layer ``width → units`` with its batch norm, activation and dropout."""
        act, dropout, batch_norm = layer_specs.layer_settings(spec, self.activation_name, self.dropout_rate,
                                                              self.batch_norm)
        if kind == "tt":
            rank = spec.get("tt_rank") or self.tt_rank
            self._check_rank(rank)
            resolve_shapes(units, width)  # a size that cannot be factorized fails here, not at the first call
            parts: list[Any] = [TTDense(units, tt_rank=rank, **kw)]
        else:
            parts = [keras.layers.Dense(units, **kw)]
        if batch_norm:
            parts.append(keras.layers.BatchNormalization(**kw))
        act_layer = _activation_layer(act, **kw)
        if act_layer is not None:
            parts.append(act_layer)
        if dropout:
            parts.append(keras.layers.Dropout(dropout))
        return parts

    def _append(self, spec: dict[str, Any]) -> None:
        if spec.get("checkpoint_gradients"):
            with keras.RematScope(mode="full"):  # layers made here recompute their activations in backward
                parts, new_width = self._build_block(spec)
        else:
            parts, new_width = self._build_block(spec)
        self.body.extend(parts)
        self._width = new_width

    def _build_block(self, spec: dict[str, Any]) -> tuple[list[Any], int]:
        kind, width = spec["kind"], self._width
        kw: dict[str, Any] = {}
        if spec.get("mixed_precision"):
            kw["dtype"] = _POLICIES[spec["mixed_precision"]]
        if kind == "layer":
            layer = spec["layer"]
            new_width = int(layer.compute_output_shape((None, width))[-1])
            if spec.get("output_dim") not in (None, new_width):
                raise ShapeError(f"add_layer(output_dim={spec['output_dim']}) does not match the layer, which "
                                 f"outputs {new_width} features; pass output_dim={new_width} (or leave it out)")
            return [layer], new_width
        if kind in ("tt", "dense", "attention"):
            parts: list[Any] = []
            if kind == "attention":
                heads = spec.get("num_heads", 2)
                token = spec.get("token_dim") or layer_specs.token_dim(width, heads)
                if width % token:
                    raise ShapeError(f"add_layer(token_dim={token}) does not divide the width {width}; pass a "
                                     f"divisor of {width}")
                attn = SparseAttention(token, heads, attention_type=spec.get("attention_type") or "local",
                                       window=spec.get("window", 2), block_size=spec.get("block_size", 4), **kw)
                parts = [Residual([attn])]
            new_width, ffn, widths = width, [], layer_specs.block_widths(spec, self.hidden_dim)
            for units in widths:  # attention: the optional feed-forward block after it
                ffn += self._layer("tt" if kind == "attention" else kind, new_width, units, spec, **kw)
                new_width = units
            if len(widths) == 2 and new_width == width:
                ffn = [Residual(ffn)]  # input_dim → hidden_dim → output_dim == input_dim: x + f(x), as in torch
            return parts + ffn, new_width
        if spec.get("output_dim") not in (None, width):
            raise ShapeError(f"add_layer({kind!r}, output_dim={spec['output_dim']}): a {kind} layer keeps the width "
                             f"{width} of its input; pass output_dim={width} (or leave it out)")
        if kind == "batchnorm":
            return [keras.layers.BatchNormalization(**kw)], width
        if kind == "dropout":
            return [keras.layers.Dropout(spec.get("dropout") or 0.5)], width
        act = spec.get("activation", "inherit")
        layer = _activation_layer(self.activation_name if act == "inherit" else act, **kw)
        return ([layer] if layer is not None else []), width

    # ------------------------------------------------------------------ forward
    def call(self, inputs: Any) -> Any:
        shape = tuple(inputs.shape)
        known = [s for s in shape[1:] if s is not None]
        if len(shape) < 2 or len(known) != len(shape) - 1 or math.prod(known) != self.input_dim:
            raise ShapeError(f"TensorNetwork(input_dim={self.input_dim}) got inputs of shape {shape}; pass "
                             f"(batch, {self.input_dim}) or images whose pixels multiply to {self.input_dim}")
        x = ops.reshape(inputs, (-1, self.input_dim)) if len(shape) > 2 else inputs  # images → feature vectors
        for layer in self.body:
            x = layer(x)  # `training` reaches dropout and batch norm through Keras' call context
        return self.head(x)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0], self.output_dim)

    # ------------------------------------------------------------------ options, training
    def layer_flags(self) -> dict[str, tuple[str, ...]]:
        """The options each added layer was given, by name (``hidden1`` is the first :meth:`add_layer`)."""
        return layer_specs.layer_flags(self._specs)

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, **kwargs: Any) -> None:
        self._loss_name = loss
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def fit(self, x: Any = None, y: Any = None, **kwargs: Any) -> Any:
        """``keras.Model.fit``; with ``loss='mse'`` integer class labels (N,) are one-hot encoded to ``output_dim``."""
        on = [k for k in ("data_parallel", "model_parallel") if any(s.get(k) for s in self._specs)]
        if on and not self._parallel_warned:
            warnings.warn(f"{' and '.join(f'{k}=True' for k in on)} are recorded only on Keras: configure "
                          "keras.distribution (e.g. DataParallel on JAX) to train over several devices",
                          UserWarning, stacklevel=2)
            self._parallel_warned = True
        y = self._encode(y)
        val = kwargs.get("validation_data")
        if isinstance(val, tuple) and len(val) >= 2:
            kwargs["validation_data"] = (val[0], self._encode(val[1]), *val[2:])
        return super().fit(x, y, **kwargs)

    def _encode(self, y: Any) -> Any:
        if not (isinstance(self._loss_name, str) and self._loss_name.lower() in _MSE) or y is None:
            return y
        arr = np.asarray(y) if isinstance(y, (list, np.ndarray)) else None
        if arr is None or arr.ndim != 1 or arr.dtype.kind not in "iu" or self.output_dim == 1:
            return y
        if arr.size and (arr.min() < 0 or arr.max() >= self.output_dim):
            raise ConfigError(f"loss='mse' with integer class labels needs labels in 0..{self.output_dim - 1} "
                              f"(output_dim={self.output_dim}); got labels from {arr.min()} to {arr.max()}")
        return np.eye(self.output_dim, dtype="float32")[arr]

    # ------------------------------------------------------------------ serialisation
    def get_config(self) -> dict[str, Any]:
        layers = []
        for spec in self._specs:
            spec = dict(spec)
            if spec["kind"] == "layer":
                spec["kind"] = keras.saving.serialize_keras_object(spec.pop("layer"))
            elif spec["kind"] == "attention" and spec.get("attention_type"):
                spec["kind"] = "tt"  # as it was added: add_layer('tt', attention_type=...) builds the same block
            layers.append(spec)
        return {"input_dim": self.input_dim, "hidden_dim": self.hidden_dim, "output_dim": self.output_dim,
                "tt_rank": self.tt_rank, "activation": self.activation_name, "dropout": self.dropout_rate,
                "batch_norm": self.batch_norm, "input_layer": self.input_layer,
                "output_activation": self.output_activation, "layers": layers, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TensorNetwork:
        config = dict(config)
        layers = []
        for spec in config.pop("layers", []):
            spec = dict(spec)
            if isinstance(spec.get("kind"), dict):
                spec["kind"] = keras.saving.deserialize_keras_object(spec["kind"])
            layers.append(spec)
        return cls(**config, layers=layers)
