"""``tesla load`` (snapshot a file or sample as a dataset version) and ``tesla data list|versions|diff|rollback``.

>>> import os, tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp(); _ = main(["init", root])  # doctest: +ELLIPSIS
created project ...
>>> main(["--project", root, "load", "-d", "iris", "-o", "flowers"])
stored flowers v1: 150 rows x 5 columns (target: target)
0
>>> main(["--project", root, "data", "rollback", "flowers", "7"])  # error: ... has no version 7 (on stderr)
1
"""

from __future__ import annotations

import argparse
import dataclasses

from tesla_lab.cli.output import out, records, table, to_json
from tesla_lab.cli.registry import common_options, get_project, register_command

__all__: list[str] = []


# ------------------------------------------------------------------------------------------------------ load
def _configure_load(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--data", required=True, metavar="FILE|SAMPLE",
                        help="a .csv/.json/.parquet/... file or a sample name (iris, digits, wine, diabetes, ...)")
    parser.add_argument("-o", "--output", required=True, metavar="NAME", help="dataset name in the project")
    parser.add_argument("--target", help="the target column (remembered as the default for `tesla train`)")
    parser.add_argument("-m", "--message", default="", help="a note stored with the version")
    reading = parser.add_argument_group("reading the file")
    reading.add_argument("--encoding", help="text encoding of a CSV/JSON file (default utf-8), e.g. latin-1")
    reading.add_argument("--on-bad-lines", choices=["error", "skip", "warn"], default=None,
                         help="CSV rows with too many fields: error (default), skip or warn")
    reading.add_argument("--sep", help="CSV field separator (default ',', tab for .tsv)")
    reading.add_argument("--query", help="SQL query for a database file or URL")
    reading.add_argument("--table", help="table of a database file or URL to load whole")
    reading.add_argument("--inf-as-missing", action="store_true",
                         help="store infinite numbers as missing values (training fills them)")
    reading.add_argument("--trust", action="store_true",
                         help="allow loading a pickle (runs code from the file: only for files you made)")


def _reader_options(args: argparse.Namespace) -> dict[str, object]:
    """The reader options given on the command line (only those set)."""
    names = {"encoding": "encoding", "on_bad_lines": "on_bad_lines", "sep": "sep", "query": "query",
             "table": "table"}
    options: dict[str, object] = {key: getattr(args, attr) for attr, key in names.items()
                                  if getattr(args, attr, None) is not None}
    if getattr(args, "trust", False):
        options["trust"] = True
    return options


def _run_load(args: argparse.Namespace) -> int:
    from tesla_lab.workflow import dataset_target, load_dataset

    project = get_project(args)
    version = load_dataset(project, args.data, args.output, target=args.target, message=args.message,
                           options=_reader_options(args), inf_as_missing=args.inf_as_missing)
    target = dataset_target(project, version.name)
    note = f" (target: {target})" if target else " (target: last column unless --target is given to train)"
    out(f"stored {version.name} v{version.version}: {version.n_rows} rows x {version.n_cols} columns{note}")
    return 0


register_command("load", "load a file or sample into the project as a new dataset version",
                 configure=_configure_load, run=_run_load)


# ------------------------------------------------------------------------------------------------------ data
def _list(args: argparse.Namespace) -> int:
    frame = get_project(args).datasets.list_datasets()
    if args.json:
        out(to_json(records(frame)))
    else:
        out(table(records(frame), ["name", "head", "versions", "n_rows", "n_cols", "updated"],
                  empty="(no datasets yet; add one with `tesla load -d FILE -o NAME`)"))
    return 0


def _versions(args: argparse.Namespace) -> int:
    frame = get_project(args).datasets.versions(args.name)
    rows = records(frame)
    if args.json:
        out(to_json(rows))
        return 0
    for row in rows:
        row["head"] = "*" if row["head"] else ""
        row["sha256"] = str(row["sha256"])[:12]
    out(table(rows, ["version", "head", "n_rows", "n_cols", "created", "message", "source", "sha256"]))
    return 0


def _diff(args: argparse.Namespace) -> int:
    diff = get_project(args).datasets.diff(args.name, args.v1, args.v2)
    out(to_json({**dataclasses.asdict(diff), "changed": diff.changed}) if args.json else str(diff))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    project = get_project(args)
    before = project.datasets.head(args.name).version
    version = project.datasets.rollback(args.name, args.version)
    out(f"{version.name}: head is now v{version.version} (was v{before}); no snapshot was deleted")
    return 0


def _configure_data(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    common = [common_options()]
    p = sub.add_parser("list", help="every dataset with its head version", parents=common)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_list)
    p = sub.add_parser("versions", help="the versions of one dataset", parents=common)
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_versions)
    p = sub.add_parser("diff", help="rows and columns changed between two versions", parents=common)
    p.add_argument("name")
    p.add_argument("v1", type=int)
    p.add_argument("v2", type=int)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_diff)
    p = sub.add_parser("rollback", help="make an older version the head again (nothing is deleted)", parents=common)
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.set_defaults(run=_rollback)


register_command("data", "list, compare and roll back dataset versions", configure=_configure_data)
