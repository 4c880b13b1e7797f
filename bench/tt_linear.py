"""TTLinear vs nn.Linear: forward + backward time and parameter count, measured side by side.

For each square layer size and batch size, one training step (forward, ``y.square().mean()``, backward to the
parameters and to the input, as for a hidden layer) is timed for ``nn.Linear`` and for ``TTLinear`` with its
automatic path (with ``--all-paths`` also forced to each path), interleaved (dense, tt, dense, tt, ...) so drift
in machine load hits both; medians are reported. On CUDA the timing uses CUDA events after a synchronize.
tensorly-torch's TT layer (``tltorch.FactorizedLinear``, factorization='blocktt') is timed too when it is importable
(it is not a dependency).
Goal on a GPU: TTLinear <= 1.0x the dense time with >= 20x fewer parameters.

    python bench/tt_linear.py                                   # CPU, small sizes, < 1 minute
    python bench/tt_linear.py --device cuda --sizes 1024 4096 --batches 32 512 4096 --all-paths [--compile]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from tesla_lab.nn.tt_linear import TTLinear


def step_fn(layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        y = layer(x)
        y.square().mean().backward()
        layer.zero_grad(set_to_none=True)
        x.grad = None

    return step


def time_ms(fn: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(device)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize(device)
        return start.elapsed_time(end)
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def bench_size(n: int, batches: list[int], rank: int, repeats: int, device: torch.device, dtype: torch.dtype,
               compile_: bool, all_paths: bool) -> None:
    dense = nn.Linear(n, n, device=device, dtype=dtype)
    tt = TTLinear(n, n, rank=rank, device=device, dtype=dtype)
    layers: dict[str, nn.Module] = {"dense": dense, "tt auto": tt}
    for path in ("factorized", "dense") if all_paths else ():
        forced = TTLinear(n, n, rank=rank, in_shape=tt.in_shape, out_shape=tt.out_shape, path=path,
                          device=device, dtype=dtype)
        layers[f"tt {path}"] = forced
    try:
        import tltorch  # noqa: PLC0415 - optional comparison, never a dependency

        layers["tltorch blocktt"] = tltorch.FactorizedLinear(
            in_tensorized_features=tt.in_shape, out_tensorized_features=tt.out_shape, factorization="blocktt",
            rank=rank, device=device, dtype=dtype,
        )
    except Exception:  # noqa: BLE001 - not installed, or an API that changed: just skip it
        pass
    params = {name: sum(p.numel() for p in layer.parameters()) for name, layer in layers.items()}
    print(f"\n{n}x{n}, rank {rank}: in_shape {tt.in_shape}, ranks {tt.ranks}; params dense {params['dense']:,}, "
          f"TT {params['tt auto']:,} ({params['dense'] / params['tt auto']:.0f}x fewer)")
    print(f"{'batch':>6}  {'layer':<16} {'ms':>9}  {'x dense':>8}  path")
    for batch in batches:
        x = torch.randn(batch, n, device=device, dtype=dtype, requires_grad=True)
        steps = {}
        for name, layer in layers.items():
            run = torch.compile(layer) if compile_ else layer
            steps[name] = step_fn(run, x)
            for _ in range(3):  # warm-up (and compilation)
                steps[name]()
        times: dict[str, list[float]] = {name: [] for name in layers}
        for _ in range(repeats):
            for name, step in steps.items():
                times[name].append(time_ms(step, device))
        med = {name: statistics.median(ts) for name, ts in times.items()}
        for name in layers:
            path = tt._path_by_batch.get(batch, "") if name == "tt auto" else ""
            print(f"{batch:>6}  {name:<16} {med[name]:>9.3f}  {med[name] / med['dense']:>7.2f}x  {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="square layer sizes (default by device)")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 512, 4096])
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per layer (default 5 CPU, 50 CUDA)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--tf32", action="store_true", help="allow TF32 matmuls on CUDA (both layers)")
    parser.add_argument("--compile", action="store_true", help="torch.compile every layer (both sides)")
    parser.add_argument("--all-paths", action="store_true", help="also time TTLinear forced to each path")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    sizes = args.sizes or ([1024, 4096] if device.type == "cuda" else [1024, 2048])
    repeats = args.repeats or (50 if device.type == "cuda" else 5)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"TTLinear vs nn.Linear, fwd+bwd, {args.dtype}, {name}, torch {torch.__version__}, "
          f"median of {repeats}{', compiled' if args.compile else ''}")
    torch.manual_seed(0)
    for n in sizes:
        bench_size(n, args.batches, args.rank, repeats, device, getattr(torch, args.dtype), args.compile,
                   args.all_paths)


if __name__ == "__main__":
    main()
