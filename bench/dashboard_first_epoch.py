"""Train click to first epoch in the dashboard: a cold worker process vs the dashboard's warm worker.

What the Train button does (``WorkbenchState.launch``: the digits sample, the default model the Model tab builds,
a Dense layer with a TT weight, 32 units) is timed until the run's first epoch is in the store (what the Train page
shows on its next poll, every second):

- ``cold``: ``python -m tesla_lab.jobs.worker`` is started for the run (imports torch and the workflow first).
- ``warm``: the run is handed to the idle warm worker (:mod:`tesla_lab.jobs.warm`) the dashboard keeps; it is
  waited for until it is ready (its imports done), as it is a few seconds after the dashboard started.

Rounds are interleaved (cold, warm, next round rotated); each worker runs with ``OMP_NUM_THREADS`` /
``torch.set_num_threads`` left at their defaults, as the dashboard starts them. The report gives the median and
the interquartile range of each, and the median of the per-round ratios cold / warm.

    python bench/dashboard_first_epoch.py --rounds 5
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path


def _first_epoch(bench, timeout: float = 120.0) -> tuple[float, float]:
    """Seconds from the launch to the first epoch's metrics in the store, and the first epoch's own training time
    (what no warm-up can save); stops the run then."""
    started = time.monotonic()
    job = bench.launch()
    if job is None:
        raise RuntimeError(bench.error)
    while job.run.metrics().empty:
        if time.monotonic() - started > timeout or not job.is_alive():
            raise RuntimeError(f"no first epoch after {timeout:.0f} s:\n{job.log_tail()}")
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    metrics = job.run.metrics()
    epoch = metrics[metrics["key"] == "epoch_time"]["value"]
    job.stop(grace=5.0)
    job.wait(60)
    bench.train.poll()  # the Train page's next poll: the run ended, the next launch may start
    return elapsed, float(epoch.iloc[0]) if len(epoch) else float("nan")


def _wait_ready(project, pid: int, timeout: float = 120.0) -> None:
    """Block until warm worker ``pid`` said it is ready (its imports are done)."""
    from tesla_lab.jobs.warm import WARM_LOG

    log = Path(project.db.path.parent) / "jobs" / WARM_LOG
    deadline = time.monotonic() + timeout
    while f"warm worker {pid} ready" not in (log.read_text(errors="replace") if log.exists() else ""):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the warm worker {pid} was not ready after {timeout:.0f} s")
        time.sleep(0.05)


def _quartiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.2f} s"
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return f"median {statistics.median(values):.2f} s (IQR {q1:.2f}-{q3:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ["TESLA_DEMO_DIR"] = tempfile.mkdtemp(prefix="tesla-bench-demo-")

    from tesla_lab.jobs import warm
    from tesla_lab.ui.project import open_project
    from tesla_lab.ui.state.workbench import WorkbenchState

    project = open_project(None, start=tempfile.mkdtemp())
    bench = WorkbenchState(project, sample="digits")
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    epochs: list[float] = []
    for i in range(args.rounds):
        order = ("cold", "warm") if i % 2 == 0 else ("warm", "cold")
        for mode in order:
            if mode == "warm":
                _wait_ready(project, warm.keep_warm(project))
            else:
                warm.shutdown(project)
            elapsed, epoch = _first_epoch(bench)
            times[mode].append(elapsed)
            epochs.append(epoch)
        warm.shutdown(project)
        print(f"round {i + 1}: cold {times['cold'][-1]:.2f} s, warm {times['warm'][-1]:.2f} s", flush=True)
    ratios = [c / w for c, w in zip(times["cold"], times["warm"])]
    print(f"\nTrain click -> first epoch in the store, digits model, {os.cpu_count()} CPUs, {args.rounds} rounds:")
    for mode in ("cold", "warm"):
        print(f"  {mode}: {_quartiles(times[mode])}")
    print(f"  cold / warm: median {statistics.median(ratios):.1f}x")
    print(f"  of which the first epoch's own training: {_quartiles(epochs)}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
