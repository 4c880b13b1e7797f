"""Block-sparse attention: each query block attends only to the key blocks its score mask touches.

A (T, T) boolean score mask is cut into tiles of ``block x block``. :func:`block_layout` lists, for every query
block, the key blocks holding at least one allowed pair (``K`` of them at most, padded with masked tiles) and the
element mask inside them. :func:`block_sparse_attention` then gathers those key/value blocks,
(B, H, nq, K * block, D), and runs :func:`torch.nn.functional.scaled_dot_product_attention` per query block with the
gathered element mask: the work is ``T * K * block`` score entries instead of ``T * T``, and the result equals dense
masked attention (same softmax over the same allowed keys; only the summation order differs). It runs on any
device and differentiates with autograd; ``torch.nn.attention.flex_attention`` does the same with fused kernels,
but on the CPU it needs ``torch.compile`` (a C++ toolchain and seconds of compilation per shape).

>>> import torch
>>> mask = (torch.arange(8)[:, None] - torch.arange(8)[None, :]).abs() <= 1  # band of width 3
>>> layout = block_layout(mask, 2)
>>> layout.key_blocks.tolist()  # query block i reads key blocks i - 1, i, i + 1 (0 pads the first row)
[[0, 1, 0], [0, 1, 2], [1, 2, 3], [2, 3, 0]]
>>> q = k = v = torch.randn(1, 1, 8, 4)
>>> out = block_sparse_attention(q, k, v, layout)
>>> bool(torch.allclose(out, torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-6))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["BlockLayout", "block_layout", "choose_block", "block_sparse_attention"]

BLOCK_SIZES = (16, 32, 64, 128)
"""Tile sizes :func:`choose_block` tries."""
TILE_OVERHEAD = 512
"""Fixed cost of one gathered tile, in score entries (fitted on the CPU, float32, head_dim 32)."""


@dataclass(frozen=True)
class BlockLayout:
    """Which key blocks each query block reads, and the element mask inside them.

    ``key_blocks``: (nq, K) int64 key-block indices; ``mask``: (nq, block, K * block) bool; ``seq_len``: T;
    ``block``: tile size. Positions past T (padding to whole blocks) attend only to themselves, so no softmax row
    is empty (an empty row would give NaN and poison the gradients of the real keys).
    """

    key_blocks: torch.Tensor
    mask: torch.Tensor
    seq_len: int
    block: int

    @property
    def cost(self) -> int:
        """Estimated work in score entries: each tile costs ``block ** 2`` plus ~512 entries of fixed overhead
        (gather, launch, softmax bookkeeping; fitted on the CPU)."""
        nq, k = self.key_blocks.shape
        return nq * k * (self.block * self.block + TILE_OVERHEAD)

    @property
    def density(self) -> float:
        """Computed score entries (gathered tiles) over ``T * T``."""
        nq, k = self.key_blocks.shape
        return nq * k * self.block * self.block / (self.seq_len * self.seq_len)


def _padded(mask: torch.Tensor, block: int) -> torch.Tensor:
    t = mask.shape[0]
    tp = -(-t // block) * block
    if tp == t:
        return mask
    out = torch.zeros(tp, tp, dtype=torch.bool, device=mask.device)
    out[:t, :t] = mask
    pad = torch.arange(t, tp, device=mask.device)
    out[pad, pad] = True  # padded queries attend to their own padded key: no empty softmax row
    return out


def block_layout(mask: torch.Tensor, block: int) -> BlockLayout:
    """The :class:`BlockLayout` of a (T, T) bool score mask for tiles of ``block``.

    >>> mask = torch.ones(4, 4, dtype=torch.bool).tril()
    >>> block_layout(mask, 2).key_blocks.tolist(), block_layout(mask, 2).density
    ([[0, 0], [0, 1]], 1.0)
    """
    t = mask.shape[0]
    full = _padded(mask, block)
    n = full.shape[0] // block
    tiles = full.view(n, block, n, block).permute(0, 2, 1, 3)  # (nq, nk, block, block)
    used = tiles.any(dim=-1).any(dim=-1)  # (nq, nk)
    k = max(int(used.sum(dim=1).max()), 1)
    # used key blocks first, in increasing order (a stable sort of "not used"), then unused ones as masked padding
    order = torch.sort((~used).to(torch.uint8), dim=1, stable=True).indices[:, :k]  # (nq, K)
    valid = used.gather(1, order)  # (nq, K)
    key_blocks = torch.where(valid, order, torch.zeros_like(order))
    rows = torch.arange(n, device=mask.device)[:, None]
    inner = tiles[rows, key_blocks] & valid[:, :, None, None]  # (nq, K, block, block)
    inner = inner.permute(0, 2, 1, 3).reshape(n, block, k * block)  # (nq, block, K * block)
    return BlockLayout(key_blocks=key_blocks, mask=inner, seq_len=t, block=block)


def choose_block(mask: torch.Tensor, sizes: tuple[int, ...] = BLOCK_SIZES) -> BlockLayout:
    """The layout of least :attr:`BlockLayout.cost` (ties: the smaller tile, less wasted work).

    >>> band = (torch.arange(256)[:, None] - torch.arange(256)[None, :]).abs() <= 7
    >>> choose_block(band).block
    16
    """
    best: BlockLayout | None = None
    for size in sizes:
        if size > mask.shape[0] and best is not None:
            break
        layout = block_layout(mask, size)
        if best is None or layout.cost < best.cost:
            best = layout
    assert best is not None  # sizes is never empty
    return best


def block_sparse_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: BlockLayout,
                           dropout_p: float = 0.0) -> torch.Tensor:
    """Masked attention of (B, H, T, D) ``q``, ``k``, ``v`` computing only the tiles of ``layout``; (B, H, T, D).

    Equals ``scaled_dot_product_attention(q, k, v, attn_mask=mask)`` for the mask the layout was built from.
    """
    b, h, t, d = q.shape
    blk = layout.block
    n = layout.key_blocks.shape[0]
    pad = n * blk - t
    if pad:
        q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))  # (B, H, Tp, D)
    qb = q.reshape(b * h, n, blk, d)  # (BH, nq, block, D)
    kb = k.reshape(b * h, n, blk, d)[:, layout.key_blocks]  # (BH, nq, K, block, D)
    vb = v.reshape(b * h, n, blk, d)[:, layout.key_blocks]
    kb = kb.reshape(b * h, n, -1, d)  # (BH, nq, K * block, D)
    vb = vb.reshape(b * h, n, -1, d)
    if q.device.type == "cpu":
        # Plain matmul/softmax: on the CPU ~10 % faster than SDPA's kernel for these small tiles (fwd+bwd).
        scores = (qb @ kb.transpose(-1, -2)) * (d ** -0.5)  # (BH, nq, block, K * block)
        probs = scores.masked_fill(~layout.mask, float("-inf")).softmax(dim=-1)
        if dropout_p > 0.0:
            probs = F.dropout(probs, dropout_p)
        out = probs @ vb  # (BH, nq, block, D)
    else:  # fused kernels
        out = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=layout.mask, dropout_p=dropout_p)
    out = out.reshape(b, h, n * blk, d)
    return out[:, :, :t] if pad else out
