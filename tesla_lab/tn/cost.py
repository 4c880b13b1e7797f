"""Cost model of the ways to apply a TT-matrix to a batch, and the plan it picks when nothing is measured.

A **plan** says how :func:`~tesla_lab.tn.contract.tt_linear` computes ``x @ W.T``: ``Plan('dense', 1)`` rebuilds
``W`` and runs one GEMM; ``Plan('factorized', g)`` merges the ``d`` cores into ``g`` balanced super-cores and
contracts ``x`` with them one by one (``g = d``: every core on its own). The model estimates
``FLOPs + MEMORY_WEIGHT · entries moved`` (factorized steps times ``FACTORIZED_OVERHEAD``); measured timings
(:mod:`tesla_lab.tn.autotune`) override it where they are allowed.

>>> model_plan((8, 4, 4, 8), (8, 4, 4, 8), (1, 8, 8, 8, 1), batch=32)
Plan(path='factorized', groups=2)
>>> model_plan((8, 4, 4, 8), (8, 4, 4, 8), (1, 8, 8, 8, 1), batch=4096).path
'dense'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

from tesla_lab.errors import ShapeError

__all__ = [
    "Plan",
    "plan_ranges",
    "partition_plans",
    "candidate_plans",
    "plan_cost",
    "model_plan",
    "choose_path",
    "factorized_flops",
    "dense_flops",
    "factorized_memory",
    "dense_memory",
    "MEMORY_WEIGHT",
    "FACTORIZED_OVERHEAD",
]


class Plan(NamedTuple):
    """How to apply a TT-matrix: ``path`` ``'dense'`` or ``'factorized'``, the number of (merged) cores the
    factorized path contracts with (1 for dense), and where the groups split (``cuts``: core indices; empty means
    the balanced split of :func:`_balanced_groups`).

    >>> Plan("factorized", 2), Plan("factorized", 3, (2, 3))
    (Plan(path='factorized', groups=2), Plan(path='factorized', groups=3, cuts=(2, 3)))
    >>> plan_ranges(Plan("factorized", 3, (2, 3)), [64, 32, 28, 28, 64])
    [(0, 2), (2, 3), (3, 5)]
    """

    path: str
    groups: int
    cuts: tuple[int, ...] = ()

    def __repr__(self) -> str:
        cuts = f", cuts={self.cuts}" if self.cuts else ""
        return f"Plan(path={self.path!r}, groups={self.groups}{cuts})"

    @property
    def label(self) -> str:
        """``'dense'``, ``'factorized/3'`` or, with explicit cuts, ``'factorized/3@2,3'``."""
        if self.path == "dense":
            return "dense"
        return f"factorized/{self.groups}" + ("@" + ",".join(map(str, self.cuts)) if self.cuts else "")


def plan_ranges(plan: Plan, sizes: Sequence[int]) -> list[tuple[int, int]]:
    """The core ranges ``(lo, hi)`` the factorized ``plan`` merges, for cores with ``m_k n_k`` = ``sizes``."""
    if plan.cuts:
        bounds = [0, *plan.cuts, len(sizes)]
        return list(zip(bounds[:-1], bounds[1:]))
    return _balanced_groups(sizes, plan.groups)


def partition_plans(d: int, groups: Sequence[int] = (2, 3)) -> list[Plan]:
    """Every factorized plan with explicit cuts into ``groups`` consecutive ranges of ``d`` cores.

    >>> [p.label for p in partition_plans(3)]
    ['factorized/2@1', 'factorized/2@2', 'factorized/3@1,2']
    """
    return [Plan("factorized", g, cuts) for g in groups if 1 < g <= d
            for cuts in itertools.combinations(range(1, d), g - 1)]


def _split_point(sizes: Sequence[int]) -> int:
    """``h`` in 1..len-1 splitting the cores so both sides hold about as many matrix entries (``m_k n_k``)."""
    total = math.prod(sizes)
    best_h, best, left = 1, total, 1
    for h in range(1, len(sizes)):
        left *= sizes[h - 1]
        if max(left, total // left) < best:
            best_h, best = h, max(left, total // left)
    return best_h


def _balanced_groups(sizes: Sequence[int], groups: int) -> list[tuple[int, int]]:
    """Split ``range(len(sizes))`` into ``groups`` consecutive ranges ``(lo, hi)`` with the largest product of
    ``sizes`` over a range as small as possible (ties: the earlier split). ``d`` is small, so all splits are tried.

    >>> _balanced_groups([64, 16, 16, 64], 2), _balanced_groups([64, 16, 16, 64], 4)
    ([(0, 2), (2, 4)], [(0, 1), (1, 2), (2, 3), (3, 4)])
    """
    d = len(sizes)
    groups = max(1, min(groups, d))
    best: tuple[int, list[tuple[int, int]]] | None = None
    for cuts in itertools.combinations(range(1, d), groups - 1):
        bounds = [0, *cuts, d]
        ranges = list(zip(bounds[:-1], bounds[1:]))
        worst = max([math.prod(sizes[lo:hi]) for lo, hi in ranges])
        if best is None or worst < best[0]:
            best = (worst, ranges)
    assert best is not None
    return best[1]


def _check_shapes(out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int]) -> int:
    d = len(out_shape)
    if len(in_shape) != d or len(ranks) != d + 1:
        raise ShapeError(
            f"need len(out_shape) == len(in_shape) == d and len(ranks) == d + 1 (with the boundary 1s); got "
            f"out_shape={tuple(out_shape)}, in_shape={tuple(in_shape)}, ranks={tuple(ranks)}"
        )
    return d


# The cost helpers below build lists, not generators, so torch.compile can trace TTLinear's path choice.
def _factorized_steps(
    out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], batch: int
) -> list[tuple[int, int, int, int]]:
    """(P, K, Q, R) of each step of :func:`tt_contract`: ``(P, K, R) -> (P, Q, R)`` with a (Q, K) core matrix."""
    d = _check_shapes(out_shape, in_shape, ranks)
    return [
        (batch * math.prod(out_shape[:k]), ranks[k] * in_shape[k], out_shape[k] * ranks[k + 1],
         math.prod(in_shape[k + 1 :]))
        for k in range(d)
    ]


def _rebuild_steps(
    out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], lo: int = 0, hi: int | None = None
) -> list[tuple[int, int, int]]:
    """(rows, r, cols) of each GEMM of :func:`tt_matrix_full` (merging cores lo..hi-1), same order of splits."""
    if hi is None:
        hi = _check_shapes(out_shape, in_shape, ranks)
    if hi - lo == 1:
        return []
    sizes = [m * n for m, n in zip(out_shape[lo:hi], in_shape[lo:hi])]
    h = lo + _split_point(sizes)
    rows = ranks[lo] * math.prod(sizes[: h - lo])
    cols = math.prod(sizes[h - lo :]) * ranks[hi]
    inner = _rebuild_steps(out_shape, in_shape, ranks, lo, h) + _rebuild_steps(out_shape, in_shape, ranks, h, hi)
    return [*inner, (rows, ranks[h], cols)]


def factorized_flops(out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], batch: int) -> int:
    """Multiply-add FLOPs (2 per MAC) of :func:`tt_contract` for ``batch`` rows:
    ``sum_k 2·B·(m_1..m_{k-1})·(n_{k+1}..n_d)·n_k r_{k-1}·m_k r_k``.

    >>> factorized_flops((4, 4), (4, 4), (1, 2, 1), batch=1)
    512
    """
    return sum([2 * p * k * q * r for p, k, q, r in _factorized_steps(out_shape, in_shape, ranks, batch)])


def dense_flops(out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], batch: int) -> int:
    """FLOPs of rebuilding ``W`` with :func:`tt_matrix_full` plus the GEMM ``2·B·M·N``.

    >>> dense_flops((4, 4), (4, 4), (1, 2, 1), batch=1)
    1536
    """
    rebuild = sum([2 * rows * r * cols for rows, r, cols in _rebuild_steps(out_shape, in_shape, ranks)])
    return rebuild + 2 * batch * math.prod(out_shape) * math.prod(in_shape)


def factorized_memory(out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], batch: int,
                      *, transposes: bool = True) -> int:
    """Tensor entries read plus written by :func:`~tesla_lab.tn.contract.tt_contract`: each step reads its state and
    the core and writes its output, every step but the last also transposes that output (read + write), and the
    input is transposed once before the first step (when ``d > 1``). ``transposes=False``: the GEMMs only, as in the
    two-group contraction of :mod:`tesla_lab.tn.pair`.

    >>> factorized_memory((4, 4), (4, 4), (1, 2, 1), batch=1), factorized_memory((4, 4), (4, 4), (1, 2, 1), 1,
    ...                                                                         transposes=False)
    (256, 160)
    """
    steps = _factorized_steps(out_shape, in_shape, ranks, batch)
    gemms = sum([p * k * r + q * k + p * q * r for p, k, q, r in steps])
    if not transposes:
        return gemms
    moved = sum([2 * p * q * r for p, k, q, r in steps[:-1]])
    first = 2 * batch * math.prod(in_shape) if len(steps) > 1 else 0
    return gemms + moved + first


def dense_memory(out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], batch: int) -> int:
    """Tensor entries read plus written by rebuilding ``W`` (each merge: GEMM and permute) and the GEMM with x.

    >>> dense_memory((4, 4), (4, 4), (1, 2, 1), batch=1)
    1120
    """
    m, n = math.prod(out_shape), math.prod(in_shape)
    steps = _rebuild_steps(out_shape, in_shape, ranks)
    rebuild = sum([rows * r + r * cols + 3 * rows * cols for rows, r, cols in steps])
    return rebuild + batch * n + m * n + batch * m


# The cost model: FLOPs + MEMORY_WEIGHT * entries moved, and the factorized path's cost times FACTORIZED_OVERHEAD.
# Its GEMMs are thin (inner sizes r·n of 8..128) and bound by memory traffic, so they run less efficiently than one
# large GEMM. 64 FLOPs per entry is near the FLOP-per-float balance of an H100 in fp32 and of a CPU core.
MEMORY_WEIGHT = 64.0
FACTORIZED_OVERHEAD = 2.0


def _rebuild_cost(out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], lo: int, hi: int,
                  memory_weight: float) -> float:
    steps = _rebuild_steps(out_shape, in_shape, ranks, lo, hi)
    return sum([2 * rows * r * cols + memory_weight * (rows * r + r * cols + 3 * rows * cols)
                for rows, r, cols in steps])


def candidate_plans(d: int) -> list[Plan]:
    """The plans worth trying for ``d`` cores: dense, every core on its own, and 2 (and 3) merged groups.

    >>> [p.label for p in candidate_plans(4)]
    ['dense', 'factorized/4', 'factorized/2', 'factorized/3']
    """
    plans = [Plan("dense", 1), Plan("factorized", d)]
    plans += [Plan("factorized", g) for g in (2, 3) if g < d]
    return plans


def plan_cost(
    plan: Plan,
    out_shape: Sequence[int],
    in_shape: Sequence[int],
    ranks: Sequence[int],
    batch: int,
    *,
    cached_weight: bool = False,
    memory_weight: float = MEMORY_WEIGHT,
    factorized_overhead: float = FACTORIZED_OVERHEAD,
) -> float:
    """Estimated cost of ``plan`` (FLOPs + ``memory_weight`` · entries moved). ``cached_weight``: ``W`` and the merged
    cores are already built (inference with a cache), so each plan costs only its GEMMs (and transposes).

    >>> shape, ranks = (4, 4), (1, 2, 1)
    >>> plan_cost(Plan("dense", 1), shape, shape, ranks, 1, memory_weight=0) == dense_flops(shape, shape, ranks, 1)
    True
    """
    d = _check_shapes(out_shape, in_shape, ranks)
    m, n = math.prod(out_shape), math.prod(in_shape)
    if plan.path == "dense":
        gemm = 2 * batch * m * n + memory_weight * (batch * n + m * n + batch * m)
        return gemm if cached_weight else gemm + _rebuild_cost(out_shape, in_shape, ranks, 0, d, memory_weight)
    ranges = plan_ranges(plan, [a * b for a, b in zip(out_shape, in_shape)])
    outs = [math.prod(out_shape[lo:hi]) for lo, hi in ranges]
    ins = [math.prod(in_shape[lo:hi]) for lo, hi in ranges]
    rks = [ranks[lo] for lo, _ in ranges] + [ranks[d]]
    moved = factorized_memory(outs, ins, rks, batch, transposes=len(ranges) != 2)  # two groups: no transposes
    steps = factorized_flops(outs, ins, rks, batch) + memory_weight * moved
    if cached_weight:  # the merged cores are cached along with W
        return factorized_overhead * steps
    merge = sum([_rebuild_cost(out_shape, in_shape, ranks, lo, hi, memory_weight) for lo, hi in ranges])
    return factorized_overhead * steps + merge


def model_plan(
    out_shape: Sequence[int],
    in_shape: Sequence[int],
    ranks: Sequence[int],
    batch: int,
    *,
    cached_weight: bool = False,
    memory_weight: float = MEMORY_WEIGHT,
    factorized_overhead: float = FACTORIZED_OVERHEAD,
) -> Plan:
    """The candidate plan (:func:`candidate_plans`) with the lowest :func:`plan_cost` (the first on ties).

    >>> model_plan((2, 5), (3, 6), (1, 4, 1), batch=1)
    Plan(path='factorized', groups=2)
    """
    d = _check_shapes(out_shape, in_shape, ranks)
    costs = [
        (plan_cost(p, out_shape, in_shape, ranks, batch, cached_weight=cached_weight, memory_weight=memory_weight,
                   factorized_overhead=factorized_overhead), i, p)
        for i, p in enumerate(candidate_plans(d))
    ]
    return min(costs)[2]


def choose_path(
    out_shape: Sequence[int],
    in_shape: Sequence[int],
    ranks: Sequence[int],
    batch: int,
    *,
    memory_weight: float = MEMORY_WEIGHT,
    factorized_overhead: float = FACTORIZED_OVERHEAD,
) -> Literal["factorized", "dense"]:
    """The path (``'factorized'`` or ``'dense'``) of the model's best plan (:func:`model_plan`) for this batch size;
    ``memory_weight=0, factorized_overhead=1`` compares FLOPs only.

    >>> shape, ranks = (8, 4, 4, 8), (1, 8, 8, 8, 1)
    >>> choose_path(shape, shape, ranks, batch=8), choose_path(shape, shape, ranks, batch=4096)
    ('factorized', 'dense')
    >>> choose_path(shape, shape, ranks, batch=4096, memory_weight=0, factorized_overhead=1)
    'factorized'
    """
    plan = model_plan(out_shape, in_shape, ranks, batch, memory_weight=memory_weight,
                      factorized_overhead=factorized_overhead)
    return "factorized" if plan.path == "factorized" else "dense"
