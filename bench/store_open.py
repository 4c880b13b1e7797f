"""Opening a store whose schema is current (the check every open makes) against the floor and a migration.

Variants, in one process, rounds interleaved and rotated so a busy neighbour slows each alike (threads pinned to 1):

* ``sqlite3 floor``: ``sqlite3.connect`` + ``PRAGMA user_version`` + close on the same file;
* ``open current``: ``Database(path)`` on a store at head (the version check only, no Alembic environment);
* ``create + migrate``: ``Database(new path)``: Alembic runs every revision (its import is paid once, before).

With ``--pg-url postgresql://...`` (an existing, current TESLA store) it adds ``PgDatabase(url)`` (a fresh
connection plus the version check). Report: median and interquartile range per variant. Goal: ``open current``
under 50 ms.

    python bench/store_open.py --rounds 30
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from itertools import count

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tesla_lab.store.db import Database  # noqa: E402

GOAL_MS = 50.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="tesla_bench_open_")
    path = os.path.join(folder, "current.db")
    Database(path).close()  # also pays the one-time SQLAlchemy/Alembic import
    ids = count()

    def floor() -> None:
        raw = sqlite3.connect(path)
        raw.execute("PRAGMA user_version").fetchone()
        raw.close()

    variants = {
        "sqlite3 floor": floor,
        "open current": lambda: Database(path).close(),
        "create + migrate": lambda: Database(os.path.join(folder, f"new{next(ids)}.db")).close(),
    }
    if args.pg_url:
        from tesla_lab.store.pg import PgDatabase

        variants["PgDatabase open current"] = lambda: PgDatabase(args.pg_url).close()
    names = list(variants)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            t0 = time.perf_counter()
            variants[name]()
            times[name].append((time.perf_counter() - t0) * 1e3)
    for name in names:
        q1, q2, q3 = statistics.quantiles(times[name], n=4)
        print(f"{name:26s} median {q2:8.2f} ms  IQR {q1:.2f}-{q3:.2f} ms")  # noqa: T201
    ok = statistics.median(times["open current"]) < GOAL_MS
    print(f"goal: open current < {GOAL_MS:.0f} ms: {'met' if ok else 'MISSED'}")  # noqa: T201
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
