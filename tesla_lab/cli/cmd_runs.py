"""``tesla runs``: the training runs of the project, newest first, with their lifecycle: status (a run whose
process died shows ``crashed``: opening the project checks), epochs done out of planned, and how often it was
resumed (``tesla train --resume RUN_ID``). ``--json`` has every column (``epochs_done``, ``resumed``, metrics,
params). Actions on one run: ``tesla runs tag RUN TAG... [--remove TAG...]``, ``tesla runs note RUN TEXT``,
``tesla runs archive RUN [--undo]`` (hidden from the list, kept; ``--archived`` lists them) and
``tesla runs delete RUN`` (its metrics and artifact files too; asks for a confirmation unless ``--yes``).

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
import sys

from tesla_lab.cli.output import fmt_seconds, out, records, table, to_json
from tesla_lab.cli.registry import common_options, get_project, register_command
from tesla_lab.errors import ConfigError

__all__: list[str] = []

# metric columns shown in the table when a run has them (everything is in --json)
_SHOWN = ("test_accuracy", "test_f1_macro", "test_r2", "test_rmse", "loss", "val_loss")


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=["queued", "running", "finished", "failed", "stopped", "crashed"])
    parser.add_argument("--limit", type=int, default=20, help="at most this many runs (default 20; 0 = all)")
    parser.add_argument("--json", action="store_true", help="every column (metrics, params) as JSON")
    parser.add_argument("--archived", action="store_true", help="also list archived runs")
    parser.set_defaults(run=_run)
    sub = parser.add_subparsers(dest="runs_command", metavar="ACTION")
    tag = sub.add_parser("tag", parents=[common_options()], help="add (or --remove) tags of a run")
    tag.add_argument("run_id", metavar="RUN", help="run id, id prefix or name")
    tag.add_argument("tags", nargs="*", metavar="TAG")
    tag.add_argument("--remove", nargs="+", default=[], metavar="TAG", help="tags to take off")
    tag.set_defaults(run=_tag)
    note = sub.add_parser("note", parents=[common_options()], help="set the note of a run ('' clears it)")
    note.add_argument("run_id", metavar="RUN")
    note.add_argument("text", help="the note (quote it)")
    note.set_defaults(run=_note)
    archive = sub.add_parser("archive", parents=[common_options()], help="hide a run from the list (kept)")
    archive.add_argument("run_id", metavar="RUN")
    archive.add_argument("--undo", action="store_true", help="bring an archived run back")
    archive.set_defaults(run=_archive)
    delete = sub.add_parser("delete", parents=[common_options()], help="delete a run with its metrics and artifacts")
    delete.add_argument("run_id", metavar="RUN")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for a confirmation")
    delete.set_defaults(run=_delete)


def _tag(args: argparse.Namespace) -> int:
    if not args.tags and not args.remove:
        raise ConfigError("tesla runs tag needs tags to add (tesla runs tag RUN baseline) or --remove TAG")
    project = get_project(args)
    run = project.get_run(args.run_id)
    tags = project.tag_run(run, add=args.tags, remove=args.remove)
    out(f"run {run.name} ({run.id[:8]}): tags {', '.join(tags) or '(none)'}")
    return 0


def _note(args: argparse.Namespace) -> int:
    project = get_project(args)
    run = project.get_run(args.run_id)
    project.note_run(run, args.text)
    out(f"run {run.name} ({run.id[:8]}): note {'set' if args.text.strip() else 'cleared'}")
    return 0


def _archive(args: argparse.Namespace) -> int:
    project = get_project(args)
    run = project.get_run(args.run_id)
    project.archive_run(run, archived=not args.undo)
    out(f"run {run.name} ({run.id[:8]}) " + ("is back in the list" if args.undo else
                                             "archived (tesla runs --archived lists it)"))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from tesla_lab.store.annotations import deletion_preview

    project = get_project(args)
    run = project.get_run(args.run_id)
    what = deletion_preview(run)
    summary = (f"run {run.name} ({run.id[:8]}): {what['metrics']} metric values, {what['artifacts']} artifacts "
               f"({what['bytes'] / 2**20:.1f} MiB)")
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"deleting {summary} needs a confirmation; pass --yes to delete without asking")
        answer = input(f"delete {summary}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            out("nothing deleted")
            return 1
    project.delete_run(run)
    kept = f"; {what['models']} registered model version(s) keep their file" if what["models"] else ""
    out(f"deleted {summary}{kept}")
    return 0


def _run(args: argparse.Namespace) -> int:
    frame = get_project(args).runs(status=args.status, archived=args.archived)
    if args.limit and args.limit > 0:
        frame = frame.head(args.limit)
    rows = records(frame)
    for row in rows:  # a column with a missing value is float in the frame: a version is a whole number (iris@1)
        if row.get("dataset_version") is not None:
            row["dataset_version"] = int(row["dataset_version"])
    if args.json:
        out(to_json(rows))
        return 0
    for row in rows:
        row["id"] = str(row["id"])[:8]
        row["tags"] = ", ".join(row.get("tags") or [])
        row["duration"] = fmt_seconds(row.get("duration"))  # --json keeps the seconds
        if row.get("dataset"):
            row["dataset"] = f"{row['dataset']}@{row['dataset_version']}"
        planned = row.get("param.epochs")
        row["epochs"] = f"{row['epochs_done']}/{int(planned)}" if isinstance(planned, (int, float)) \
            and planned == planned else str(row["epochs_done"])  # planned == planned: not NaN
    metrics = [c for c in _SHOWN if c in frame.columns]
    out(table(rows, ["id", "name", "status", "epochs", "resumed", "created", "duration", "dataset", *metrics, "tags"],
              empty="(no runs yet; start one with `tesla train -m NAME`)"))
    return 0


register_command("runs", "list training runs; tag, note, archive or delete one", configure=_configure, run=_run)
