"""Apply a TT-matrix to a batch: the factorized path, the rebuild-then-GEMM path, and the plan that picks one.

A TT-matrix ``W`` (M x N, ``M = prod(out_shape)``, ``N = prod(in_shape)``) is held as cores of shape
``(r_{k-1}, m_k, n_k, r_k)``; ``W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] @ ... @ G_d[:, i_d, j_d, :]`` with
row-major multi-indices, the same layout as ``nn.Linear.weight`` (out_features, in_features). For ``y = x @ W.T``:

* **dense**: rebuild ``W`` (about ``2·M·N·r`` FLOPs, batch independent) and run one GEMM (``2·B·M·N``);
* **factorized**: contract ``x`` with the cores, optionally first merged into a few balanced super-cores
  (:func:`group_cores`), each step one transpose and one GEMM over every row of the batch.

A :class:`~tesla_lab.tn.cost.Plan` names the path and the grouping; ``path='auto'`` asks
:func:`tesla_lab.tn.autotune.choose_plan` (measured timings where allowed, else the cost model of
:mod:`tesla_lab.tn.cost`).

>>> import torch
>>> cores = [torch.randn(1, 2, 3, 4), torch.randn(4, 5, 6, 1)]   # W is (2*5) x (3*6)
>>> x = torch.randn(7, 18)
>>> torch.allclose(tt_contract(x, cores), x @ tt_matrix_full(cores).T, atol=1e-4)
True
>>> choose_path((2, 5), (3, 6), (1, 4, 1), batch=1), choose_path((2, 5), (3, 6), (1, 4, 1), batch=1000)
('factorized', 'dense')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.tn.cost import (
    FACTORIZED_OVERHEAD,
    MEMORY_WEIGHT,
    Plan,
    _split_point,
    choose_path,
    dense_flops,
    dense_memory,
    factorized_flops,
    factorized_memory,
    plan_ranges,
)
from tesla_lab.tn.pair import PairDims, pair_contract

__all__ = [
    "tt_matrix_full",
    "tt_contract",
    "tt_linear",
    "apply_plan",
    "group_cores",
    "core_matrices",
    "contract_matrices",
    "pair_matrices",
    "prepare_factorized",
    "Plan",
    "factorized_flops",
    "dense_flops",
    "factorized_memory",
    "dense_memory",
    "choose_path",
    "MEMORY_WEIGHT",
    "FACTORIZED_OVERHEAD",
    "PATHS",
]

Path = Literal["auto", "factorized", "dense"]
PATHS: tuple[str, ...] = ("auto", "factorized", "dense")


def _merge(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Contract consecutive TT-matrix cores into one core ``(r_a, prod m, prod n, r_b)``, halves first.

    Each merge is one GEMM plus one permute that swaps the two middle modes of ``(r, M_1, N_1, M_2, N_2, t)``;
    splitting in balanced halves keeps the permutes' contiguous runs long (``N_2 t`` entries), which makes the
    rebuild 2-3x faster than growing W one core at a time (measured on CPU for 1024x1024).
    """
    if len(cores) == 1:
        return cores[0]
    h = _split_point([int(c.shape[1]) * int(c.shape[2]) for c in cores])
    a, b = _merge(cores[:h]), _merge(cores[h:])
    r, m1, n1, s = a.shape
    _, m2, n2, t = b.shape
    ab = (a.reshape(r * m1 * n1, s) @ b.reshape(s, m2 * n2 * t)).reshape(r, m1, n1, m2, n2, t)
    return ab.permute(0, 1, 3, 2, 4, 5).reshape(r, m1 * m2, n1 * n2, t)


def tt_matrix_full(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Rebuild the (M, N) matrix from TT-matrix cores ``(r_{k-1}, m_k, n_k, r_k)`` (differentiable).

    d - 1 GEMMs, merging the cores in balanced halves (the last GEMM costs ``2·M·N·r`` at the middle cut).

    >>> import torch
    >>> tt_matrix_full([torch.ones(1, 2, 3, 1)]).shape
    torch.Size([2, 3])
    """
    merged = _merge(list(cores))  # (1, M, N, 1)
    return merged.reshape(merged.shape[1], merged.shape[2])


def group_cores(cores: Sequence[torch.Tensor], groups: int) -> list[torch.Tensor]:
    """Merge consecutive cores into ``groups`` balanced super-cores (differentiable); ``groups >= d`` returns the
    cores as they are. Fewer, larger cores mean fewer and larger GEMMs in :func:`tt_contract`.

    >>> import torch
    >>> cores = [torch.ones(1, 2, 2, 3), torch.ones(3, 2, 2, 3), torch.ones(3, 2, 2, 1)]
    >>> [tuple(c.shape) for c in group_cores(cores, 2)]
    [(1, 2, 2, 3), (3, 4, 4, 1)]
    """
    cores = list(cores)
    if groups >= len(cores):
        return cores
    return [_merge(cores[lo:hi]) for lo, hi in _ranges(cores, groups)]


def tt_contract(x: torch.Tensor, cores: Sequence[torch.Tensor], *, groups: int | None = None) -> torch.Tensor:
    """``x @ W.T`` without forming ``W``: x (B, N) -> (B, M), one permute and one GEMM per core.

    ``groups``: first merge the cores into that many balanced super-cores (:func:`group_cores`); ``None`` keeps
    every core. The state before step k is ``(B, n_{k+1}..n_d · m_1..m_{k-1}, n_k r_{k-1})`` (contiguous): the core,
    as a ``(n_k r_{k-1}, m_k r_k)`` matrix, multiplies it in *one* GEMM over all ``B·n_{k+1}..n_d·m_1..m_{k-1}`` rows
    (not thousands of tiny batched GEMMs), giving ``(B, n_{k+1}, n_{k+2}..n_d · m_1..m_k, r_k)``; one transpose moves
    ``n_{k+1}`` next to ``r_k`` for the next step. After the last core the rows are ``(B, m_1..m_d)`` = ``y``.

    Traceable: the batch size is never multiplied into another size, so a ``torch.jit.trace`` taken at one batch size
    runs at any other.

    >>> import torch
    >>> tt_contract(torch.ones(2, 6), [torch.ones(1, 1, 2, 2), torch.ones(2, 1, 3, 1)])
    tensor([[12.],
            [12.]])
    """
    return contract_matrices(x, core_matrices(cores, groups))


CoreMatrix = tuple[torch.Tensor, tuple[int, int, int, int]]


def core_matrices(cores: Sequence[torch.Tensor], groups: int | None = None,
                  cuts: tuple[int, ...] = ()) -> list[CoreMatrix]:
    """The cores (merged into ``groups`` first, if given) as the ``(n_k r_{k-1}, m_k r_k)`` matrices
    :func:`contract_matrices` multiplies by, each with its core's shape ``(r, m, n, s)``. Differentiable; a layer
    caches them for inference like the rebuilt ``W``.

    >>> import torch
    >>> [(tuple(m.shape), dims) for m, dims in core_matrices([torch.ones(1, 2, 3, 4), torch.ones(4, 5, 6, 1)])]
    [((3, 8), (1, 2, 3, 4)), ((24, 5), (4, 5, 6, 1))]
    """
    cores = list(cores)
    ranges = [(k, k + 1) for k in range(len(cores))]
    if cuts or (groups is not None and groups < len(cores)):
        ranges = _ranges(cores, len(cuts) + 1 if cuts else int(groups or 1), cuts)
    return [_group_matrix(cores[lo:hi]) for lo, hi in ranges]


def _ranges(cores: Sequence[torch.Tensor], groups: int, cuts: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """The core ranges a factorized plan of ``groups`` (split at ``cuts``, else balanced) merges."""
    return plan_ranges(Plan("factorized", groups, cuts), [int(c.shape[1]) * int(c.shape[2]) for c in cores])


def _group_matrix(cores: Sequence[torch.Tensor]) -> CoreMatrix:
    """Merge ``cores`` and lay the result out as a ``(N r, M s)`` matrix; the last merge's permute does both."""
    if len(cores) == 1:
        r, m, n, s = (int(v) for v in cores[0].shape)
        return cores[0].permute(2, 0, 1, 3).reshape(n * r, m * s), (r, m, n, s)  # a copy of the small core
    h = _split_point([int(c.shape[1]) * int(c.shape[2]) for c in cores])
    a, b = _merge(cores[:h]), _merge(cores[h:])
    r, m1, n1, s = (int(v) for v in a.shape)
    _, m2, n2, t = (int(v) for v in b.shape)
    ab = (a.reshape(r * m1 * n1, s) @ b.reshape(s, m2 * n2 * t)).reshape(r, m1, n1, m2, n2, t)
    mat = ab.permute(2, 4, 0, 1, 3, 5).reshape(n1 * n2 * r, m1 * m2 * t)
    return mat, (r, m1 * m2, n1 * n2, t)


def contract_matrices(x: torch.Tensor, mats: Sequence[CoreMatrix]) -> torch.Tensor:
    """The contraction of :func:`tt_contract` with prepared :func:`core_matrices`.

    >>> import torch
    >>> contract_matrices(torch.ones(2, 6), core_matrices([torch.ones(1, 1, 2, 2), torch.ones(2, 1, 3, 1)]))
    tensor([[12.],
            [12.]])
    """
    d = len(mats)
    ns = [dims[2] for _, dims in mats]
    b = x.shape[0]  # in a trace: the input's size, recorded as such, not a constant
    if d == 1:
        state = x.reshape(b, 1, ns[0])
    else:
        state = x.reshape(b, ns[0], math.prod(ns[1:])).transpose(1, 2)  # (B, n_2..n_d, n_1 r_0): matmul copies it
    for k, (mat, (_, m, _, s)) in enumerate(mats):
        rows = state.shape[1]
        y = torch.matmul(state, mat)  # (B, rows, m_k r_k): one GEMM over B·rows (matmul folds the batch in)
        if k + 1 == d:
            state = y
            break
        nxt = ns[k + 1]
        rest = rows * m // nxt  # n_{k+2}..n_d · m_1..m_k
        state = y.reshape(b, nxt, rest, s).transpose(1, 2).reshape(b, rest, nxt * s)
    return state.reshape(b, math.prod([dims[1] for _, dims in mats]))


PairMatrices = tuple[torch.Tensor, torch.Tensor, PairDims]


def pair_matrices(cores: Sequence[torch.Tensor], cut: int | None = None) -> PairMatrices:
    """The cores merged into two balanced super-cores, laid out for :func:`tesla_lab.tn.pair.pair_contract`: the left
    one as ``(M1, N1*S)`` (a view of the merge), the right one as ``(N2, S*M2)``, and ``(M1, N1, S, M2, N2)``.
    Differentiable; a layer caches them for inference like ``W``.

    >>> import torch
    >>> a, c, dims = pair_matrices([torch.ones(1, 2, 3, 4), torch.ones(4, 5, 6, 1)])
    >>> tuple(a.shape), tuple(c.shape), dims
    ((2, 12), (6, 20), (2, 3, 4, 5, 6))
    """
    cores = list(cores)
    (_, cut), _ = _ranges(cores, 2, () if cut is None else (cut,))  # None: the balanced split
    left, right = _merge(cores[:cut]), _merge(cores[cut:])
    _, m1, n1, s = (int(v) for v in left.shape)
    _, m2, n2, _ = (int(v) for v in right.shape)
    return left.reshape(m1, n1 * s), right.permute(2, 0, 1, 3).reshape(n2, s * m2), (m1, n1, s, m2, n2)


def prepare_factorized(cores: Sequence[torch.Tensor], groups: int,
                       cuts: tuple[int, ...] = ()) -> list[CoreMatrix] | PairMatrices:
    """What the factorized plan with ``groups`` super-cores multiplies by: :func:`pair_matrices` for two groups
    (two GEMMs, no transposes), else :func:`core_matrices`. :func:`apply_plan` takes either as ``mats``.

    >>> import torch
    >>> cores = [torch.ones(1, 2, 2, 3), torch.ones(3, 2, 2, 3), torch.ones(3, 2, 2, 1)]
    >>> len(prepare_factorized(cores, 2)[2]), len(prepare_factorized(cores, 3))
    (5, 3)
    """
    if groups == 2 and len(cores) >= 2:
        return pair_matrices(cores, cuts[0] if cuts else None)
    return core_matrices(cores, groups, cuts)


def _check_path(path: str) -> str:
    if path not in PATHS:
        raise ConfigError(f"unknown contraction path {path!r}; choose one of: {', '.join(PATHS)}")
    return path


def apply_plan(
    x2: torch.Tensor,
    cores: Sequence[torch.Tensor],
    bias: torch.Tensor | None,
    plan: Plan,
    weight: torch.Tensor | None = None,
    mats: Sequence[CoreMatrix] | None = None,
) -> torch.Tensor:
    """``x2 @ W.T + bias`` for a 2-d ``x2`` (B, N) by ``plan``, without checks (callers check ``x2`` once).

    ``weight``: ``W`` already rebuilt, used by the dense plan instead of rebuilding it; ``mats``: the factorized
    plan's :func:`prepare_factorized` result, already prepared.

    >>> import torch
    >>> apply_plan(torch.ones(2, 4), [torch.ones(1, 1, 2, 1), torch.ones(1, 1, 2, 1)], None, Plan("factorized", 2))
    tensor([[4.],
            [4.]])
    """
    if plan.path == "dense":
        return F.linear(x2, tt_matrix_full(cores) if weight is None else weight, bias)
    if mats is None:
        mats = prepare_factorized(cores, plan.groups, plan.cuts)
    if isinstance(mats, tuple):
        y = pair_contract(x2, *mats)
    else:
        y = contract_matrices(x2, mats)
    if bias is not None:
        y = y + bias.to(y.dtype)  # under autocast y is half precision, as F.linear's output would be
    return y


def tt_linear(
    x: torch.Tensor,
    cores: Sequence[torch.Tensor],
    bias: torch.Tensor | None = None,
    *,
    path: Path = "auto",
    weight: torch.Tensor | None = None,
    groups: int | None = None,
) -> torch.Tensor:
    """``x @ W.T + bias`` for a TT-matrix ``W`` given by ``cores``; ``x`` is (..., N), the result (..., M).

    ``path='auto'`` picks a plan for the flattened batch size (:func:`tesla_lab.tn.autotune.choose_plan`: measured
    once per shape and batch bucket where timing is allowed, else the cost model). ``'factorized'`` contracts
    without forming ``W``, with the cores merged into ``groups`` super-cores (default: the model's choice);
    ``'dense'`` rebuilds ``W`` and runs one GEMM. ``weight``: ``W`` already rebuilt (a cache), used by the dense path
    instead of rebuilding it.

    Traceable: under ``torch.jit.trace``, ``'auto'`` fixes the model's plan for the example's batch size and every
    reshape follows the batch size of later inputs (pass ``weight`` only if a constant ``W`` in the trace is meant).

    >>> import torch
    >>> cores = [torch.ones(1, 2, 2, 1), torch.ones(1, 3, 3, 1)]
    >>> tt_linear(torch.ones(5, 6), cores, torch.zeros(6), path="dense").shape
    torch.Size([5, 6])
    >>> tt_linear(torch.ones(5, 7), cores)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: expected inputs with last dimension 6 (the product of in_shape (2, 3)); got shape \
(5, 7)
    """
    from tesla_lab.tn.autotune import choose_plan  # noqa: PLC0415 - autotune imports this module

    path = _check_path(path)
    in_shape = tuple([int(c.shape[2]) for c in cores])
    n = math.prod(in_shape)
    if x.ndim == 0 or x.shape[-1] != n:
        raise ShapeError(
            f"expected inputs with last dimension {n} (the product of in_shape {in_shape}); got shape {tuple(x.shape)}"
        )
    lead = x.shape[:-1]
    x2 = x.reshape(-1, n)
    if path == "dense":
        plan = Plan("dense", 1)
    else:
        # Under a trace the rows are traced values; they only pick an implementation (all compute the same function)
        # and never enter the graph, so reading the example's value as a Python int is safe.
        rows = int(x2.shape[0])
        plan = choose_plan(cores, rows, cached_weight=weight is not None, path=path)
        if groups is not None and plan.path == "factorized":
            plan = Plan("factorized", groups)
    y = apply_plan(x2, cores, bias, plan, weight)
    return y.reshape(*lead, y.shape[-1])
