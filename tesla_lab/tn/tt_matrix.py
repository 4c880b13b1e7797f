"""TT-matrix (a.k.a. MPO): a matrix ``W`` (M x N) stored as cores ``G_k`` of shape ``(r_{k-1}, m_k, n_k, r_k)``.

Layout follows ``torch.nn.Linear``: ``W`` is (out_features, in_features), ``M = prod(out_shape)`` indexes outputs,
``N = prod(in_shape)`` indexes inputs, both as row-major multi-indices, so
``W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] @ ... @ G_d[:, i_d, j_d, :]``.
:meth:`TTMatrix.from_matrix` reshapes ``W`` to ``(m_1, .., m_d, n_1, .., n_d)``, interleaves it to
``(m_1 n_1, .., m_d n_d)`` and runs TT-SVD on that d-way tensor.

>>> import torch
>>> torch.manual_seed(0)
<torch._C.Generator object at ...>
>>> w = torch.randn(16, 36, dtype=torch.float64)
>>> tt = TTMatrix.from_matrix(w, (4, 4), (6, 6))
>>> tt.ranks, tt.shape
((1, 24, 1), (16, 36))
>>> bool(torch.allclose(tt.full(), w))
True
>>> TTMatrix.from_matrix(w, (4, 4), (6, 6), max_rank=4).num_params
192
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from tesla_lab.errors import ShapeError
from tesla_lab.tn.contract import tt_matrix_full
from tesla_lab.tn.decompose import _as_float_tensor, _check_cores, _relative_error, tt_svd
from tesla_lab.tn.factorize import resolve_shapes

__all__ = ["TTMatrix"]


class TTMatrix:
    """A matrix held as TT-matrix cores ``(r_{k-1}, m_k, n_k, r_k)``, ``r_0 = r_d = 1``.

    >>> import torch
    >>> m = TTMatrix([torch.ones(1, 2, 3, 2), torch.ones(2, 2, 2, 1)])
    >>> m.shape, m.out_shape, m.in_shape, m.ranks, m.num_params
    ((4, 6), (2, 2), (3, 2), (1, 2, 1), 20)
    >>> TTMatrix([torch.ones(2, 3, 1)])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: TT-matrix core 0 must be a 4-d tensor (r_{k-1}, m_k, n_k, r_k); got shape (2, 3, 1)
    """

    def __init__(self, cores: Sequence[torch.Tensor]) -> None:
        cores = _check_cores(cores, kind="TT-matrix", noun="TT-matrix", layout="(r_{k-1}, m_k, n_k, r_k)")
        self.cores = cores

    @classmethod
    def from_matrix(
        cls,
        matrix: Any,
        out_shape: Sequence[int] | None = None,
        in_shape: Sequence[int] | None = None,
        *,
        max_rank: int | Sequence[int] | None = None,
        tol: float | None = None,
    ) -> TTMatrix:
        """Compress ``matrix`` (out_features x in_features) by TT-SVD.

        Shapes are resolved by :func:`~tesla_lab.tn.factorize.resolve_shapes`: left out ones are factorized, given
        ones must multiply to the matrix's sides and have the same length. ``max_rank`` / ``tol`` as in
        :func:`~tesla_lab.tn.decompose.tt_svd` (``tol`` bounds the relative Frobenius error of the whole matrix).

        >>> import torch
        >>> TTMatrix.from_matrix(torch.eye(6), (2, 3), (2, 2))
        Traceback (most recent call last):
        ...
        tesla_lab.errors.FactorizationError: in_shape (2, 2) multiplies to 4 but in_features is 6; use factors \
whose product is 6, e.g. (2, 3), or omit in_shape to factorize automatically
        """
        w = _as_float_tensor(matrix, "matrix")
        if w.ndim != 2:
            raise ShapeError(f"matrix must be 2-d (out_features, in_features); got shape {tuple(w.shape)}")
        rows, cols = (int(s) for s in w.shape)
        out_shape, in_shape = resolve_shapes(rows, cols, out_shape, in_shape)
        d = len(out_shape)
        # (m_1..m_d, n_1..n_d) -> (m_1, n_1, ..., m_d, n_d) -> (m_1 n_1, ..., m_d n_d)
        perm = [p for k in range(d) for p in (k, d + k)]
        tensor = w.detach().reshape(*out_shape, *in_shape).permute(perm)
        tensor = tensor.reshape([m * n for m, n in zip(out_shape, in_shape)])
        tt = tt_svd(tensor, max_rank=max_rank, tol=tol)
        cores = [c.reshape(c.shape[0], m, n, c.shape[-1]) for c, m, n in zip(tt.cores, out_shape, in_shape)]
        return cls(cores)

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Output modes ``(m_1, ..., m_d)``."""
        return tuple(int(c.shape[1]) for c in self.cores)

    @property
    def in_shape(self) -> tuple[int, ...]:
        """Input modes ``(n_1, ..., n_d)``."""
        return tuple(int(c.shape[2]) for c in self.cores)

    @property
    def shape(self) -> tuple[int, int]:
        """``(M, N)`` of the full matrix."""
        return math.prod(self.out_shape), math.prod(self.in_shape)

    @property
    def ranks(self) -> tuple[int, ...]:
        """TT ranks ``(1, r_1, ..., r_{d-1}, 1)``."""
        return (1, *(int(c.shape[-1]) for c in self.cores))

    @property
    def num_params(self) -> int:
        """Entries stored in the cores."""
        return sum(c.numel() for c in self.cores)

    @property
    def compression_ratio(self) -> float:
        """``M·N`` over the entries stored."""
        rows, cols = self.shape
        return rows * cols / self.num_params

    def full(self) -> torch.Tensor:
        """The (M, N) matrix (differentiable with respect to the cores)."""
        return tt_matrix_full(self.cores)

    def relative_error(self, matrix: Any) -> float:
        """``||matrix - full()||_F / ||matrix||_F`` (absolute error for an all-zero ``matrix``)."""
        return _relative_error(self.full(), matrix, "TT-matrix")

    def __repr__(self) -> str:
        return (
            f"TTMatrix(shape={self.shape}, out_shape={self.out_shape}, in_shape={self.in_shape}, "
            f"ranks={self.ranks}, params={self.num_params})"
        )
