"""Fixed setup cost of ``tesla.train``: time from the call to the first training step, vs a raw PyTorch setup.

Both sides start from the same 60k x 784 float32 NumPy features and int64 labels (MNIST-sized) and a small MLP:

- ``raw``: what a careful hand-written loop does before its first step: ``torch.from_numpy``, move X, y and the
  model to the device, build Adam, draw the epoch's permutation. No input checks.
- ``tesla``: ``tesla.train(model, X, y, ...)`` until its first epoch begins (a callback stops it there): argument
  checks, one dtype conversion, the move, the NaN/inf check, target checks and the shape probe.
- ``raw+pass``: the raw setup plus one ``aminmax(X)`` reduction (what tesla's NaN/inf check costs on clean data):
  the floor for any check that reads every value (one memory-bound pass over the data).
- ``raw+scan``: the raw setup plus the full ``isfinite(X).all()`` scan the NaN/inf check used to run, for scale.

Rounds are interleaved (raw, raw+pass, tesla, raw+scan, next round rotated), threads are pinned, and the
report gives medians with the interquartile range plus the median of the per-round ratios tesla / raw.

    python bench/train_setup.py                       # CPU, 1 thread
    python bench/train_setup.py --device cuda         # data starts in host memory, setup includes the copy
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import numpy as np
import torch

import tesla_lab as tesla
from tesla_lab.train import LambdaCallback


class _FirstStep(Exception):
    """Raised by the callback when training is about to take its first step."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def raw_setup(model: torch.nn.Module, X: np.ndarray, y: np.ndarray, device: torch.device, check: str = "") -> float:
    t0 = time.perf_counter()
    Xt = torch.from_numpy(X).to(device)
    yt = torch.from_numpy(y).to(device)
    if check == "scan":
        bool(torch.isfinite(Xt).all())
    elif check == "pass":
        torch.stack(torch.aminmax(Xt)).tolist()
    model.to(device)
    torch.optim.Adam(model.parameters(), lr=1e-3)
    torch.randperm(len(yt), device=device)
    _sync(device)
    return time.perf_counter() - t0


def tesla_setup(model: torch.nn.Module, X: np.ndarray, y: np.ndarray, device: torch.device) -> float:
    def first_step(trainer: object, epoch: int, logs: object = None) -> None:
        _sync(device)
        raise _FirstStep

    t0 = time.perf_counter()
    try:
        tesla.train(model, X, y, loss_fn="cross_entropy", epochs=1, batch_size=64, device=str(device),
                    callbacks=[LambdaCallback(on_epoch_begin=first_step)])
    except _FirstStep:
        pass
    return time.perf_counter() - t0


def _stats(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4)
    return f"median {statistics.median(xs) * 1e3:8.2f} ms  IQR [{q[0] * 1e3:7.2f}, {q[2] * 1e3:7.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.samples, args.features), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.int64)
    model = make_model()
    sides = {
        "raw": lambda: raw_setup(model, X, y, device),
        "raw+pass": lambda: raw_setup(model, X, y, device, "pass"),
        "tesla": lambda: tesla_setup(model, X, y, device),
        "raw+scan": lambda: raw_setup(model, X, y, device, "scan"),
    }
    for fn in sides.values():  # warm-up: first CUDA context, allocator, lazy imports
        fn()
    times: dict[str, list[float]] = {k: [] for k in sides}
    order = list(sides)
    for r in range(args.rounds):
        for key in order[r % len(order):] + order[:r % len(order)]:
            times[key].append(sides[key]())
    print(f"tesla.train fixed setup, {args.samples}x{args.features} float32 on {device} "
          f"({args.threads} thread(s), {args.rounds} interleaved rounds)")
    for key, xs in times.items():
        print(f"  {key:9s} {_stats(xs)}")
    for base in ("raw", "raw+pass"):
        extra = [(t - r) * 1e3 for t, r in zip(times["tesla"], times[base])]
        q = statistics.quantiles(extra, n=4)
        print(f"  tesla - {base:8s}: median {statistics.median(extra):7.2f} ms  IQR [{q[0]:.2f}, {q[2]:.2f}] (paired)")
    ratios = [s / t for t, s in zip(times["tesla"], times["raw+scan"])]
    print(f"  raw+scan / tesla: median {statistics.median(ratios):.1f}x (what the old full scan cost, in tesla setups)")


if __name__ == "__main__":
    main()
