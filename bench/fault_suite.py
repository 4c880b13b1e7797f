"""The fault and bad-input suite of issue #14: kill -9 during training and store writes, full disks, corrupt files,
fuzzed ``/predict`` requests and crafted dashboard uploads (the cases are in ``bench/fault_cases.py``). Prints one
row per case: faults tried, answered with a clear message, completed writes lost; exits 1 if any fault went
unanswered or anything was lost. Not part of ``make test`` (each case is unit-tested once in
``tests/bench/test_fault_cases.py``); takes 1-3 minutes.

    python bench/fault_suite.py                 # every case, seed 0
    python bench/fault_suite.py --kills 10 --seed 3 --only kill,disk
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fault_cases  # noqa: E402

CASES = ("kill", "disk", "corrupt", "predict", "upload")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kills", type=int, default=6, help="training processes killed (default 6)")
    parser.add_argument("--requests", type=int, default=120, help="fuzzed /predict bodies (default 120)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of damaged data files (default 2)")
    parser.add_argument("--only", default=",".join(CASES), help=f"comma-separated cases of {', '.join(CASES)}")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    chosen = [c.strip() for c in args.only.split(",") if c.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tesla-faults-") as tmp:
        work = Path(tmp)
        runners = {
            "kill": lambda: fault_cases.kill_during_training(work, rng, args.kills),
            "disk": lambda: fault_cases.disk_full(work, rng),
            "corrupt": lambda: fault_cases.corrupt_files(work, rng, args.rounds),
            "predict": lambda: fault_cases.fuzz_predict(work, rng, args.requests),
            "upload": lambda: fault_cases.crafted_uploads(work, rng),
        }
        for name in chosen:
            start = time.monotonic()
            outcome = runners[name]()
            rows.append((outcome, time.monotonic() - start))
            print(f"{outcome.case}: {outcome.answered}/{outcome.tried} answered, {outcome.lost} lost "
                  f"({rows[-1][1]:.0f} s)", file=sys.stderr, flush=True)
    print("\n| case | tried | answered clearly | writes lost | time |\n|---|---:|---:|---:|---:|")
    for outcome, seconds in rows:
        print(f"| {outcome.case} | {outcome.tried} | {outcome.answered} | {outcome.lost} | {seconds:.0f} s |")
    tried = sum(o.tried for o, _ in rows)
    answered = sum(o.answered for o, _ in rows)
    lost = sum(o.lost for o, _ in rows)
    print(f"| **all** | **{tried}** | **{answered}** | **{lost}** | {sum(s for _, s in rows):.0f} s |")
    for outcome, _ in rows:
        if outcome.counts:
            print(f"- {outcome.case}: " + ", ".join(f"{what} {n}" for what, n in outcome.counts.items()))
        for problem in outcome.problems:
            print(f"- {outcome.case}: {problem}")
    return 0 if answered == tried and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
