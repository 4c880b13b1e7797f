"""Keras-style layers over PyTorch modules: ``Dense``, ``Flatten``, ``Reshape``, ``BatchNorm``, ``LeakyReLU``,
``Dropout``, ``Conv2D``, ``MaxPool2D``, ``Activation``.

Each is a plain :class:`torch.nn.Module`. Input sizes may be left out: ``Sequential`` infers them from the
previous layer when the model's input shape is known, otherwise they are built on the first call.

>>> import torch
>>> layer = Dense(4, activation="relu", input_dim=3)
>>> layer(torch.ones(2, 3)).shape
torch.Size([2, 4])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm, _LazyNormBase

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn.activations import get_activation
from tesla_lab.nn.tt_linear import TTLinear

__all__ = [
    "Dense",
    "Flatten",
    "Reshape",
    "BatchNorm",
    "LeakyReLU",
    "Dropout",
    "Conv2D",
    "MaxPool2D",
    "Activation",
    "ZeroPad",
]


def _positive_int(value: Any, name: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}. {hint}")
    return value


def _activation_name(activation: Any) -> Any:
    return activation if activation is None or isinstance(activation, str) else type(activation).__name__


class Dense(nn.Module):
    """Fully connected layer ``activation(x @ W.T + b)``; with ``tt_rank`` the weight is a tensor train
    (:class:`~tesla_lab.nn.tt_linear.TTLinear`).

    Args:
        units: output features.
        activation: name (``'relu'``, ``'default'`` = leaky ReLU, ...), a module, or ``None`` for linear.
        input_dim: input features; ``None`` builds the layer on its first call (or when added to a model
            whose input shape is known).
        tt_rank: TT rank of the weight; ``None`` keeps a dense weight.
        in_shape, out_shape: TT mode sizes (factorized automatically when omitted).

    >>> Dense(8, input_dim=64, tt_rank=2).compression_ratio > 1
    True
    >>> Dense(0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: units must be a positive integer; got 0. Dense(units) is the number of output \
features, e.g. Dense(64)
    """

    def __init__(
        self,
        units: int,
        activation: str | nn.Module | None = None,
        *,
        input_dim: int | None = None,
        use_bias: bool = True,
        tt_rank: int | Sequence[int] | None = None,
        in_shape: Sequence[int] | None = None,
        out_shape: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.units = _positive_int(units, "units", "Dense(units) is the number of output features, e.g. Dense(64)")
        if input_dim is not None:
            _positive_int(input_dim, "input_dim", "it is the number of input features")
        if tt_rank is not None and not isinstance(tt_rank, (int, Sequence)):
            raise ConfigError(f"tt_rank must be an int or a list of ints; got {tt_rank!r}")
        self.use_bias = use_bias
        self.tt_rank = tt_rank
        self.in_shape = tuple(in_shape) if in_shape is not None else None
        self.out_shape = tuple(out_shape) if out_shape is not None else None
        self.activation = get_activation(activation)
        self._activation_config = _activation_name(activation)
        self.linear: nn.Module | None = None
        if input_dim is not None:
            self.build((input_dim,))
        elif tt_rank is None:
            self.linear = nn.LazyLinear(self.units, bias=use_bias)  # optimizer-safe lazy parameters

    @property
    def in_features(self) -> int | None:
        lin = self.linear
        if lin is None or isinstance(lin, nn.LazyLinear):
            return None
        return int(lin.in_features)  # type: ignore[arg-type]

    def build(self, input_shape: Sequence[int], *, device: Any = None, dtype: Any = None) -> None:
        """Create the weights for inputs of shape ``(..., input_shape[-1])``."""
        if self.in_features is not None:
            return
        in_features = int(input_shape[-1])
        if self.tt_rank is None:
            self.linear = nn.Linear(in_features, self.units, bias=self.use_bias, device=device, dtype=dtype)
        else:
            self.linear = TTLinear(
                in_features, self.units, rank=self.tt_rank, in_shape=self.in_shape, out_shape=self.out_shape,
                bias=self.use_bias, device=device, dtype=dtype,
            )

    @property
    def compression_ratio(self) -> float:
        """Dense parameter count over stored parameter count (1.0 for a dense weight)."""
        return float(getattr(self.linear, "compression_ratio", 1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.linear is None:
            self.build(x.shape, device=x.device, dtype=x.dtype)
        expected = self.in_features
        if expected is not None and x.shape[-1] != expected:
            raise ShapeError(
                f"Dense expects inputs with {expected} features (last dim), got shape {tuple(x.shape)}; "
                "check the previous layer's size or add Flatten() before Dense for images"
            )
        return self.activation(self.linear(x))  # type: ignore[misc]

    def get_config(self) -> dict[str, Any]:
        return {
            "units": self.units, "activation": self._activation_config, "input_dim": self.in_features,
            "use_bias": self.use_bias, "tt_rank": self.tt_rank, "in_shape": self.in_shape, "out_shape": self.out_shape,
        }

    def extra_repr(self) -> str:
        kind = f"tt_rank={self.tt_rank}" if self.tt_rank is not None else "dense"
        return f"units={self.units}, {kind}"


class Flatten(nn.Flatten):
    """Flatten everything but the batch dimension; ``input_shape`` (without batch) declares the model input.

    >>> Flatten(input_shape=(8, 8))(torch.zeros(5, 8, 8)).shape
    torch.Size([5, 64])
    """

    def __init__(self, input_shape: Sequence[int] | None = None) -> None:
        super().__init__(start_dim=1)
        if input_shape is not None:
            input_shape = tuple(input_shape)
            for d in input_shape:
                _positive_int(d, "input_shape entries", f"input_shape={input_shape!r} is the sample shape without "
                              "the batch dimension, e.g. (28, 28)")
        self.input_shape = input_shape

    def get_config(self) -> dict[str, Any]:
        return {"input_shape": self.input_shape}


class Reshape(nn.Module):
    """Reshape each sample to ``target_shape`` (batch dimension kept), e.g. flat 64 pixels → ``(1, 8, 8)``.

    >>> Reshape((1, 8, 8))(torch.zeros(2, 64)).shape
    torch.Size([2, 1, 8, 8])
    """

    def __init__(self, target_shape: Sequence[int], input_shape: Sequence[int] | None = None) -> None:
        super().__init__()
        self.target_shape = tuple(int(d) for d in target_shape)
        self.input_shape = tuple(input_shape) if input_shape is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_sample = x[0].numel() if len(x) else 0
        want = 1
        for d in self.target_shape:
            want *= d if d > 0 else 1
        if -1 not in self.target_shape and per_sample != want:
            raise ShapeError(
                f"Reshape{self.target_shape} needs {want} values per sample, got {per_sample} "
                f"(input shape {tuple(x.shape)}); pick a target shape whose product is {per_sample}"
            )
        return x.reshape(x.shape[0], *self.target_shape)

    def get_config(self) -> dict[str, Any]:
        return {"target_shape": self.target_shape, "input_shape": self.input_shape}


class ZeroPad(nn.Module):
    """Append zero features so each sample has ``features`` values: 13 wine measurements padded to 15 = 3 x 5 can
    feed a tensor-train layer (a prime count has no TT split). Being zero, the new inputs add nothing to the next
    layer's output; only its shape changes.

    >>> ZeroPad(5)(torch.ones(2, 3))
    tensor([[1., 1., 1., 0., 0.],
            [1., 1., 1., 0., 0.]])
    >>> ZeroPad(2)(torch.ones(1, 3))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: ZeroPad(2) pads up to 2 features, but the input already has 3; pad to a size >= 3
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.features = _positive_int(features, "features", "ZeroPad(features) is the padded feature count")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, F) -> (B, features), zeros in the new columns (same device and dtype as x)
        missing = self.features - x.shape[-1]
        if missing < 0:
            raise ShapeError(f"ZeroPad({self.features}) pads up to {self.features} features, but the input already "
                             f"has {x.shape[-1]}; pad to a size >= {x.shape[-1]}")
        return torch.nn.functional.pad(x, (0, missing)) if missing else x

    def get_config(self) -> dict[str, Any]:
        return {"features": self.features}


class BatchNorm(_BatchNorm):
    """Batch normalization over channel dim 1 for inputs ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``;
    ``num_features=None`` infers C on the first call.

    >>> bn = BatchNorm()
    >>> bn(torch.randn(4, 3, 5, 5)).shape, bn.num_features
    (torch.Size([4, 3, 5, 5]), 3)
    """

    def __new__(cls, num_features: int | None = None, *args: Any, **kwargs: Any) -> BatchNorm:
        if cls is BatchNorm and num_features is None:
            return super().__new__(_LazyBatchNorm)  # type: ignore[return-value]
        return super().__new__(cls)

    def __init__(self, num_features: int | None = None, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, **factory: Any) -> None:
        # **factory: device/dtype/bias, passed by torch's lazy-module machinery when a lazy BatchNorm is created
        super().__init__(num_features, eps, momentum, affine, track_running_stats, **factory)  # type: ignore[arg-type]

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ShapeError(f"BatchNorm expects (N, C, ...) inputs, got shape {tuple(input.shape)}")

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}


class _LazyBatchNorm(_LazyNormBase, BatchNorm):  # type: ignore[misc]
    cls_to_become = BatchNorm

    def __init__(self, num_features: None = None, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        _LazyNormBase.__init__(self, eps, momentum, affine, track_running_stats)


class LeakyReLU(nn.LeakyReLU):
    """Leaky ReLU, the default activation of TESLA Lab (``activation='default'``).

    >>> LeakyReLU(0.1)(torch.tensor([-1.0, 2.0]))
    tensor([-0.1000,  2.0000])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__(negative_slope=negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class Dropout(nn.Dropout):
    """Dropout with Keras' argument name ``rate`` (fraction of units zeroed while training).

    >>> Dropout(1.5)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: Dropout rate must be in [0, 1) (fraction of units dropped); got 1.5
    """

    def __init__(self, rate: float = 0.5) -> None:
        if not 0.0 <= rate < 1.0:
            raise ConfigError(f"Dropout rate must be in [0, 1) (fraction of units dropped); got {rate!r}")
        super().__init__(p=rate)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.p}


class Activation(nn.Module):
    """A stand-alone activation layer by name.

    >>> Activation("tanh")(torch.zeros(1))
    tensor([0.])
    """

    def __init__(self, activation: str | nn.Module = "default") -> None:
        super().__init__()
        self.fn = get_activation(activation)
        self._activation_config = _activation_name(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def get_config(self) -> dict[str, Any]:
        return {"activation": self._activation_config}


class Conv2D(nn.Module):
    """2-D convolution on ``(N, C, H, W)`` images (PyTorch's channels-first layout); a ``(N, H, W)`` input is taken
    as single-channel images.

    >>> Conv2D(4, 3, padding="same", activation="relu")(torch.zeros(2, 8, 8)).shape
    torch.Size([2, 4, 8, 8])
    """

    def __init__(self, filters: int, kernel_size: int | tuple[int, int] = 3, *, strides: int = 1,
                 padding: str | int = "valid", activation: str | nn.Module | None = None,
                 in_channels: int | None = None, use_bias: bool = True) -> None:
        super().__init__()
        _positive_int(filters, "filters", "Conv2D(filters) is the number of output channels, e.g. Conv2D(32, 3)")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ConfigError(f"padding must be 'valid', 'same' or an int; got {padding!r}")
        self.filters, self.kernel_size, self.strides, self.padding = filters, kernel_size, strides, padding
        self.use_bias = use_bias
        self._activation_config = _activation_name(activation)
        kwargs: dict[str, Any] = {"stride": strides, "padding": padding, "bias": use_bias}
        self.conv: nn.Module = (
            nn.LazyConv2d(filters, kernel_size, **kwargs) if in_channels is None
            else nn.Conv2d(in_channels, filters, kernel_size, **kwargs)
        )
        self.activation = get_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # (N, H, W) grayscale
            x = x.unsqueeze(1)
        if x.dim() != 4:
            raise ShapeError(
                f"Conv2D expects images shaped (N, C, H, W) or (N, H, W), got {tuple(x.shape)}; "
                "add Reshape((C, H, W)) before it for flat pixel vectors"
            )
        return self.activation(self.conv(x))

    def get_config(self) -> dict[str, Any]:
        conv = self.conv
        in_channels = None if isinstance(conv, nn.LazyConv2d) else conv.in_channels
        return {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "activation": self._activation_config, "in_channels": in_channels,
                "use_bias": self.use_bias}


class MaxPool2D(nn.MaxPool2d):
    """Max pooling over ``pool_size`` windows of ``(N, C, H, W)`` images.

    >>> MaxPool2D(2)(torch.zeros(1, 1, 8, 8)).shape
    torch.Size([1, 1, 4, 4])
    """

    def __init__(self, pool_size: int = 2, strides: int | None = None, padding: int = 0) -> None:
        _positive_int(pool_size, "pool_size", "e.g. MaxPool2D(2) halves height and width")
        super().__init__(kernel_size=pool_size, stride=strides, padding=padding)

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": self.kernel_size, "strides": self.stride, "padding": self.padding}
