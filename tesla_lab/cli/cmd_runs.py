"""``tesla runs``: the training runs of the project, newest first, with their lifecycle: status (a run whose
process died shows ``crashed``: opening the project checks), epochs done out of planned, and how often it was
resumed (``tesla train --resume RUN_ID``). ``--json`` has every column (``epochs_done``, ``resumed``, metrics,
params).

>>> import tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp(); _ = main(["init", root])  # doctest: +ELLIPSIS
created project ...
>>> main(["--project", root, "runs", "--json"])
[]
0
"""

from __future__ import annotations

import argparse

from tesla_lab.cli.output import out, records, table, to_json
from tesla_lab.cli.registry import get_project, register_command

__all__: list[str] = []

# metric columns shown in the table when a run has them (everything is in --json)
_SHOWN = ("test_accuracy", "test_f1_macro", "test_r2", "test_rmse", "loss", "val_loss")


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=["queued", "running", "finished", "failed", "stopped", "crashed"])
    parser.add_argument("--limit", type=int, default=20, help="at most this many runs (default 20; 0 = all)")
    parser.add_argument("--json", action="store_true", help="every column (metrics, params) as JSON")


def _run(args: argparse.Namespace) -> int:
    frame = get_project(args).runs(status=args.status)
    if args.limit and args.limit > 0:
        frame = frame.head(args.limit)
    rows = records(frame)
    if args.json:
        out(to_json(rows))
        return 0
    for row in rows:
        row["id"] = str(row["id"])[:8]
        if row.get("dataset"):
            row["dataset"] = f"{row['dataset']}@{row['dataset_version']}"
        planned = row.get("param.epochs")
        row["epochs"] = f"{row['epochs_done']}/{int(planned)}" if isinstance(planned, (int, float)) \
            and planned == planned else str(row["epochs_done"])  # planned == planned: not NaN
    metrics = [c for c in _SHOWN if c in frame.columns]
    out(table(rows, ["id", "name", "status", "epochs", "resumed", "created", "duration", "dataset", *metrics],
              empty="(no runs yet; start one with `tesla train -m NAME`)"))
    return 0


register_command("runs", "list training runs with their status and metrics", configure=_configure, run=_run)
