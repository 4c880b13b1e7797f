"""``TTDense``: a Keras 3 ``Dense`` whose kernel is a tensor train, written only with ``keras.ops``.

One implementation runs on the TensorFlow, JAX and PyTorch backends. It has the factorisation, the cores' layout
``(r_{k-1}, m_k, n_k, r_k)`` (``m`` output modes, ``n`` input modes), the variance-preserving initialisation and the
parameter count of :class:`tesla_lab.nn.TTLinear` (the shape and rank planning is shared: :mod:`tesla_lab.tn.factorize`,
:mod:`tesla_lab.tn.ranks`), and converts to and from it (:meth:`TTDense.to_torch`, :meth:`TTDense.from_torch`).

>>> import numpy as np
>>> layer = TTDense(32, tt_rank=4)
>>> tuple(layer(np.zeros((2, 64), "float32")).shape)
(2, 32)
>>> layer.in_shape, layer.out_shape, layer.ranks, layer.count_params()
((8, 8), (8, 4), (1, 4, 1), 416)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.keras._backend import keras
from tesla_lab.tn.factorize import resolve_shapes
from tesla_lab.tn.ranks import check_ranks, core_std, layer_ranks

__all__ = ["TTDense"]

ops = keras.ops


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return value


@keras.saving.register_keras_serializable(package="tesla")
class TTDense(keras.layers.Layer):
    """Densely connected layer ``y = activation(x @ W + b)`` with ``W`` (in_features x units) as a tensor train.

    Args:
        units: output features (``out_features`` of ``TTLinear``).
        tt_rank: TT rank for every cut between cores, or a list of ``d - 1`` ranks; each is clamped to the largest
            useful value at its cut (as ``TTLinear``).
        in_shape, out_shape: modes multiplying to the input width and to ``units`` (same length); factorized
            automatically when missing. The input width comes from the first input (Keras ``build``).
        activation: a Keras activation name or callable, or None.
        use_bias: learn an additive bias.

    The cores are drawn so the rebuilt ``W`` has the std of a freshly initialised ``torch.nn.Linear``
    (``1 / sqrt(3 in_features)``), the bias uniform in ``±1 / sqrt(in_features)``: the init of ``TTLinear``.

    >>> TTDense(8, tt_rank=0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: TT ranks must be integers >= 1; got tt_rank=0. Typical values: 4 to 16
    """

    def __init__(
        self,
        units: int,
        tt_rank: int | Sequence[int] = 8,
        in_shape: Sequence[int] | None = None,
        out_shape: Sequence[int] | None = None,
        activation: Any = None,
        use_bias: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = _check_positive("units", units)
        if isinstance(tt_rank, Sequence) and not isinstance(tt_rank, str):
            check_ranks(list(tt_rank), len(tt_rank), name="tt_rank")  # the count is checked in build
            tt_rank = [int(r) for r in tt_rank]
        else:
            tt_rank = check_ranks(tt_rank, 1, name="tt_rank")[0]  # type: ignore[arg-type]
        self.tt_rank = tt_rank
        self._in_shape = None if in_shape is None else tuple(int(n) for n in in_shape)
        self._out_shape = None if out_shape is None else tuple(int(m) for m in out_shape)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.in_features: int | None = None
        self.cores: list[Any] = []
        self.bias = None
        self._ranks: tuple[int, ...] | None = None

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) < 1 or input_shape[-1] is None:
            raise ShapeError(f"TTDense needs inputs whose last dimension is known; got input shape "
                             f"{tuple(input_shape)}. Give the model an Input(shape=(features,))")
        in_features = int(input_shape[-1])
        out_shape, in_shape = resolve_shapes(self.units, in_features, self._out_shape, self._in_shape)
        ranks = layer_ranks(self.tt_rank, in_shape, out_shape, name="tt_rank")
        self.in_features, self._in_shape, self._out_shape, self._ranks = in_features, in_shape, out_shape, tuple(ranks)
        std = core_std(1.0 / math.sqrt(3 * in_features), ranks)  # torch.nn.Linear's weight std, as TTLinear
        self.cores = [
            self.add_weight(shape=(ranks[k], m, n, ranks[k + 1]), name=f"core{k}",
                            initializer=keras.initializers.RandomNormal(stddev=std))
            for k, (m, n) in enumerate(zip(out_shape, in_shape))
        ]
        if self.use_bias:
            bound = 1.0 / math.sqrt(in_features)
            self.bias = self.add_weight(shape=(self.units,), name="bias",
                                        initializer=keras.initializers.RandomUniform(-bound, bound))

    # ------------------------------------------------------------------ forward
    def call(self, inputs: Any) -> Any:
        shape = tuple(inputs.shape)
        if len(shape) == 0 or (shape[-1] is not None and shape[-1] != self.in_features):
            raise ShapeError(f"TTDense expected input with last dimension in_features={self.in_features}; got shape "
                             f"{shape}")
        x = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        lead = ops.shape(x)[:-1]
        in_shape, ranks = self._in_shape, self._ranks
        assert in_shape is not None and ranks is not None  # built by __call__
        # state (rows, r_{k-1}, n_k, rest): rows run over (batch, m_1..m_{k-1}), rest over (n_{k+1}..n_d)
        state = ops.reshape(x, (-1, 1, in_shape[0], math.prod(in_shape[1:])))
        for k, core in enumerate(self.cores):
            core = ops.cast(core, self.compute_dtype)
            state = ops.einsum("xrnz,rmns->xmsz", state, core)  # (rows, m_k, r_k, rest)
            if k + 1 < len(self.cores):
                state = ops.reshape(state, (-1, ranks[k + 1], in_shape[k + 1], math.prod(in_shape[k + 2:])))
        y = ops.reshape(state, (-1, self.units))  # rows (batch, m_1..m_d) → (batch, units)
        if self.bias is not None:
            y = y + ops.cast(self.bias, self.compute_dtype)
        if len(shape) != 2:
            y = ops.reshape(y, (*lead, self.units))
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    # ------------------------------------------------------------------ properties
    @property
    def in_shape(self) -> tuple[int, ...] | None:
        """Input modes (``prod == in_features``); known once built."""
        return self._in_shape

    @property
    def out_shape(self) -> tuple[int, ...] | None:
        """Output modes (``prod == units``); known once built."""
        return self._out_shape

    @property
    def ranks(self) -> tuple[int, ...] | None:
        """TT ranks ``(1, r_1, ..., r_{d-1}, 1)``; known once built."""
        return self._ranks

    @property
    def compression_ratio(self) -> float:
        """Parameters of the equivalent ``Dense`` divided by this layer's (> 1 means smaller)."""
        self._require_built("compression_ratio")
        dense = int(self.in_features) * self.units + (self.units if self.use_bias else 0)  # type: ignore[arg-type]
        return dense / self.count_params()

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ConfigError(f"TTDense.{what} needs the layer built (its input width is not known yet); call it on "
                              "an input first, or build((None, in_features))")

    # ------------------------------------------------------------------ config and conversion
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, with the modes resolved once built (a loaded model keeps the same cores)."""
        config = super().get_config()
        config.update(units=self.units, tt_rank=self.tt_rank, in_shape=self._in_shape and list(self._in_shape),
                      out_shape=self._out_shape and list(self._out_shape),
                      activation=keras.activations.serialize(self.activation) if self.activation else None,
                      use_bias=self.use_bias)
        return config

    def to_torch(self) -> Any:
        """The same layer as a :class:`tesla_lab.nn.TTLinear` (float32, CPU) holding a copy of the weights.

        >>> import numpy as np, torch
        >>> layer = TTDense(16, tt_rank=2)
        >>> x = np.random.default_rng(0).normal(size=(3, 36)).astype("float32")
        >>> y = keras.ops.convert_to_numpy(layer(x))
        >>> bool(np.allclose(layer.to_torch()(torch.from_numpy(x)).detach().numpy(), y, atol=1e-5))
        True
        """
        import numpy as np
        import torch

        from tesla_lab.nn.tt_linear import TTLinear

        self._require_built("to_torch()")
        ranks = self._ranks
        assert ranks is not None
        linear = TTLinear(int(self.in_features), self.units, rank=list(ranks[1:-1]),  # type: ignore[arg-type]
                          in_shape=self._in_shape, out_shape=self._out_shape, bias=self.use_bias)
        with torch.no_grad():
            for target, core in zip(linear.cores, self.cores):
                target.copy_(torch.from_numpy(np.asarray(core.numpy(), dtype=np.float32)))
            if self.bias is not None:
                linear.bias.copy_(torch.from_numpy(np.asarray(self.bias.numpy(), dtype=np.float32)))
        return linear

    @classmethod
    def from_torch(cls, linear: Any, activation: Any = None, **kwargs: Any) -> TTDense:
        """A built ``TTDense`` with the shapes, ranks and a copy of the weights of a torch ``TTLinear``.

        >>> import torch
        >>> from tesla_lab.nn import TTLinear
        >>> TTDense.from_torch(TTLinear(64, 32, rank=4)).ranks
        (1, 4, 1)
        """
        from tesla_lab.nn.tt_linear import TTLinear

        if not isinstance(linear, TTLinear):
            raise ConfigError(f"from_torch needs a tesla_lab.nn.TTLinear; got {type(linear).__name__}")
        layer = cls(linear.out_features, tt_rank=list(linear.ranks[1:-1]), in_shape=linear.in_shape,
                    out_shape=linear.out_shape, activation=activation, use_bias=linear.bias is not None, **kwargs)
        layer.build((None, linear.in_features))
        for core, value in zip(layer.cores, linear.cores):
            core.assign(value.detach().cpu().float().numpy())
        if linear.bias is not None:
            layer.bias.assign(linear.bias.detach().cpu().float().numpy())
        return layer
