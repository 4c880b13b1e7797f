"""``tesla store show``: which store the project uses (the SQLite file, or a PostgreSQL server by URL) and its
schema version. ``tesla store repair``: a new store for a project whose store.db is missing or empty,
re-registering the dataset snapshots it finds (see :mod:`tesla_lab.store.repair`).

>>> import tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp()
>>> main(["init", root]) == 0
... # doctest: +ELLIPSIS
created project ...
True
>>> main(["store", "show", "--project", root])  # doctest: +ELLIPSIS
store: sqlite file ...store.db (default)
schema version: ...
artifacts: ...artifacts
0
"""

from __future__ import annotations

import argparse

from tesla_lab.cli.output import out
from tesla_lab.cli.registry import common_options, register_command

__all__: list[str] = []


def _repair(args: argparse.Namespace) -> int:
    from tesla_lab.store.repair import repair_store

    report = repair_store(getattr(args, "project", None) or ".")
    if report.kept_aside is not None:
        out(f"kept the empty store as {report.kept_aside}")
    out(f"created a new store {report.store}")
    out(f"re-registered {report.datasets} dataset snapshot(s) as recovered-<hash> (rename them with tesla load); "
        f"{report.artifacts} artifact file(s) kept in place")
    for line in report.skipped:
        out(f"skipped {line}")
    out("runs, metrics and the model registry were only in the lost database: restore it from a backup for those")
    return 0 if not report.skipped else 1


def _show(args: argparse.Namespace) -> int:
    from tesla_lab.store import Project

    project = Project(getattr(args, "project", None) or ".")
    out(f"store: {project.location.describe()}")
    out(f"schema version: {project.db.schema_version}")
    out(f"artifacts: {project.location.artifacts}")
    return 0


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", parents=[common_options()],
                          help="which store the project uses (SQLite file or PostgreSQL URL) and its schema version")
    show.set_defaults(run=_show)
    repair = sub.add_parser("repair", parents=[common_options()],
                            help="new store for a project whose store.db is missing or empty; keeps every file")
    repair.set_defaults(run=_repair)


register_command("store", "the project's store: which one (show), maintenance (repair)", configure=_configure)
