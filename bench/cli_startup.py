"""Start-up time of the ``tesla`` command: ``tesla --help`` and ``tesla --version`` against a bare ``python -c pass``.

Each variant is a fresh interpreter (``subprocess``), as a user's shell starts it: ``python`` (the interpreter's own
floor), ``--version``, ``--help``, ``train --help`` and, for scale, ``import torch``. Rounds are interleaved and
rotated (hyperfine-like: warm-up runs first, then paired rounds so a busy neighbour slows every variant alike); the
report gives the median with the interquartile range per variant and the median per-round overhead over the bare
interpreter. Goal: ``--help`` and ``--version`` under 0.5 s.

    python bench/cli_startup.py                 # 15 rounds
    python bench/cli_startup.py --rounds 30 --no-torch
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

GOAL_S = 0.5


def variants(with_torch: bool) -> dict[str, list[str]]:
    py = sys.executable
    found = {
        "python": [py, "-c", "pass"],
        "tesla --version": [py, "-m", "tesla_lab.cli", "--version"],
        "tesla --help": [py, "-m", "tesla_lab.cli", "--help"],
        "tesla train --help": [py, "-m", "tesla_lab.cli", "train", "--help"],
    }
    if with_torch:
        found["python -c 'import torch'"] = [py, "-c", "import torch"]
    return found


def time_once(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - t0


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
    return q1, q2, q3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true", help="skip the 'import torch' reference")
    args = parser.parse_args(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmds = variants(not args.no_torch)
    names = list(cmds)
    for _ in range(args.warmup):  # fill the OS file cache and __pycache__
        for name in names:
            time_once(cmds[name], env)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate: no variant always runs first
        for name in order:
            times[name].append(time_once(cmds[name], env))
    print(f"{'variant':<28} {'median s':>9} {'IQR s':>15} {'over python s':>14}")
    for name in names:
        q1, med, q3 = quartiles(times[name])
        over = statistics.median(t - b for t, b in zip(times[name], times["python"]))
        print(f"{name:<28} {med:>9.3f} {f'{q1:.3f}-{q3:.3f}':>15} {over:>14.3f}")
    worst = max(statistics.median(times[n]) for n in ("tesla --help", "tesla --version"))
    verdict = "meets" if worst < GOAL_S else "MISSES"
    print(f"--help/--version median {worst:.3f} s {verdict} the {GOAL_S} s goal ({args.rounds} rounds, "
          f"python {sys.version.split()[0]})")
    return 0 if worst < GOAL_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
