"""The two-group TT contraction: ``x @ W.T`` in two GEMMs without a transpose, with a hand-written backward.

When the cores are merged into two super-cores ``A`` (``1, M1, N1, S``) and ``C`` (``S, M2, N2, 1``),
``W[(i1, i2), (j1, j2)] = sum_s A[i1, j1, s] C[s, i2, j2]`` and, for a batch ``x`` viewed as ``(B, N1, N2)``:

1. ``T = x.view(B*N1, N2) @ c`` with ``c[j2, (s, i2)] = C[s, i2, j2]``: one GEMM over every row of the batch; its
   result, viewed as ``(B, N1*S, M2)``, already has ``(j1, s)`` adjacent;
2. ``y[b] = a @ T[b]`` with ``a = A.view(M1, N1*S)`` (no copy): one batched GEMM whose output *is* ``y`` laid out
   ``(B, M1*M2)``.

The general contraction (:func:`tesla_lab.tn.contract.contract_matrices`) instead transposes its whole state between
cores (and autograd transposes the gradient back); here neither pass exists. The backward reuses the forward's
``T`` and computes the four products directly (``dT = a.T @ dy`` per sample, ``dc = x.T @ dT``, ``dx = dT @ c.T``,
``da = sum_b dy[b] @ T[b].T``), skipping those an input does not need. On a CPU the large ``T`` and ``dT`` live in
buffers pooled per thread (a fresh multi-megabyte block page-faults on first write), given back when the backward is
done with them. Recomputing ``T`` in the backward instead of keeping it measured 1.1x slower at batch 512.

>>> import torch
>>> a, c = torch.randn(3, 2 * 4), torch.randn(5, 4 * 6)      # M1=3, N1=2, S=4, M2=6, N2=5
>>> x = torch.randn(7, 2 * 5)
>>> w = torch.einsum("ijs,tsk->ikjt", a.view(3, 2, 4), c.view(5, 4, 6)).reshape(3 * 6, 2 * 5)
>>> torch.allclose(pair_contract(x, a, c, (3, 2, 4, 6, 5)), x @ w.T, atol=1e-5)
True
"""

from __future__ import annotations

import math
import threading
from typing import Any

import torch

from tesla_lab.tn.autotune import _recording

__all__ = ["pair_contract", "PairDims"]

PairDims = tuple[int, int, int, int, int]  # (M1, N1, S, M2, N2)


def _first(x: torch.Tensor, c: torch.Tensor, dims: PairDims, out: torch.Tensor | None = None) -> torch.Tensor:
    """``T = x.view(B*N1, N2) @ c``: (B*N1, S*M2), which is (B, N1*S, M2) viewed; into ``out`` when given."""
    return torch.mm(x.reshape(-1, dims[4]), c, out=out)


def _forward(x: torch.Tensor, a: torch.Tensor, c: torch.Tensor, dims: PairDims,
             out: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y, T)``; ``T`` written into ``out`` when given."""
    m1, n1, s, m2, _ = dims
    b = x.shape[0]
    t = _first(x, c, dims, out)
    if b == 1:
        return torch.mm(a, t.view(n1 * s, m2)).view(1, m1 * m2), t
    y = torch.bmm(a.expand(b, m1, n1 * s), t.view(b, n1 * s, m2))  # (B, M1, M2)
    return y.view(b, m1 * m2), t


SUM_TEMP_LIMIT = 1 << 20  # entries of the (B, M1, N1*S) temporary a batched product may write before summing


def _batch_sum_mm(gy3: torch.Tensor, t3: torch.Tensor) -> torch.Tensor:
    """``sum_b gy3[b] @ t3[b].T``. One batched GEMM and a sum while its temporary stays small (and always on a GPU);
    on a CPU with a large temporary, accumulating GEMM by GEMM into one output measured up to 2x faster."""
    b, m1, k = gy3.shape[0], gy3.shape[1], t3.shape[1]
    if b == 1:
        return gy3[0] @ t3[0].T
    if gy3.device.type != "cpu" or b * m1 * k <= SUM_TEMP_LIMIT:
        return torch.bmm(gy3, t3.transpose(1, 2)).sum(0)
    out = gy3[0] @ t3[0].T
    for i in range(1, b):
        out.addmm_(gy3[i], t3[i].T)
    return out


WORKSPACE_MIN = 1 << 18  # entries from which a CPU buffer is pooled for reuse (fresh large blocks page-fault)
POOL_KEYS = 8  # buffer shapes kept per thread (a few layer shapes)
_local = threading.local()


def _take(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor | None:
    """A pooled buffer of ``shape`` (dtype and device of ``like``) for a large CPU result, else ``None`` (a fresh
    result: small ones are cheap, and a GPU's caching allocator already reuses memory).

    A fresh multi-megabyte block costs a page fault per 4 KiB on first write: at batch 512 on 1024x1024 that was about
    a third of the step. :class:`_PairContract` takes ``T`` here in the forward and ``dT`` in the backward, and gives
    both back (:func:`_give`) once its backward is done with them; a buffer is never handed out twice at once.
    """
    if like.device.type != "cpu" or math.prod(shape) < WORKSPACE_MIN:
        return None
    free = _pool().get((shape, like.dtype))
    return free.pop() if free else like.new_empty(shape)


def _pool() -> dict[tuple[Any, ...], list[torch.Tensor]]:
    """This thread's free buffers by ``(shape, dtype)``, least recently used first."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    return pool


def _give(buf: torch.Tensor) -> None:
    """Return a buffer from :func:`_take` to this thread's pool (at most two per shape, :data:`POOL_KEYS` shapes)."""
    pool = _pool()
    key = (tuple(buf.shape), buf.dtype)
    free = pool.pop(key, [])
    if len(free) < 2:
        free.append(buf)
    pool[key] = free  # most recently used last
    while len(pool) > POOL_KEYS:
        pool.pop(next(iter(pool)))


class _PairContract(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, a: torch.Tensor, c: torch.Tensor, dims: PairDims) -> torch.Tensor:
        device = x.device.type
        if torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device):
            # The backward runs outside autocast: compute (and save) in autocast's dtype so both passes agree;
            # autograd casts each gradient back to its input's dtype.
            low = torch.get_autocast_dtype(device)
            x, a, c = x.to(low), a.to(low), c.to(low)
        _, n1, s, m2, _ = dims
        b = x.shape[0]
        buf = _take((b * n1, s * m2), x) if b > 1 else None
        y, t = _forward(x, a, c, dims, out=buf)
        ctx.dims = dims
        ctx.save_for_backward(x, a, c)
        # T is an intermediate, kept on ctx (not saved): the backward gives a pooled T back to the pool and clears it;
        # a second backward of a retained graph recomputes it.
        ctx.t, ctx.pooled = t, buf is not None
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, gy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, a, c = ctx.saved_tensors
        m1, n1, s, m2, n2 = ctx.dims
        b = x.shape[0]
        t = ctx.t
        if t is None:  # a second backward through a retained graph
            t = _first(x, c, dims=ctx.dims)
        need_x, need_a, need_c = ctx.needs_input_grad[:3]
        gy3 = gy.reshape(b, m1, m2)
        gx = ga = gc = buf = None
        if need_a:  # da[i1, k] = sum over (b, i2) of dy[b, i1, i2] T[b, k, i2]: both sides laid out with b outermost
            ga = _batch_sum_mm(gy3, t.view(b, n1 * s, m2))
        if need_x or need_c:
            if b == 1:
                gt = torch.mm(a.T, gy3[0]).view(n1, s * m2)
            else:  # dT, laid out like T; a temporary, so on a CPU it goes into a pooled buffer
                buf = _take((b * n1, s * m2), x)
                gt = torch.bmm(a.T.expand(b, n1 * s, m1), gy3, out=None if buf is None else buf.view(b, n1 * s, m2))
                gt = gt.view(b * n1, s * m2)
            if need_c:
                gc = x.reshape(b * n1, n2).T @ gt
            if need_x:
                gx = (gt @ c.T).view(b, n1 * n2)
            if buf is not None:
                _give(buf)
        if ctx.pooled:
            ctx.t, ctx.pooled = None, False
            _give(t)
        return gx, ga, gc, None


def pair_contract(x: torch.Tensor, a: torch.Tensor, c: torch.Tensor, dims: PairDims) -> torch.Tensor:
    """``y`` (B, M1*M2) for ``x`` (B, N1*N2), left super-core ``a`` (M1, N1*S) and right one ``c`` (N2, S*M2).

    With autograd on (and no graph being recorded) one :class:`torch.autograd.Function` with the hand-written
    backward runs; otherwise the same two GEMMs run as plain ops, so ``torch.jit.trace``, ``torch.compile`` and ONNX
    export see ordinary operators.
    """
    if _recording():
        return _recorded(x, a, c, dims)
    if torch.is_grad_enabled() and (x.requires_grad or a.requires_grad or c.requires_grad):
        return _PairContract.apply(x.contiguous(), a, c, dims)
    return _forward(x, a, c, dims)[0]


def _recorded(x: torch.Tensor, a: torch.Tensor, c: torch.Tensor, dims: PairDims) -> torch.Tensor:
    """The same two products for a recorded graph: no Python branch on the batch size and no size computed from it,
    so a trace taken at one batch size runs at any other (ONNX MatMul broadcasts ``a`` over the batch)."""
    m1, n1, s, m2, _ = dims
    t = _first(x, c, dims).reshape(-1, n1 * s, m2)
    return torch.matmul(a, t).reshape(-1, m1 * m2)
