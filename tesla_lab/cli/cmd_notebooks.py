"""``tesla run-notebook`` (a papermill batch run), ``tesla schedule add|list|remove|runs`` and ``tesla scheduler``.

Thin: parse the arguments, hand off to :mod:`tesla_lab.jobs.notebooks` and :mod:`tesla_lab.jobs.schedule`.

>>> import tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp(); _ = main(["init", root])  # doctest: +ELLIPSIS
created project ...
>>> main(["--project", root, "schedule", "list"])
(no schedules; add one with `tesla schedule add NAME --cron '*/30 * * * *' NOTEBOOK -p NAME VALUE`)
0
>>> main(["--project", root, "schedule", "add", "x", "--cron", "every day", "nb.ipynb"])  # error on stderr
1
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from tesla_lab.cli.output import err, out, records, table, to_json
from tesla_lab.cli.registry import common_options, get_project, register_command

__all__: list[str] = []


def _parameter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        dest="parameters", help="a notebook parameter; VALUE is read like papermill does (5 → int, "
                        "0.01 → float, True/False/None, else text)")
    parser.add_argument("-r", "--raw", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a notebook parameter kept as text")
    parser.add_argument("-y", "--yaml", metavar="YAML", help="parameters as a YAML mapping, for lists and dicts, "
                        "e.g. -y 'model: {hidden_sizes: [32]}'")


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    from tesla_lab.jobs.notebook_params import parse_parameters

    return parse_parameters([tuple(p) for p in args.parameters], raw=[tuple(p) for p in args.raw],
                            yaml_text=args.yaml)


# ----------------------------------------------------------------------------------------------- run-notebook
def _configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", help="the .ipynb file, e.g. notebooks/train.ipynb")
    _parameter_options(parser)
    parser.add_argument("--name", help="the run's name (default: the notebook's file name)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the executed notebook here (default: "
                        ".tesla/notebooks/); it is also stored with the run")
    parser.add_argument("-k", "--kernel", default=None, help="the Jupyter kernel (default: tesla-lab, registered on "
                        "first use)")
    parser.add_argument("--execution-timeout", type=float, default=6 * 3600.0, metavar="SECONDS",
                        help="seconds one cell may run (default: 6 hours)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="seconds the whole notebook may run (default: no limit)")
    parser.add_argument("--list-parameters", action="store_true",
                        help="show the parameters the notebook declares and exit")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _annotation(name: object) -> str | None:
    return None if name in (None, "", "None") else str(name)


def _run_notebook(args: argparse.Namespace) -> int:
    from tesla_lab.jobs import notebooks

    if args.list_parameters:
        declared = notebooks.notebook_parameters(args.notebook)
        # papermill's inferred type is the annotation (`epochs: int = 10`), the text "None" without one
        rows = [{"name": k, "default": v.get("default"), "type": _annotation(v.get("inferred_type_name")),
                 "help": v.get("help")} for k, v in declared.items()]
        typed = any(r["type"] is not None for r in rows)  # a column of dashes tells nothing: shown when any is typed
        out(to_json(rows) if args.json else table(rows, ["name", "default", *(["type"] if typed else []), "help"],
                                                  empty="(no cell tagged 'parameters')"))
        return 0
    parameters = _parameters(args)
    result = notebooks.run(args.notebook, parameters, project=get_project(args), name=args.name, output=args.output,
                           kernel=args.kernel or notebooks.KERNEL_NAME, execution_timeout=args.execution_timeout,
                           timeout=args.timeout, check=False)
    if args.json:
        out(to_json({"run_id": result.run_id, "status": result.status, "training_run_id": result.training_run_id,
                     "output": str(result.output), "error": result.error, "duration": result.duration}))
    else:
        training = f"; training run {result.training_run_id[:8]}" if result.training_run_id else ""
        out(f"notebook run {result.run_id[:8]} {result.status}{training}")
        out(f"executed notebook: {result.output} (artifact 'notebook.ipynb' of the run)")
    if not result.ok:
        first = (result.error or result.status).strip().splitlines()[0]
        err(f"error: notebook {result.notebook.name} {result.status}: {first}")
        return 1
    return 0


register_command("run-notebook", "run a parameterized notebook with papermill and record it as a run",
                 configure=_configure_run, run=_run_notebook)


# ---------------------------------------------------------------------------------------------------- schedule
def _add(args: argparse.Namespace) -> int:
    from tesla_lab.jobs.schedule_store import add_schedule

    schedule = add_schedule(get_project(args), args.name, args.cron, args.notebook, _parameters(args),
                            timezone=args.tz)
    first = datetime.fromtimestamp(schedule.next_time(schedule.created), timezone.utc)
    out(f"added schedule {schedule.name!r}: {schedule.cron} ({schedule.timezone}) runs {schedule.notebook}; "
        f"first run {first:%Y-%m-%d %H:%M} UTC")
    out("it fires while `tesla scheduler` runs")
    return 0


def _list(args: argparse.Namespace) -> int:
    from tesla_lab.jobs.schedule_store import schedules_frame

    rows = records(schedules_frame(get_project(args)))
    for row in rows:  # a schedule that never ran: no time rather than "NaT"
        row.update({k: None for k in ("next_run", "last_run") if row[k] in ("NaT", "")})
    if args.json:
        out(to_json(rows))
    else:
        out(table(rows, ["name", "cron", "timezone", "notebook", "parameters", "next_run", "last_run", "last_status"],
                  empty="(no schedules; add one with `tesla schedule add NAME --cron '*/30 * * * *' NOTEBOOK "
                        "-p NAME VALUE`)"))
    return 0


def _remove(args: argparse.Namespace) -> int:
    from tesla_lab.jobs.schedule_store import remove_schedule

    schedule = remove_schedule(get_project(args), args.name)
    out(f"removed schedule {schedule.name!r} and its execution history (its notebook runs stay in the store)")
    return 0


def _runs(args: argparse.Namespace) -> int:
    from tesla_lab.jobs.schedule_store import schedule_runs

    rows = records(schedule_runs(get_project(args), args.name))
    for row in rows:
        row["ended"] = None if row["ended"] in ("NaT", "") else row["ended"]
    if args.json:
        out(to_json(rows))
        return 0
    for row in rows:
        row["run_id"] = str(row["run_id"])[:8] if row["run_id"] else None
        row["error"] = str(row["error"]).strip().splitlines()[0][:80] if row["error"] else None
    out(table(rows, ["schedule", "scheduled_time", "status", "missed", "run_id", "error"],
              empty="(no executions yet)"))
    return 0


def _configure_schedule(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    common = [common_options()]
    p = sub.add_parser("add", help="run a notebook on a cron schedule", parents=common)
    p.add_argument("name", help="a unique name, e.g. nightly-train")
    p.add_argument("--cron", required=True, help="5 fields (minute hour day month weekday), e.g. '*/30 * * * *', "
                   "or @hourly / @daily / @weekly / @monthly")
    p.add_argument("--tz", default="UTC", help="the time zone of the cron times (IANA name; default UTC)")
    p.add_argument("notebook", help="the .ipynb file, e.g. notebooks/train.ipynb")
    _parameter_options(p)
    p.set_defaults(run=_add)
    p = sub.add_parser("list", help="the schedules with their next and last run", parents=common)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_list)
    p = sub.add_parser("remove", help="delete a schedule", parents=common)
    p.add_argument("name")
    p.set_defaults(run=_remove)
    p = sub.add_parser("runs", help="the executions of every (or one) schedule", parents=common)
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_runs)


register_command("schedule", "add, list and remove scheduled notebook runs", configure=_configure_schedule)


# --------------------------------------------------------------------------------------------------- scheduler
def _configure_scheduler(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="fire what is due now, then exit")
    parser.add_argument("--max-wait", type=float, default=30.0, metavar="SECONDS",
                        help="longest sleep between checks (new schedules are seen within it; default 30)")
    parser.add_argument("--execution-timeout", type=float, default=6 * 3600.0, metavar="SECONDS",
                        help="seconds one notebook cell may run (default: 6 hours)")


def _run_scheduler(args: argparse.Namespace) -> int:
    from tesla_lab.jobs.schedule import Scheduler

    scheduler = Scheduler(get_project(args), max_wait=args.max_wait, execution_timeout=args.execution_timeout)
    if not args.once:
        err(f"scheduler running for {scheduler.project.path} (Ctrl-C or SIGTERM to stop)")
    executions = scheduler.run(once=args.once)
    for e in executions:
        when = datetime.fromtimestamp(e.scheduled_time, timezone.utc)
        run = f" run {e.run_id[:8]}" if e.run_id else ""
        missed = f" ({e.missed} missed slot(s) coalesced)" if e.missed else ""
        out(f"{e.schedule} @ {when:%Y-%m-%d %H:%M} UTC: {e.status}{run}{missed}")
        if e.error:
            err(f"  {e.schedule}: {e.error.strip().splitlines()[0]}")
    if args.once and not executions:
        out("nothing due")
    return 0 if all(e.ok or e.status == "stopped" for e in executions) else 1


register_command("scheduler", "fire due notebook schedules (runs until stopped; --once for one pass)",
                 configure=_configure_scheduler, run=_run_scheduler)
