"""``SparseAttention`` for Keras 3: multi-head self-attention with a local, block-diagonal or full score mask.

The semantics of :class:`tesla_lab.nn.SparseAttention` (same masks, same projections ``in_proj`` E → 3E with columns
ordered q, k, v and ``out_proj`` E → E, flat ``(batch, seq_len * embed_dim)`` inputs split into tokens), written with
``keras.ops`` for every backend. The subset: the masked scores are computed densely (no block-sparse kernel; the
result is the same, only the torch layer skips the masked tiles), ``seq_len`` comes from the input shape, and the
options are ``attention_type``, ``window``, ``block_size``, ``causal``, ``dropout`` and ``use_bias``.

>>> import numpy as np
>>> attn = SparseAttention(8, num_heads=2, attention_type="local", window=1)
>>> tuple(attn(np.zeros((2, 5, 8), "float32")).shape)
(2, 5, 8)
>>> attention_mask(4, "block", block_size=2, causal=True).astype(int)
array([[1, 0, 0, 0],
       [1, 1, 0, 0],
       [0, 0, 1, 0],
       [0, 0, 1, 1]])
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.keras._backend import keras

__all__ = ["SparseAttention", "attention_mask"]

ops = keras.ops

# the names of tesla_lab.nn.attention.ATTENTION_TYPES ('sparse' is the TESLA documents' name of the block pattern)
_TYPES = {"local": "local", "window": "local", "sliding_window": "local", "block": "block", "block_sparse": "block",
          "sparse": "block", "full": "full", "dense": "full"}


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _canonical(attention_type: str) -> str:
    if attention_type not in _TYPES:
        raise ConfigError(f"unknown attention_type {attention_type!r}; choose one of: {', '.join(sorted(_TYPES))}")
    return _TYPES[attention_type]


def attention_mask(seq_len: int, attention_type: str = "local", *, window: int = 16, block_size: int = 16,
                   causal: bool = False) -> np.ndarray:
    """The (T, T) boolean score mask (``True`` = query ``i`` may attend to key ``j``), as the torch layer's."""
    kind = _canonical(attention_type)
    pos = np.arange(seq_len)
    if kind == "local":
        mask = np.abs(pos[:, None] - pos[None, :]) <= window
    elif kind == "block":
        mask = (pos // block_size)[:, None] == (pos // block_size)[None, :]
    else:
        mask = np.ones((seq_len, seq_len), dtype=bool)
    return mask & np.tri(seq_len, dtype=bool) if causal else mask


@keras.saving.register_keras_serializable(package="tesla")
class SparseAttention(keras.layers.Layer):
    """Self-attention over (batch, seq_len, embed_dim), or flat (batch, seq_len * embed_dim) features.

    >>> SparseAttention(6, num_heads=4)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: embed_dim must be divisible by num_heads (each head gets embed_dim / num_heads \
features); got embed_dim=6, num_heads=4. Use num_heads in [1, 2, 3, 6]
    """

    def __init__(self, embed_dim: int, num_heads: int = 4, *, attention_type: str = "local", window: int = 16,
                 block_size: int = 16, dropout: float = 0.0, causal: bool = False, use_bias: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embed_dim = _check_int("embed_dim", embed_dim, 1)
        self.num_heads = _check_int("num_heads", num_heads, 1)
        if embed_dim % num_heads:
            choices = [h for h in range(1, embed_dim + 1) if embed_dim % h == 0]
            raise ConfigError(
                f"embed_dim must be divisible by num_heads (each head gets embed_dim / num_heads features); got "
                f"embed_dim={embed_dim}, num_heads={num_heads}. Use num_heads in {choices}"
            )
        self.attention_type = _canonical(attention_type)
        self.window = _check_int("window", window, 0)
        self.block_size = _check_int("block_size", block_size, 1)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1): probability of dropping an attention weight; got "
                              f"{dropout!r}")
        self.dropout, self.causal, self.use_bias = float(dropout), bool(causal), bool(use_bias)
        self.head_dim = self.embed_dim // self.num_heads
        self._drop = keras.layers.Dropout(self.dropout) if self.dropout else None

    def build(self, input_shape: Any) -> None:
        e = self.embed_dim
        bound = 1.0 / math.sqrt(e)  # torch.nn.Linear's default init, as the torch layer's projections
        init = keras.initializers.RandomUniform(-bound, bound)
        self.in_kernel = self.add_weight(shape=(e, 3 * e), name="in_kernel", initializer=init)
        self.in_bias = self.add_weight(shape=(3 * e,), name="in_bias", initializer=init) if self.use_bias else None
        self.out_kernel = self.add_weight(shape=(e, e), name="out_kernel", initializer=init)
        self.out_bias = self.add_weight(shape=(e,), name="out_bias", initializer=init) if self.use_bias else None

    def _tokens(self, shape: tuple[Any, ...]) -> int:
        """Tokens per sample (static), checking the input shape."""
        e = self.embed_dim
        if len(shape) == 3 and shape[-1] == e and shape[1] is not None:
            return int(shape[1])
        if len(shape) == 2 and shape[-1] is not None and shape[-1] > 0 and shape[-1] % e == 0:
            return int(shape[-1]) // e
        raise ShapeError(f"SparseAttention expects (batch, seq_len, embed_dim={e}) or flat (batch, seq_len * "
                         f"embed_dim) input with known sizes; got shape {shape}")

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        shape = tuple(inputs.shape)
        t, e, h, d = self._tokens(shape), self.embed_dim, self.num_heads, self.head_dim
        x = ops.reshape(ops.convert_to_tensor(inputs, dtype=self.compute_dtype), (-1, t, e))  # (B, T, E)
        qkv = ops.matmul(x, ops.cast(self.in_kernel, x.dtype))
        if self.in_bias is not None:
            qkv = qkv + ops.cast(self.in_bias, x.dtype)
        qkv = ops.transpose(ops.reshape(qkv, (-1, t, 3, h, d)), (2, 0, 3, 1, 4))  # (3, B, H, T, D)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = ops.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(d)  # (B, H, T, T)
        mask = attention_mask(t, self.attention_type, window=self.window, block_size=self.block_size,
                              causal=self.causal)
        if not mask.all():  # every row keeps its diagonal, so no row is all -inf
            scores = ops.where(ops.convert_to_tensor(mask), scores, ops.cast(float("-inf"), scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        if self._drop is not None:
            weights = self._drop(weights, training=training)
        out = ops.reshape(ops.transpose(ops.einsum("bhqk,bhkd->bhqd", weights, v), (0, 2, 1, 3)), (-1, t, e))
        out = ops.matmul(out, ops.cast(self.out_kernel, out.dtype))
        if self.out_bias is not None:
            out = out + ops.cast(self.out_bias, out.dtype)
        return ops.reshape(out, (-1, t * e)) if len(shape) == 2 else out

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(embed_dim=self.embed_dim, num_heads=self.num_heads, attention_type=self.attention_type,
                      window=self.window, block_size=self.block_size, dropout=self.dropout, causal=self.causal,
                      use_bias=self.use_bias)
        return config

    def to_torch(self) -> Any:
        """The same layer as a :class:`tesla_lab.nn.SparseAttention` (float32, CPU) with a copy of the weights."""
        import torch

        from tesla_lab.nn.attention import SparseAttention as TorchAttention

        if not self.built:
            raise ConfigError("SparseAttention.to_torch() needs the layer built; call it on an input first")
        layer = TorchAttention(self.embed_dim, self.num_heads, attention_type=self.attention_type,
                               window=self.window, block_size=self.block_size, dropout=self.dropout,
                               causal=self.causal, bias=self.use_bias)
        pairs = [(layer.in_proj.weight, self.in_kernel, True), (layer.out_proj.weight, self.out_kernel, True)]
        if self.use_bias:
            pairs += [(layer.in_proj.bias, self.in_bias, False), (layer.out_proj.bias, self.out_bias, False)]
        with torch.no_grad():
            for target, variable, transpose in pairs:
                value = np.asarray(variable.numpy(), dtype=np.float32)
                target.copy_(torch.from_numpy(value.T.copy() if transpose else value))
        return layer
