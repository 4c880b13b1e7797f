"""``TTLinear``: a drop-in ``nn.Linear`` whose weight is a tensor train (TT-matrix).

The weight ``W`` (out_features x in_features, as in ``nn.Linear``) is held as cores ``G_k`` of shape
``(r_{k-1}, m_k, n_k, r_k)`` with ``prod(m_k) = out_features`` and ``prod(n_k) = in_features``
(see :mod:`tesla_lab.tn.tt_matrix`). A forward pass either contracts the input with the cores one by one
(``'factorized'``, cores possibly first merged into a few super-cores) or rebuilds ``W`` and runs one GEMM
(``'dense'``); ``path='auto'`` picks a plan per batch size, train or inference: measured once per shape and batch
bucket and cached on disk (:mod:`tesla_lab.tn.autotune`), or by a FLOP + memory-traffic model where timing is off
(tests, tracing, ``torch.compile``, ``TESLA_AUTOTUNE=0``), and remembers it. Without autograd (evaluation, serving)
the rebuilt ``W`` is cached, so the dense path costs what ``nn.Linear`` does.

Initialisation is variance preserving: the cores are drawn so that the *rebuilt* ``W`` has the standard deviation of
a freshly initialised ``nn.Linear`` (``1 / sqrt(3 * in_features)``), i.e. per-core std
``(sigma / sqrt(prod(internal ranks))) ** (1 / d)``.

>>> import torch
>>> layer = TTLinear(784, 256, rank=8)
>>> layer
TTLinear(in_features=784, out_features=256, in_shape=(14, 7, 8), out_shape=(8, 4, 8), ranks=(1, 8, 8, 1), \
bias=True, params=3,456 (58.1x fewer))
>>> layer(torch.randn(32, 784)).shape
torch.Size([32, 256])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.tn.autotune import choose_plan
from tesla_lab.tn.contract import PATHS, apply_plan, prepare_factorized, tt_matrix_full
from tesla_lab.tn.cost import Plan
from tesla_lab.tn.factorize import resolve_shapes
from tesla_lab.tn.ranks import core_std, layer_ranks
from tesla_lab.tn.tt_matrix import TTMatrix

__all__ = ["TTLinear"]

log = logging.getLogger(__name__)


class TTLinear(nn.Module):
    """Linear layer ``y = x @ W.T + b`` with ``W`` (out_features x in_features) stored as a tensor train.

    Args:
        in_features, out_features: sizes as in ``nn.Linear``.
        rank: TT rank for every cut between cores, or a list of ``d - 1`` ranks; each is clamped to the largest
            useful value at its cut.
        in_shape, out_shape: modes with ``prod(in_shape) == in_features`` (likewise out), same length ``d``; a
            missing one is factorized automatically (:func:`~tesla_lab.tn.factorize.resolve_shapes`). Sizes that
            cannot be split (a prime) raise :class:`~tesla_lab.errors.FactorizationError`: pad them or pass shapes.
        bias: learn an additive bias.
        path: ``'auto'`` (the faster plan per batch size, measured or estimated), ``'factorized'`` or ``'dense'``;
            settable.

    Traceable by ``torch.jit.trace``: the trace runs the fixed ``path`` (for ``'auto'``, the choice for the example's
    batch size), rebuilds ``W`` from the cores in the graph (never a cached copy) and accepts any batch size.
    Tracing warns (``TracerWarning``) where it reads the cores' sizes and the input width: those are constants.

    >>> TTLinear(64, 64, rank=0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: TT ranks must be integers >= 1; got rank=0. Typical values: 4 to 16
    >>> TTLinear(64, 64)(torch.zeros(2, 63))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: TTLinear expected input with last dimension in_features=64; got shape (2, 63)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int | Sequence[int] = 8,
        in_shape: Sequence[int] | None = None,
        out_shape: Sequence[int] | None = None,
        bias: bool = True,
        *,
        path: str = "auto",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer; got {value!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.out_shape, self.in_shape = resolve_shapes(out_features, in_features, out_shape, in_shape)
        ranks = layer_ranks(rank, self.in_shape, self.out_shape)  # clamped per cut (shared with Keras TTDense)
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.cores = nn.ParameterList(
            nn.Parameter(torch.empty(ranks[k], m, n, ranks[k + 1], **factory))
            for k, (m, n) in enumerate(zip(self.out_shape, self.in_shape))
        )
        if bias:
            self.bias: nn.Parameter | None = nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.path = path
        self._caches: dict[Any, tuple[tuple[Any, ...], Any]] = {}  # inference caches: W, prepared core matrices
        self.reset_parameters()

    # ------------------------------------------------------------------ parameters and properties
    def reset_parameters(self) -> None:
        """Draw cores so the rebuilt ``W`` has ``nn.Linear``'s std ``1/sqrt(3 in_features)``; bias as nn.Linear."""
        sigma = 1.0 / math.sqrt(3 * self.in_features)  # std of U(-1/sqrt(in), 1/sqrt(in)), nn.Linear's default
        std = core_std(sigma, self.ranks)  # W entry = sum of prod(internal ranks) products of d core entries
        with torch.no_grad():
            for core in self.cores:
                core.normal_(0.0, std)
            if self.bias is not None:
                bound = 1.0 / math.sqrt(self.in_features)
                self.bias.uniform_(-bound, bound)

    @property
    def path(self) -> str:
        """Contraction path: ``'auto'``, ``'factorized'`` or ``'dense'``."""
        return self._path

    @path.setter
    def path(self, value: str) -> None:
        if value not in PATHS:
            raise ConfigError(f"unknown TTLinear path {value!r}; choose one of: {', '.join(PATHS)}")
        self._path = value
        self._plans: dict[tuple[int, bool, bool], Plan] = {}  # (rows, train, cached W) -> plan

    @property
    def ranks(self) -> tuple[int, ...]:
        """TT ranks ``(1, r_1, ..., r_{d-1}, 1)``."""
        return (1, *[int(c.shape[-1]) for c in self.cores])

    @property
    def num_params(self) -> int:
        """Parameters stored: cores plus bias."""
        return sum(p.numel() for p in self.parameters())

    @property
    def dense_params(self) -> int:
        """Parameters of the equivalent ``nn.Linear`` (weight plus bias)."""
        return self.in_features * self.out_features + (self.out_features if self.bias is not None else 0)

    @property
    def compression_ratio(self) -> float:
        """``dense_params / num_params`` (> 1 means smaller than ``nn.Linear``)."""
        return self.dense_params / self.num_params

    @property
    def weight(self) -> torch.Tensor:
        """The rebuilt dense ``W`` (out_features, in_features); differentiable with respect to the cores.

        Without autograd (``torch.no_grad()``, inference) the rebuilt matrix is cached until a core changes; never
        while ``torch.compile`` or ``torch.jit.trace`` records, whose graph must rebuild ``W`` from the cores.
        """
        cores = list(self.cores)
        return self._cached("W", cores, lambda: tt_matrix_full(cores))

    def _cached(self, name: Any, cores: list[torch.Tensor], build: Any) -> Any:
        """``build()``, kept between calls while autograd is off and no core changed (inference); rebuilt whenever
        autograd may need its graph, while a graph is recorded (compile, trace) or for cores made in inference mode."""
        if torch.is_grad_enabled() and any([c.requires_grad for c in cores]):
            return build()
        if torch.compiler.is_compiling() or torch.jit.is_tracing():  # a cached value would be a constant in the graph
            return build()
        if any([c.is_inference() for c in cores]):  # created under inference_mode: no version counter to key on
            return build()
        # A value built under inference_mode is an inference tensor that autograd may not save: key on the mode too.
        key = (torch.is_inference_mode_enabled(), *[(c._version, c.data_ptr(), c.dtype, c.device) for c in cores])
        hit = self._caches.get(name)
        if hit is None or hit[0] != key:
            with torch.no_grad():
                hit = self._caches[name] = (key, build())
        return hit[1]

    def to_tt_matrix(self) -> TTMatrix:
        """The weight as a :class:`~tesla_lab.tn.tt_matrix.TTMatrix` (cores detached)."""
        return TTMatrix([c.detach() for c in self.cores])

    # ------------------------------------------------------------------ forward
    @property
    def plans(self) -> dict[int, str]:
        """The plans used so far by batch size (rows), e.g. ``{1: 'factorized/2', 512: 'dense'}``."""
        return {
            rows: p.label for (rows, _, _), p in self._plans.items()
        }

    def _plan(self, rows: int, cores: list[torch.Tensor]) -> Plan:
        """The plan for ``rows`` input rows: by the fixed path or measured/estimated (memoized per rows and mode)."""
        if self._path == "dense":
            return Plan("dense", 1)
        train = torch.is_grad_enabled() and any([c.requires_grad for c in cores])
        cached = not train  # inference reuses the cached W and core matrices
        if torch.jit.is_tracing():
            # Sizes are traced values here; the rows only pick an implementation (all compute the same function) and
            # never enter the graph, so the example's value is read as a Python int: the trace keeps that plan.
            return choose_plan(cores, int(rows), path=self._path, cached_weight=False, timing=False)
        key = (rows, train, cached)
        plan = self._plans.get(key)
        if plan is None:
            plan = choose_plan(cores, rows, path=self._path, cached_weight=cached, train=train)
            self._plans[key] = plan
            if not torch.compiler.is_compiling():  # a logging call would break a torch.compile graph
                log.debug("TTLinear %dx%d: %d rows -> %s", self.out_features, self.in_features, rows, plan)
        return plan

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"TTLinear expected input with last dimension in_features={self.in_features}; got shape "
                f"{tuple(x.shape)}"
            )
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        cores = list(self.cores)
        plan = self._plan(x2.shape[0], cores)
        if plan.path == "dense":  # the cached W when autograd is off
            y = apply_plan(x2, cores, self.bias, plan, weight=self.weight)
        else:  # likewise the (merged) cores as matrices
            mats = self._cached(("mats", plan.groups, plan.cuts), cores,
                                lambda: prepare_factorized(cores, plan.groups, plan.cuts))
            y = apply_plan(x2, cores, self.bias, plan, mats=mats)
        return y.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, in_shape={self.in_shape}, "
            f"out_shape={self.out_shape}, ranks={self.ranks}, bias={self.bias is not None}, "
            f"params={self.num_params:,} ({self.compression_ratio:.1f}x fewer)"
            + (f", path={self._path!r}" if self._path != "auto" else "")
        )

    def __repr__(self) -> str:  # one line like nn.Linear, without listing the cores' ParameterList
        return f"{type(self).__name__}({self.extra_repr()})"

    # ------------------------------------------------------------------ conversion
    @classmethod
    def from_linear(
        cls,
        linear: nn.Linear,
        rank: int | Sequence[int] | None = None,
        tol: float | None = None,
        in_shape: Sequence[int] | None = None,
        out_shape: Sequence[int] | None = None,
    ) -> TTLinear:
        """Compress a trained ``nn.Linear`` by TT-SVD of its weight (bias copied as is).

        ``rank`` caps the TT ranks, ``tol`` bounds the relative Frobenius error of ``W``; with neither the
        decomposition is exact (same outputs, usually *more* parameters). Same device and dtype as ``linear``.

        >>> import torch
        >>> lin = torch.nn.Linear(64, 32)
        >>> tt = TTLinear.from_linear(lin)
        >>> x = torch.randn(5, 64)
        >>> bool(torch.allclose(tt(x), lin(x), atol=1e-5))
        True
        >>> TTLinear.from_linear(lin, rank=2).ranks
        (1, 2, 1)
        """
        if not isinstance(linear, nn.Linear):
            raise ConfigError(f"from_linear needs a torch.nn.Linear; got {type(linear).__name__}")
        weight = linear.weight.detach()
        tt = TTMatrix.from_matrix(weight, out_shape, in_shape, max_rank=rank, tol=tol)
        layer = cls(
            linear.in_features, linear.out_features, rank=list(tt.ranks[1:-1]), in_shape=tt.in_shape,
            out_shape=tt.out_shape, bias=linear.bias is not None, device=weight.device, dtype=weight.dtype,
        )
        with torch.no_grad():
            for core, value in zip(layer.cores, tt.cores):
                core.copy_(value)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)  # type: ignore[union-attr]
        return layer
