"""TTLinear vs nn.Linear vs tensorly-torch (BlockTT), and tt_svd vs tensorly's TT-SVD, measured side by side.

Every case runs all implementations in paired, interleaved rounds (one call of each per round, the order rotating
each round), so machine load hits all of them alike; the table gives per-implementation median times and, for the
per-round ratios TT / peer, the median with the interquartile range. Fast calls are repeated inside one timing so
each timing lasts at least ~20 ms (CPU) / ~1 ms (CUDA, CUDA events after a synchronize). CPU threads are pinned
(``--threads``, default 1). TTLinear runs with ``path='auto'``: on first use it measures its candidate plans and
caches the winner (here in a fresh temporary cache folder unless ``--cache-dir``); that happens during warm-up.

tensorly-torch and tensorly are optional (``pip install 'tesla-lab[bench]'``); missing peers are skipped and said so.

    python bench/peers.py --quick                 # CPU subset, < 60 s
    python bench/peers.py                         # CPU: all layers (large batches only where they fit)
    python bench/peers.py --device cuda           # H200 run, < 120 s: all layers and batches 1/32/512/4096
    python bench/peers.py --device cuda --dtype bfloat16
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tesla_lab.nn.tt_linear import TTLinear  # noqa: E402
from tesla_lab.tn.decompose import tt_svd  # noqa: E402

# (in_features, out_features, rank): the layers
LAYERS = {"1024": (1024, 1024, 8), "4096": (4096, 4096, 16), "25088": (25088, 4096, 4)}
BATCHES = (1, 32, 512, 4096)
CPU_LIMIT = 512 * 4096 * 4096  # batch * in * out above this is left out on CPU unless --batches asks for it


def _peers() -> tuple[object | None, str]:
    try:
        import tltorch  # noqa: PLC0415 - optional peer
    except ImportError:
        return None, "tensorly-torch not installed: peer columns skipped (pip install 'tesla-lab[bench]')"
    return tltorch, f"tensorly-torch {getattr(tltorch, '__version__', '?')}"


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.floor = 1e-3 if self.cuda else 20e-3  # long timings: on a loaded CPU, short ones are bimodal

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def once(self, fn: Callable[[], None], inner: int) -> float:
        """Seconds per call of ``fn`` over ``inner`` back-to-back calls."""
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            self.sync()
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3 / inner
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        return (time.perf_counter() - t0) / inner

    def inner_count(self, fn: Callable[[], None]) -> int:
        t = self.once(fn, 1)
        return max(1, min(200, math.ceil(self.floor / max(t, 1e-7))))


def paired(fns: dict[str, Callable[[], None]], timer: Timer, rounds: int, budget: float) -> dict[str, list[float]]:
    """Per-round seconds of each fn: warm-up twice, then interleaved rounds with a rotating order. A peer that fails
    (e.g. no support for a dtype) is left out with a note."""
    for name, fn in list(fns.items()):
        try:
            fn()
            fn()
        except Exception as exc:  # noqa: BLE001 - a peer's failure must not stop the comparison
            if name in ("tt", "dense", "ours"):
                raise
            print(f"  ({name} failed and is left out: {type(exc).__name__}: {str(exc)[:120]})")
            del fns[name]
    timer.sync()
    inner = {name: timer.inner_count(fn) for name, fn in fns.items()}
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    for rnd in range(rounds):
        order = names[rnd % len(names):] + names[: rnd % len(names)]
        for name in order:
            times[name].append(timer.once(fns[name], inner[name]))
        if rnd >= 4 and time.perf_counter() - start > budget:
            break
    return times


def ratio(a: list[float], b: list[float] | None) -> str:
    if b is None:
        return "n/a"
    rs = [x / y for x, y in zip(a, b)]
    med = statistics.median(rs)
    q = statistics.quantiles(rs, n=4) if len(rs) >= 2 else [med, med, med]
    return f"{med:5.2f} [{q[0]:.2f}-{q[2]:.2f}]"


def layer_fns(layers: dict[str, nn.Module], x: torch.Tensor, train: bool) -> dict[str, Callable[[], None]]:
    fns = {}
    for name, layer in layers.items():
        if train:
            g = torch.ones(x.shape[0], layer(x).shape[-1], device=x.device, dtype=x.dtype)

            def step(layer: nn.Module = layer, g: torch.Tensor = g) -> None:
                layer(x).backward(g)
                x.grad = None
                for p in layer.parameters():
                    p.grad = None
        else:

            def step(layer: nn.Module = layer) -> None:
                with torch.no_grad():
                    layer(x)

        fns[name] = step
    return fns


def bench_layers(cases: list[tuple[str, int, str]], device: torch.device, dtype: torch.dtype, rounds: int,
                 budget: float, tltorch: object | None) -> None:
    timer = Timer(device)
    print(f"\n{'layer':<16} {'mode':<5} {'B':>5}  {'TT plan':<13} {'TT ms':>9} {'dense ms':>9}  {'TT/dense [IQR]':<19}"
          + ("  {:<19} {:<19}".format("TT/tl-fact [IQR]", "TT/tl-rec [IQR]") if tltorch else ""))
    built: dict[str, dict[str, nn.Module]] = {}
    for key, batch, mode in cases:
        fin, fout, rank = LAYERS[key]
        if key not in built:
            torch.manual_seed(0)
            tt = TTLinear(fin, fout, rank=rank, device=device, dtype=dtype)
            layers: dict[str, nn.Module] = {"tt": tt, "dense": nn.Linear(fin, fout, device=device, dtype=dtype)}
            if tltorch is not None:
                for impl in ("factorized", "reconstructed"):
                    layers[f"tl-{impl[:4]}"] = tltorch.FactorizedLinear(  # type: ignore[attr-defined]
                        in_tensorized_features=tt.in_shape, out_tensorized_features=tt.out_shape,
                        factorization="blocktt", rank=rank, implementation=impl, device=device, dtype=dtype)
            built = {key: layers}  # one layer size in memory at a time
        layers = built[key]
        x = torch.randn(batch, fin, device=device, dtype=dtype, requires_grad=mode == "train")
        times = paired(layer_fns(layers, x, mode == "train"), timer, rounds, budget)
        tt = layers["tt"]
        plan = tt.plans.get(batch, "?")  # type: ignore[union-attr]
        med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
        line = (f"{fout}x{fin} r{rank:<3} {mode:<5} {batch:>5}  {plan:<13} {med['tt']:>9.3f} {med['dense']:>9.3f}  "
                f"{ratio(times['tt'], times['dense']):<19}")
        if tltorch is not None:
            line += f"  {ratio(times['tt'], times.get('tl-fact')):<19} {ratio(times['tt'], times.get('tl-reco')):<19}"
        print(line, flush=True)


def smooth_cube(n: int = 100) -> torch.Tensor:
    g = torch.linspace(0, 1, n, dtype=torch.float64)
    x, y, z = torch.meshgrid(g, g, g, indexing="ij")
    return 1.0 / (0.05 + x + y + z)


def bench_svd(device: torch.device, rounds: int) -> None:
    a64 = smooth_cube().to(device)
    try:
        import tensorly as tl  # noqa: PLC0415 - optional peer
        from tensorly.decomposition import tensor_train  # noqa: PLC0415

        tl.set_backend("pytorch")
    except ImportError:
        tl = None
    print(f"\nTT-SVD of 1/(0.05+x+y+z) on a 100^3 grid, max_rank 6{'' if tl else ' (tensorly not installed: skipped)'}")
    print(f"{'dtype':<8} {'impl':<9} {'ranks':<13} {'rel. error':>10} {'ms':>9}  {'ours/tensorly [IQR]':<19}")
    timer = Timer(device)
    for dtype in (torch.float64, torch.float32):
        a = a64.to(dtype)
        ours = tt_svd(a, max_rank=6)
        fns = {"ours": lambda a=a: tt_svd(a, max_rank=6)}
        if tl is not None:
            fns["tensorly"] = lambda a=a: tensor_train(a, rank=[1, 6, 6, 1])
        times = paired(fns, timer, rounds, budget=5.0)
        name = str(dtype).removeprefix("torch.")
        vs = ratio(times["ours"], times.get("tensorly")) if tl else ""
        print(f"{name:<8} {'tesla':<9} {str(ours.ranks):<13} {ours.relative_error(a):>10.2e} "
              f"{statistics.median(times['ours']) * 1e3:>9.2f}  {vs}")
        if tl is not None and "tensorly" in times:
            factors = tensor_train(a, rank=[1, 6, 6, 1])
            err = float(torch.linalg.vector_norm(tl.tt_to_tensor(factors) - a) / torch.linalg.vector_norm(a))
            ranks = (1, *[int(f.shape[-1]) for f in factors])
            ms = statistics.median(times["tensorly"]) * 1e3
            print(f"{name:<8} {'tensorly':<9} {str(ranks):<13} {err:>10.2e} {ms:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="CPU subset, < 60 s")
    parser.add_argument("--gpu", action="store_true",
                        help="the CUDA run (also the default on CUDA): all layers and batches, < 120 s on an H200")
    parser.add_argument("--rounds", type=int, default=None, help="paired rounds per case (default 15 CPU, 10 CUDA)")
    parser.add_argument("--layers", nargs="+", choices=list(LAYERS), default=None)
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    parser.add_argument("--modes", nargs="+", choices=["train", "infer"], default=["train", "infer"])
    parser.add_argument("--no-svd", action="store_true", help="skip the TT-SVD comparison")
    parser.add_argument("--cache-dir", default=None, help="TTLinear plan cache (default: a fresh temporary folder)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but CUDA is not available")
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TESLA_CACHE_DIR", args.cache_dir or tempfile.mkdtemp(prefix="tesla-bench-"))
    dtype = getattr(torch, args.dtype)
    cuda = device.type == "cuda"
    rounds = args.rounds or (10 if cuda else 9 if args.quick else 15)
    budget = 1.5 if cuda else 2.0 if args.quick else 4.0  # seconds per case after 5 rounds
    if args.quick:
        cases = [("1024", b, m) for m in ("train", "infer") for b in (1, 32, 512)] + [("4096", 1, "infer")]
    else:
        layers = args.layers or list(LAYERS)
        batches = args.batches or list(BATCHES)
        cases = []
        for key, mode, batch in itertools.product(layers, args.modes, batches):
            fin, fout, _ = LAYERS[key]
            if not (cuda or args.batches) and batch * fin * fout > CPU_LIMIT:
                continue  # minutes per case on a CPU thread: only on request (--batches) or on CUDA
            cases.append((key, batch, mode))
    tltorch, peer_note = _peers()
    where = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"TTLinear vs nn.Linear vs tensorly-torch BlockTT; {args.dtype}, {where}, torch {torch.__version__}; "
          f"{peer_note}; ratios = per-round TT time / peer time, median [IQR]; train = fwd+bwd to x and weights")
    t0 = time.perf_counter()
    bench_layers(cases, device, dtype, rounds, budget, tltorch)
    if not args.no_svd:
        bench_svd(device, rounds=3 if args.quick else 5)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
