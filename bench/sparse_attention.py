"""Block-sparse attention vs dense attention, forward + backward, at about 3 % mask density.

For each case the same q, k, v (B, H, T, D) go through three sides, in interleaved rounds (order rotated each round):

- ``sparse``: the path :class:`tesla_lab.nn.SparseAttention` takes for the mask (block-sparse tiles, or dense SDPA
  when that is cheaper; the plan is built once, as the layer caches it);
- ``dense-masked``: ``scaled_dot_product_attention(q, k, v, attn_mask=mask)``, the same result computed densely;
- ``dense``: ``scaled_dot_product_attention(q, k, v)`` with no mask (full attention, fused kernels).

Each timing is one forward + ``backward`` of ``out.sum()``. Reported: median time and IQR per side, and the median
(IQR) of the per-round ratios dense-masked / sparse and dense / sparse. Threads are pinned; CPU sides are timed in
process CPU time (other jobs on a shared machine do not inflate it), CUDA sides in wall time around synchronisation.

    python bench/sparse_attention.py                         # CPU: T = 1024 and 4096
    python bench/sparse_attention.py --device cuda           # H200: about 20 s
    python bench/sparse_attention.py --lengths 1024 --rounds 9

flex_attention is not a side: in torch 2.13 it has no backward on the CPU (eager or compiled:
"FlexAttention does not support backward on CPU").
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from tesla_lab.nn import SparseAttention
from tesla_lab.nn.block_sparse import block_sparse_attention


def _cases(t: int) -> list[tuple[str, dict[str, int | str]]]:
    window = round(0.03 * t / 2)  # band of 2w+1 keys: ~3 % of T
    block = 2 ** round(torch.log2(torch.tensor(0.031 * t)).item())  # block-diagonal tiles: block / T ~ 3 %
    return [(f"local w={window}", {"attention_type": "local", "window": window}),
            (f"block b={block}", {"attention_type": "block", "block_size": block})]


def _clock(device: torch.device) -> Callable[[], float]:
    return time.process_time if device.type == "cpu" else time.perf_counter


def _step(fn: Callable[[], torch.Tensor], device: torch.device, clock: Callable[[], float]) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = clock()
    fn().sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return clock() - t0


def _iqr(xs: list[float], scale: float = 1.0, fmt: str = ".2f") -> str:
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return f"{statistics.median(xs) * scale:{fmt}} [{q[0] * scale:{fmt}}, {q[2] * scale:{fmt}}]"


def run_case(name: str, kw: dict[str, int | str], t: int, args: argparse.Namespace, device: torch.device) -> None:
    dtype = getattr(torch, args.dtype)
    layer = SparseAttention(args.heads * args.head_dim, args.heads, **kw)  # type: ignore[arg-type]
    mask, layout = layer._mask(t, device)
    batch = args.batch if t <= 1024 else max(1, args.batch // 4)
    gen = torch.Generator(device=device).manual_seed(0)
    q, k, v = (torch.randn(batch, args.heads, t, args.head_dim, device=device, dtype=dtype, generator=gen,
                           requires_grad=True) for _ in range(3))
    if layout is not None:
        sparse = lambda: block_sparse_attention(q, k, v, layout)  # noqa: E731
    else:
        sparse = lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # noqa: E731
    sides: dict[str, Callable[[], torch.Tensor]] = {
        "sparse": sparse,
        "dense-masked": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        "dense": lambda: F.scaled_dot_product_attention(q, k, v),
    }
    clock = _clock(device)
    for fn in sides.values():  # warm-up
        _step(fn, device, clock)
    times: dict[str, list[float]] = {key: [] for key in sides}
    order = list(sides)
    rounds = args.rounds if t <= 1024 else max(3, args.rounds // 3)
    for r in range(rounds):
        for key in order[r % 3:] + order[:r % 3]:
            times[key].append(_step(sides[key], device, clock))
        for x in (q, k, v):
            x.grad = None
    density = float(mask.float().mean()) if mask is not None else 1.0
    plan = f"tiles of {layout.block}, {layout.density:.1%} computed" if layout is not None else "dense SDPA"
    print(f"T={t} {name}: mask density {density:.1%} ({plan}); B={batch} H={args.heads} D={args.head_dim} "
          f"{args.dtype}, {rounds} rounds")
    for key, xs in times.items():
        print(f"  {key:13s} {_iqr(xs, 1e3)} ms")
    for base in ("dense-masked", "dense"):
        ratios = [b / s for b, s in zip(times[base], times["sparse"])]
        print(f"  {base} / sparse: {_iqr(ratios, fmt='.2f')}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} thread(s)")
    for t in args.lengths:
        for name, kw in _cases(t):
            run_case(name, kw, t, args, device)


if __name__ == "__main__":
    main()
