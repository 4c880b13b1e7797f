"""Apply a TT-matrix to a batch: the factorized path, the rebuild-then-GEMM path, and their cost estimates.

A TT-matrix ``W`` (M x N, ``M = prod(out_shape)``, ``N = prod(in_shape)``) is held as cores of shape
``(r_{k-1}, m_k, n_k, r_k)``; ``W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] @ ... @ G_d[:, i_d, j_d, :]`` with
row-major multi-indices, the same layout as ``nn.Linear.weight`` (out_features, in_features). For ``y = x @ W.T``:

* **dense**: rebuild ``W`` (about ``2·M·N·r`` FLOPs, batch independent) and run one GEMM (``2·B·M·N``);
* **factorized**: contract ``x`` with one core per step, each step a single (strided-batched) GEMM over the batch
  merged with every output mode already produced, on views of the previous step's output (no copies).

:func:`choose_path` picks the cheaper by a FLOP + memory-traffic estimate; small batches favour the factorized
path, large ones the dense path.

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
from typing import Any, Literal

import torch
import torch.nn.functional as F

from tesla_lab.errors import ConfigError, ShapeError

__all__ = [
    "tt_matrix_full",
    "tt_contract",
    "tt_linear",
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


def _split_point(sizes: Sequence[int]) -> int:
    """``h`` in 1..len-1 splitting the cores so both sides hold about as many matrix entries (``m_k n_k``)."""
    total = math.prod(sizes)
    best_h, best, left = 1, total, 1
    for h in range(1, len(sizes)):
        left *= sizes[h - 1]
        if max(left, total // left) < best:
            best_h, best = h, max(left, total // left)
    return best_h


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


class _ModeProduct(torch.autograd.Function):
    """``out[p] = c @ s[p]`` for ``c`` (Q, K) and ``s`` (P, K, R) -> (P, Q, R): one strided-batched GEMM with ``c``
    broadcast (batch stride 0), no copies.

    Autograd's own ``bmm(c.expand(P, Q, K), s)`` would materialise a (P, Q, K) gradient for ``c`` and sum it;
    here the gradient of ``c`` takes whichever is smaller: that (P, Q, K) product, or one copy each of the output
    gradient and ``s`` feeding a single GEMM over the merged (P, R) index.
    """

    @staticmethod
    def forward(ctx: Any, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(c, s)
        return torch.bmm(c.expand(s.shape[0], -1, -1), s)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        c, s = ctx.saved_tensors
        # Under autocast the forward ran in half precision while c and s may be float32: work in grad's dtype.
        c_, s_ = c.to(grad.dtype), s.to(grad.dtype)
        p, k, r = s.shape
        q = c.shape[0]
        grad_c = grad_s = None
        if ctx.needs_input_grad[1]:
            grad_s = torch.bmm(c_.t().expand(p, -1, -1), grad).to(s.dtype)  # (P, K, R)
        if ctx.needs_input_grad[0]:
            if q * k <= r * (q + k):
                grad_c = torch.bmm(grad, s_.transpose(1, 2)).sum(0)  # (P, Q, K) -> (Q, K)
            else:
                grad_c = torch.tensordot(grad, s_, dims=([0, 2], [0, 2]))  # (Q, K)
            grad_c = grad_c.to(c.dtype)
        return grad_c, grad_s


def tt_contract(x: torch.Tensor, cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """``x @ W.T`` without forming ``W``: x (B, N) -> (B, M), one GEMM per core and no copies of the batch data.

    Before step k the state is ``(B m_1..m_{k-1}, r_{k-1} n_k, n_{k+1}..n_d)`` =: (P, K, R), a view of the previous
    step's output. The core, as a (m_k r_k, r_{k-1} n_k) matrix, multiplies every ``state[p]`` in one batched GEMM
    (the core broadcast across the batch), giving ``(B m_1..m_{k-1}, m_k r_k, n_{k+1}..n_d)``, which *is* the next
    state after a reshape (a view). The last step (R = 1) is a plain GEMM and its rows ``(B, m_1..m_d)`` are ``y``.

    Traceable: under ``torch.jit.trace`` every reshape lets torch infer the batch-dependent size (``-1``), so a trace
    taken at one batch size runs at any other.

    >>> import torch
    >>> tt_contract(torch.ones(2, 6), [torch.ones(1, 1, 2, 2), torch.ones(2, 1, 3, 1)])
    tensor([[12.],
            [12.]])
    """
    tracing = torch.jit.is_tracing()
    in_shape = [int(c.shape[2]) for c in cores]
    # P = B m_1 .. m_{k-1}. In a trace a Python product of the example's batch size would be a constant: there -1
    # lets reshape infer P. Eager code keeps the ints, which also reshape empty modes (-1 is ambiguous with 0 entries).
    rows = -1 if tracing else x.shape[0]
    state = x
    for k, core in enumerate(cores):
        r, m, n, s = core.shape
        rest = math.prod(in_shape[k + 1 :])  # R = n_{k+1} .. n_d
        mat = core.permute(1, 3, 0, 2).reshape(m * s, r * n)  # (m_k r_k, r_{k-1} n_k): a copy of the small core
        if rest == 1:  # always so for the last core: a plain GEMM (P, r_{k-1} n_k) @ (r_{k-1} n_k, m_k r_k)
            state = state.reshape(rows, r * n) @ mat.t()
        elif tracing:  # TorchScript cannot save an autograd.Function (a Python call): matmul broadcasts the core
            state = torch.matmul(mat, state.reshape(rows, r * n, rest))  # (P, m_k r_k, R)
        else:
            state = _ModeProduct.apply(mat, state.reshape(rows, r * n, rest))  # (P, m_k r_k, R)
        if not tracing:
            rows *= m
    # rows (B, m_1 .. m_d), r_d = 1; in a trace x.shape[0] is recorded as the input's size, not a constant
    return state.reshape(x.shape[0], math.prod([int(c.shape[1]) for c in cores]))


def _check_path(path: str) -> str:
    if path not in PATHS:
        raise ConfigError(f"unknown contraction path {path!r}; choose one of: {', '.join(PATHS)}")
    return path


def tt_linear(
    x: torch.Tensor,
    cores: Sequence[torch.Tensor],
    bias: torch.Tensor | None = None,
    *,
    path: Path = "auto",
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """``x @ W.T + bias`` for a TT-matrix ``W`` given by ``cores``; ``x`` is (..., N), the result (..., M).

    ``path='auto'`` picks by :func:`choose_path` for the flattened batch size. ``weight``: ``W`` already rebuilt
    (a cache), used by the dense path instead of rebuilding it.

    Traceable: under ``torch.jit.trace``, ``'auto'`` fixes the path chosen for the example's batch size and every
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
    path = _check_path(path)
    in_shape = tuple([int(c.shape[2]) for c in cores])
    n = math.prod(in_shape)
    if x.ndim == 0 or x.shape[-1] != n:
        raise ShapeError(
            f"expected inputs with last dimension {n} (the product of in_shape {in_shape}); got shape {tuple(x.shape)}"
        )
    lead = x.shape[:-1]
    x2 = x.reshape(-1, n)
    if path == "auto":
        out_shape = tuple([int(c.shape[1]) for c in cores])
        ranks = (1, *[int(c.shape[-1]) for c in cores])
        rows = x2.shape[0]
        if torch.jit.is_tracing():
            # Sizes are traced tensors here. The rows only pick an implementation (both compute the same function)
            # and never enter the graph, so reading the example's value as a Python int is safe.
            rows = int(rows)
        path = choose_path(out_shape, in_shape, ranks, batch=rows)  # type: ignore[assignment]
    if path == "dense":
        y = F.linear(x2, tt_matrix_full(cores) if weight is None else weight, bias)
    else:
        y = tt_contract(x2, cores)
        if bias is not None:
            y = y + bias.to(y.dtype)  # under autocast y is half precision, as F.linear's output would be
    return y.reshape(*lead, y.shape[-1])


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


def factorized_memory(out_shape: Sequence[int], in_shape: Sequence[int], ranks: Sequence[int], batch: int) -> int:
    """Tensor entries read plus written by :func:`tt_contract` (each step reads its state, writes the next).

    >>> factorized_memory((4, 4), (4, 4), (1, 2, 1), batch=1)
    160
    """
    steps = _factorized_steps(out_shape, in_shape, ranks, batch)
    return sum([p * k * r + q * k + p * q * r for p, k, q, r in steps])


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
# Its GEMMs are thin (inner sizes r·n of 8..128) and batched, so they are bound by memory traffic and run less
# efficiently than one large GEMM: by FLOPs alone it looks cheaper at every batch size for 1024x1024 at rank 8, yet
# fwd+bwd measured on CPU is slower from batch ~64 on (4096x4096 at rank 8: from ~300). 64 FLOPs per entry is near
# the FLOP-per-float balance of an H100 in fp32 and of a CPU core; the overhead factor 2 fits those crossovers.
MEMORY_WEIGHT = 64.0
FACTORIZED_OVERHEAD = 2.0


def choose_path(
    out_shape: Sequence[int],
    in_shape: Sequence[int],
    ranks: Sequence[int],
    batch: int,
    *,
    memory_weight: float = MEMORY_WEIGHT,
    factorized_overhead: float = FACTORIZED_OVERHEAD,
) -> Literal["factorized", "dense"]:
    """The path with the lower estimated cost ``FLOPs + memory_weight · entries moved`` (the factorized one
    multiplied by ``factorized_overhead``) for this batch size; ``memory_weight=0, factorized_overhead=1`` compares
    FLOPs only.

    >>> shape, ranks = (8, 4, 4, 8), (1, 8, 8, 8, 1)
    >>> choose_path(shape, shape, ranks, batch=8), choose_path(shape, shape, ranks, batch=512)
    ('factorized', 'dense')
    >>> choose_path(shape, shape, ranks, batch=512, memory_weight=0, factorized_overhead=1)
    'factorized'
    """
    fact = factorized_flops(out_shape, in_shape, ranks, batch)
    fact += memory_weight * factorized_memory(out_shape, in_shape, ranks, batch)
    dense = dense_flops(out_shape, in_shape, ranks, batch)
    dense += memory_weight * dense_memory(out_shape, in_shape, ranks, batch)
    return "factorized" if factorized_overhead * fact < dense else "dense"
