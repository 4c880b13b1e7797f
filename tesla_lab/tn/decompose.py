"""TT-SVD: decompose a d-way tensor into a tensor train (Oseledets 2011, Algorithm 1).

A tensor train stores ``A[i_1, ..., i_d] = G_1[:, i_1, :] @ G_2[:, i_2, :] @ ... @ G_d[:, i_d, :]`` with cores
``G_k`` of shape ``(r_{k-1}, n_k, r_k)`` and ``r_0 = r_d = 1``. TT-SVD sweeps left to right, keeping at each
unfolding the leading singular vectors. With ``tol`` every step drops singular values whose tail norm stays below
``delta = tol / sqrt(d - 1) * ||A||_F``, which guarantees ``||A - TT||_F <= tol * ||A||_F``; ``max_rank`` caps the
ranks on top of that (the bound then no longer holds). Without ``tol`` only singular values that are zero to the
input's precision are dropped: a tail whose norm is at most ``eps · ||unfolding||_F`` (``eps`` of the input dtype),
i.e. below the rounding error the input already carries. So ``max_rank`` is kept unless the unfolding really has a
lower rank, and with neither option the result is exact to float precision with the tensor's true TT ranks.
float32 (and half-precision) inputs of up to ``FLOAT64_LIMIT`` entries are decomposed in float64 and cast back,
so low-rank approximations of float32 data are as accurate as of float64 data; a rank lowered below its cap is
logged (``logging.INFO``) with the reason.

>>> import torch
>>> a = torch.arange(24.0).reshape(2, 3, 4)
>>> tt = tt_svd(a)
>>> tt.ranks, tt.shape
((1, 2, 2, 1), (2, 3, 4))
>>> bool(tt.relative_error(a) < 1e-6)
True
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from tesla_lab.errors import ConfigError, DataError, NotFittedError, ShapeError
from tesla_lab.tn.ranks import check_ranks

__all__ = ["TensorTrain", "tt_svd", "TTSVD", "check_ranks", "FLOAT64_LIMIT"]

log = logging.getLogger(__name__)

# float32 / half inputs with at most this many entries are decomposed in float64 (128 MiB for the float64 copy).
FLOAT64_LIMIT = 1 << 24


def _as_float_tensor(tensor: Any, name: str = "tensor") -> torch.Tensor:
    """Tensor view of ``tensor`` in a floating dtype, refusing 0-d, empty and non-finite input."""
    if not isinstance(tensor, torch.Tensor):
        try:
            tensor = torch.as_tensor(np.asarray(tensor))
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name} cannot be turned into a numeric tensor ({exc}); pass a tensor or array") from exc
    if not (tensor.is_floating_point() or tensor.is_complex()):
        tensor = tensor.to(torch.get_default_dtype())
    if tensor.ndim == 0:
        raise ShapeError(f"{name} must have at least one dimension to decompose; got a 0-d tensor (a scalar)")
    if tensor.numel() == 0:
        raise ShapeError(f"{name} is empty (shape {tuple(tensor.shape)}); every dimension must be >= 1")
    if not bool(torch.isfinite(tensor).all()):
        raise DataError(f"{name} contains NaN/inf values; TT-SVD needs finite entries")
    return tensor


def _check_tol(tol: float | None) -> float | None:
    if tol is None:
        return None
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise ConfigError(
            f"tol is a relative error and must lie in (0, 1); got tol={tol!r}. Use e.g. tol=0.05 for 5%, or "
            "tol=None for an exact decomposition"
        )
    return float(tol)


def _relative_error(approx: torch.Tensor, reference: Any, what: str) -> float:
    """``||reference - approx||_F / ||reference||_F``; the absolute error when ``reference`` is all zeros."""
    ref = torch.as_tensor(reference, dtype=approx.dtype, device=approx.device)
    if ref.shape != approx.shape:
        raise ShapeError(f"cannot compare an array of shape {tuple(ref.shape)} with a {what} of shape "
                         f"{tuple(approx.shape)}")
    diff = float(torch.linalg.vector_norm(approx.detach() - ref))
    norm = float(torch.linalg.vector_norm(ref))
    return diff / norm if norm > 0 else diff


def _check_cores(cores: Sequence[torch.Tensor], *, kind: str, noun: str, layout: str) -> list[torch.Tensor]:
    """Check that ``cores`` are tensors of the rank ``layout`` names (``(r_{k-1}, ..., r_k)``), with boundary ranks 1
    and matching ranks between neighbours; shared by :class:`TensorTrain` and TT-matrices."""
    cores = list(cores)
    ndim = layout.count(",") + 1
    if not cores:
        raise ShapeError(f"a {noun} needs at least one core; got an empty list")
    for k, core in enumerate(cores):
        if not isinstance(core, torch.Tensor) or core.ndim != ndim:
            shape = tuple(core.shape) if isinstance(core, torch.Tensor) else type(core).__name__
            raise ShapeError(f"{kind} core {k} must be a {ndim}-d tensor {layout}; got shape {shape}")
    if cores[0].shape[0] != 1 or cores[-1].shape[-1] != 1:
        raise ShapeError(
            f"the first core must start and the last core end with rank 1; got first {tuple(cores[0].shape)}, "
            f"last {tuple(cores[-1].shape)}"
        )
    for k in range(len(cores) - 1):
        if cores[k].shape[-1] != cores[k + 1].shape[0]:
            raise ShapeError(
                f"{kind} cores must chain: core {k} has right rank {cores[k].shape[-1]} but core {k + 1} has left "
                f"rank {cores[k + 1].shape[0]} (shapes {tuple(cores[k].shape)} and {tuple(cores[k + 1].shape)}); "
                f"core k must be {layout}"
            )
    return cores


class TensorTrain:
    """A tensor stored as tensor-train cores ``G_k`` of shape ``(r_{k-1}, n_k, r_k)`` with ``r_0 = r_d = 1``.

    ``ranks`` includes the two boundary ones: ``(1, r_1, ..., r_{d-1}, 1)``.

    >>> import torch
    >>> tt = TensorTrain([torch.ones(1, 2, 3), torch.ones(3, 4, 1)])
    >>> tt.shape, tt.ranks, tt.num_params
    ((2, 4), (1, 3, 1), 18)
    >>> tt.full()
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    >>> TensorTrain([torch.ones(1, 2, 3), torch.ones(2, 4, 1)])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: TT cores must chain: core 0 has right rank 3 but core 1 has left rank 2 \
(shapes (1, 2, 3) and (2, 4, 1)); core k must be (r_{k-1}, n_k, r_k)
    """

    def __init__(self, cores: Sequence[torch.Tensor]) -> None:
        cores = _check_cores(cores, kind="TT", noun="tensor train", layout="(r_{k-1}, n_k, r_k)")
        self.cores = cores

    @property
    def ranks(self) -> tuple[int, ...]:
        """TT ranks ``(1, r_1, ..., r_{d-1}, 1)``."""
        return (1, *(int(c.shape[-1]) for c in self.cores))

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the full tensor ``(n_1, ..., n_d)``."""
        return tuple(int(c.shape[1]) for c in self.cores)

    @property
    def ndim(self) -> int:
        """Number of modes ``d``."""
        return len(self.cores)

    @property
    def num_params(self) -> int:
        """Entries stored in the cores."""
        return sum(c.numel() for c in self.cores)

    @property
    def compression_ratio(self) -> float:
        """Entries of the full tensor over entries stored (> 1 means smaller than the full tensor)."""
        return math.prod(self.shape) / self.num_params

    def full(self) -> torch.Tensor:
        """Rebuild the full tensor (differentiable with respect to the cores)."""
        # res: (n_1 ... n_k, r_k), grown one core per step by a single matmul.
        res = self.cores[0].reshape(-1, self.cores[0].shape[-1])
        for core in self.cores[1:]:
            r, n, s = core.shape
            res = (res @ core.reshape(r, n * s)).reshape(-1, s)
        return res.reshape(self.shape)

    def relative_error(self, tensor: Any) -> float:
        """``||tensor - full()||_F / ||tensor||_F`` (the absolute error when ``tensor`` is all zeros).

        >>> import torch
        >>> TensorTrain([torch.ones(1, 2, 1)]).relative_error(torch.tensor([1.0, 3.0]))
        0.6324555...
        """
        return _relative_error(self.full(), tensor, "TT")

    def __repr__(self) -> str:
        return f"TensorTrain(shape={self.shape}, ranks={self.ranks}, params={self.num_params})"


def _svd(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD; a wide matrix goes through its transpose (MKL's SVD of a 64 x 1024 matrix is ~3x slower than of
    1024 x 64, and far slower with contended threads)."""
    if matrix.shape[0] >= matrix.shape[1]:
        return torch.linalg.svd(matrix, full_matrices=False)
    u, s, vh = torch.linalg.svd(matrix.mT, full_matrices=False)
    return vh.mT, s, u.mT


def tt_svd(tensor: Any, *, max_rank: int | Sequence[int] | None = None, tol: float | None = None) -> TensorTrain:
    """Decompose ``tensor`` (d >= 1 dimensions) into a :class:`TensorTrain` by TT-SVD.

    Args:
        tensor: a tensor or array; integers are converted to the default float dtype, half precision is decomposed
            in float32 and cast back. The result is detached from autograd.
        max_rank: cap on every TT rank (an int), or one cap per cut (``d - 1`` ints).
        tol: relative Frobenius error allowed, in (0, 1); guarantees ``relative_error <= tol`` when ``max_rank``
            does not cut further.

    Raises :class:`~tesla_lab.errors.ConfigError` for ranks < 1 or ``tol`` outside (0, 1),
    :class:`~tesla_lab.errors.ShapeError` for 0-d or empty tensors.

    >>> import torch
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> a = torch.randn(4, 5, 6, dtype=torch.float64)
    >>> tt_svd(a, max_rank=3).ranks
    (1, 3, 3, 1)
    >>> tt = tt_svd(a, tol=0.5)
    >>> tt.relative_error(a) <= 0.5
    True
    >>> tt_svd(a, max_rank=0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: TT ranks must be integers >= 1; got max_rank=0. Typical values: 4 to 16
    """
    tol = _check_tol(tol)
    a = _as_float_tensor(tensor)
    caps: list[int | None] = [None] * (a.ndim - 1) if max_rank is None else list(check_ranks(max_rank, a.ndim - 1))
    out_dtype = a.dtype
    work = a.detach()
    # eps of the data: singular values whose tail is below eps * ||unfolding|| are rounding noise of the input.
    eps = torch.finfo(work.real.dtype if work.is_complex() else work.dtype).eps
    if work.dtype in (torch.float16, torch.bfloat16, torch.float32) and work.numel() <= FLOAT64_LIMIT:
        work = work.double()  # float64 SVD: the truncation error, not float32 round-off, decides the accuracy
    elif work.dtype in (torch.float16, torch.bfloat16):  # LAPACK / cuSOLVER have no half-precision SVD
        work = work.float()
    elif work.dtype == torch.complex64 and work.numel() <= FLOAT64_LIMIT:
        work = work.to(torch.complex128)
    shape = tuple(a.shape)
    d = len(shape)
    delta = None if tol is None or d == 1 else tol / math.sqrt(d - 1) * float(torch.linalg.vector_norm(work))

    cores: list[torch.Tensor] = []
    rank = 1
    rest = work.reshape(1, -1)  # (r_{k-1}, n_k ... n_d), the part not yet decomposed
    for k in range(d - 1):
        unfolding = rest.reshape(rank * shape[k], -1)  # (r_{k-1} n_k, n_{k+1} ... n_d)
        u, s, vh = _svd(unfolding)
        # tail[i] = sum_{j >= i} s_j^2: keep the fewest values whose dropped tail has norm <= the threshold.
        tail = torch.cumsum((s * s).flip(0), 0).flip(0)
        if delta is not None:
            new_rank = int((tail > delta * delta).sum())
        else:  # numerical rank: the dropped part is below the input's own rounding error (eps * ||unfolding||_F)
            new_rank = int((tail > (eps * eps) * tail[0]).sum())
        new_rank = max(1, new_rank)
        if caps[k] is not None:
            if delta is None and new_rank < min(caps[k], len(s)):
                log.info(
                    "tt_svd: rank at cut %d is %d, below max_rank %d: the remaining singular values are zero to "
                    "the input's precision (tail norm <= %.1e x the unfolding's norm)", k + 1, new_rank, caps[k], eps,
                )
            new_rank = min(new_rank, caps[k])
        cores.append(u[:, :new_rank].reshape(rank, shape[k], new_rank).to(out_dtype))
        rest = s[:new_rank, None] * vh[:new_rank]  # (r_k, n_{k+1} ... n_d)
        rank = new_rank
    cores.append(rest.reshape(rank, shape[-1], 1).to(out_dtype))
    return TensorTrain(cores)


class TTSVD:
    """Estimator form of :func:`tt_svd` (scikit-learn conventions): ``__init__`` stores options, ``fit`` computes
    ``tt_`` (the :class:`TensorTrain`), ``ranks_`` and ``relative_error_`` and returns ``self``.

    >>> import torch
    >>> est = TTSVD(max_rank=2).fit(torch.ones(3, 4, 5))
    >>> est.ranks_, round(est.relative_error_, 6)
    ((1, 1, 1, 1), 0.0)
    >>> TTSVD().tt_
    Traceback (most recent call last):
    ...
    tesla_lab.errors.NotFittedError: TTSVD is not fitted yet; call fit(tensor) first
    """

    def __init__(self, max_rank: int | Sequence[int] | None = None, *, tol: float | None = None) -> None:
        self.max_rank = max_rank
        self.tol = tol

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(tensor) first")
        raise AttributeError(name)

    def fit(self, tensor: Any) -> TTSVD:
        """Decompose ``tensor``; returns ``self``."""
        self.tt_ = tt_svd(tensor, max_rank=self.max_rank, tol=self.tol)
        self.ranks_ = self.tt_.ranks
        self.relative_error_ = self.tt_.relative_error(_as_float_tensor(tensor).to(self.tt_.cores[0].dtype))
        return self

    def fit_transform(self, tensor: Any) -> TensorTrain:
        """``fit(tensor)`` and return the :class:`TensorTrain`."""
        return self.fit(tensor).tt_

    def inverse_transform(self, tt: TensorTrain | None = None) -> torch.Tensor:
        """The full tensor of ``tt`` (by default the fitted one)."""
        return (tt if tt is not None else self.tt_).full()
