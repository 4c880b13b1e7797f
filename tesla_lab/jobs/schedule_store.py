"""Stored notebook schedules: the :class:`Schedule` record and adding, listing, reading and removing schedules in
the project store (table ``schedules``), plus the listings of schedules and of their executions (table
``schedule_runs``) as DataFrames. :class:`~tesla_lab.jobs.schedule.Scheduler` fires them.

>>> import tempfile
>>> project = Project.init(tempfile.mkdtemp())
>>> list_schedules(project), len(schedule_runs(project))
([], 0)
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError
from tesla_lab.jobs import notebooks
from tesla_lab.jobs.cron import _zone, check_cron, latest_slot, next_time
from tesla_lab.store import NotFoundError, Project
from tesla_lab.store.runs import from_json, to_json, to_timestamps

__all__ = [
    "Schedule",
    "add_schedule",
    "get_schedule",
    "list_schedules",
    "remove_schedule",
    "schedules_frame",
    "schedule_runs",
]

logger = logging.getLogger(__name__)

_SCHEDULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")



@dataclass(frozen=True)
class Schedule:
    """One stored schedule: run ``notebook`` with ``parameters`` at every slot of ``cron`` (in ``timezone``).

    ``notebook`` is stored relative to the project folder when it lies inside it (use :meth:`notebook_path`).

    >>> s = Schedule(name="nightly", cron="0 3 * * *", notebook="notebooks/train.ipynb", parameters={"epochs": 5})
    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc).timestamp()
    >>> datetime.fromtimestamp(s.next_time(t), timezone.utc).isoformat()
    '2024-01-02T03:00:00+00:00'
    """

    name: str
    cron: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    enabled: bool = True
    created: float = 0.0
    id: int | None = None

    def next_time(self, after: float) -> float:
        """The first slot strictly after ``after`` (Unix seconds)."""
        return next_time(self.cron, after, self.timezone)

    def latest_slot(self, now: float) -> float:
        """The most recent slot at or before ``now``."""
        return latest_slot(self.cron, now, self.timezone)

    def notebook_path(self, project: Project) -> Path:
        """The notebook's absolute path."""
        path = Path(self.notebook)
        return path if path.is_absolute() else project.path / path

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Schedule:
        return cls(name=row["name"], cron=row["cron"], notebook=row["notebook"],
                   parameters=from_json(row["parameters"]) or {}, timezone=row["timezone"],
                   enabled=bool(row["enabled"]), created=float(row["created"]), id=int(row["id"]))



def _open(project: Project | str | os.PathLike[str] | None) -> Project:
    return project if isinstance(project, Project) else Project(project)



def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _SCHEDULE_NAME.match(name.strip()):
        raise ConfigError(f"a schedule name is 1-100 letters, digits, '.', '_' or '-' (starting with a letter or "
                          f"digit), e.g. 'nightly-train'; got {name!r}")
    return name.strip()



def _stored_notebook(project: Project, path: Path) -> str:
    """Inside the project: a relative path (the project may move); elsewhere: absolute."""
    try:
        return path.relative_to(project.path).as_posix()
    except ValueError:
        return str(path)



def add_schedule(
    project: Project | str | os.PathLike[str] | None,
    name: str,
    cron: str,
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    timezone: str = "UTC",
    now: float | None = None,
) -> Schedule:
    """Store a new schedule (the notebook and its parameter names are checked now, and again at each run).

    ``notebook``: a path (relative paths: from the current folder, then from the project folder). ``now``: the
    creation time (Unix seconds; default: the clock), from which the first slot is counted.

    >>> import tempfile
    >>> project = Project.init(tempfile.mkdtemp())
    >>> add_schedule(project, "nightly", "every day", "notebooks/train.ipynb")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: invalid cron expression 'every day': ...
    """
    proj = _open(project)
    name = _check_name(name)
    cron = check_cron(cron)
    _zone(timezone)
    next_time(cron, time.time() if now is None else now, timezone)  # refuses an expression that never fires
    path = notebooks.find_notebook(notebook, proj.path)
    params = dict(parameters or {})
    if notebooks.RUN_ID_PARAMETER in params:
        raise ConfigError(f"{notebooks.RUN_ID_PARAMETER!r} is set by the runner to each execution's run id; do not "
                          "pass it")
    notebooks.check_parameters(path, params)
    created = time.time() if now is None else float(now)
    try:
        with proj.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO schedules (name, cron, timezone, notebook, parameters, enabled, created) "
                "VALUES (?, ?, ?, ?, ?, 1, ?)",
                (name, cron, timezone.strip(), _stored_notebook(proj, path), to_json(params, "parameters"), created))
            new_id = int(cur.lastrowid or 0)
    except sqlite3.IntegrityError as exc:
        raise ConfigError(f"a schedule named {name!r} already exists; choose another name or remove it first "
                          f"(`tesla schedule remove {name}`)") from exc
    logger.info("added schedule %r: %s %s", name, cron, path)
    return Schedule(name=name, cron=cron, notebook=_stored_notebook(proj, path), parameters=params,
                    timezone=timezone.strip(), enabled=True, created=created, id=new_id)



def list_schedules(project: Project | str | os.PathLike[str] | None, *, enabled_only: bool = False) -> list[Schedule]:
    """Every stored schedule, by name.

    >>> import tempfile
    >>> list_schedules(Project.init(tempfile.mkdtemp()))
    []
    """
    proj = _open(project)
    where = " WHERE enabled = 1" if enabled_only else ""
    return [Schedule._from_row(r) for r in proj.db.query(f"SELECT * FROM schedules{where} ORDER BY name")]



def get_schedule(project: Project | str | os.PathLike[str] | None, name: str) -> Schedule:
    """The schedule called ``name``; the error lists the existing ones.

    >>> import tempfile
    >>> get_schedule(Project.init(tempfile.mkdtemp()), "nightly")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.NotFoundError: no schedule named 'nightly'; existing schedules: (none); add one with ...
    """
    proj = _open(project)
    row = proj.db.query_one("SELECT * FROM schedules WHERE name = ?", (name,))
    if row is None:
        names = [r["name"] for r in proj.db.query("SELECT name FROM schedules ORDER BY name")]
        raise NotFoundError(f"no schedule named {name!r}; existing schedules: {', '.join(names) or '(none)'}; add one "
                            "with `tesla schedule add NAME --cron '*/30 * * * *' NOTEBOOK`")
    return Schedule._from_row(row)



def remove_schedule(project: Project | str | os.PathLike[str] | None, name: str) -> Schedule:
    """Delete a schedule and its execution history (the notebook runs stay in the store); returns it."""
    proj = _open(project)
    schedule = get_schedule(proj, name)
    with proj.db.transaction() as conn:
        conn.execute("DELETE FROM schedules WHERE id = ?", (schedule.id,))
    logger.info("removed schedule %r", name)
    return schedule



def schedule_runs(project: Project | str | os.PathLike[str] | None, name: str | None = None) -> pd.DataFrame:
    """Executions, newest slot first: ``id, schedule, scheduled_time, status, missed, run_id, output_sha256,
    error, claimed, ended`` (times as UTC datetimes)."""
    proj = _open(project)
    sql = ("SELECT r.id, s.name AS schedule, r.scheduled_time, r.status, r.missed, r.run_id, r.output_sha256, "
           "r.error, r.claimed, r.ended FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id")
    args: tuple[Any, ...] = ()
    if name is not None:
        schedule = get_schedule(proj, name)
        sql, args = sql + " WHERE r.schedule_id = ?", (schedule.id,)
    rows = proj.db.query(sql + " ORDER BY r.scheduled_time DESC, r.id DESC", args)
    columns = ["id", "schedule", "scheduled_time", "status", "missed", "run_id", "output_sha256", "error", "claimed",
               "ended"]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for col in ("scheduled_time", "claimed", "ended"):
        frame[col] = to_timestamps(frame[col])
    return frame



def schedules_frame(project: Project | str | os.PathLike[str] | None, *, now: float | None = None) -> pd.DataFrame:
    """One row per schedule for listings: ``name, cron, timezone, notebook, parameters, enabled, next_run,
    last_run, last_status`` (times as UTC datetimes).

    >>> import tempfile
    >>> list(schedules_frame(Project.init(tempfile.mkdtemp())).columns)[:4]
    ['name', 'cron', 'timezone', 'notebook']
    """
    proj = _open(project)
    current = time.time() if now is None else now
    last = {r["schedule_id"]: r for r in proj.db.query(
        "SELECT r.schedule_id, r.scheduled_time, r.status FROM schedule_runs r JOIN (SELECT schedule_id, "
        "MAX(scheduled_time) AS t FROM schedule_runs GROUP BY schedule_id) m ON m.schedule_id = r.schedule_id "
        "AND m.t = r.scheduled_time")}
    records = []
    for s in list_schedules(proj):
        done = last.get(s.id)
        records.append({"name": s.name, "cron": s.cron, "timezone": s.timezone, "notebook": s.notebook,
                        "parameters": s.parameters, "enabled": s.enabled,
                        "next_run": s.next_time(max(current, s.created)) if s.enabled else None,
                        "last_run": done["scheduled_time"] if done else None,
                        "last_status": done["status"] if done else None})
    columns = ["name", "cron", "timezone", "notebook", "parameters", "enabled", "next_run", "last_run", "last_status"]
    frame = pd.DataFrame(records, columns=columns)
    for col in ("next_run", "last_run"):
        frame[col] = to_timestamps(frame[col])
    return frame

