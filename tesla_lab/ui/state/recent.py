"""The Train view's list of recent runs: the newest runs of the project (started here, from the CLI or a notebook),
kept fresh by :meth:`RecentRunsState.poll` (every 2 s while the Train tab is shown), which re-reads the list only
when the store's run token moved (:func:`~tesla_lab.ui.state.changes.runs_token`) or while a run is running.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> state = RecentRunsState(project)
>>> state.poll(), len(state.table)
(False, 0)
>>> with project.start_run(name="from-the-cli") as run:
...     run.log_metric("loss", 0.5, step=0)
>>> state.poll(), state.table[["name", "status", "epochs"]].values.tolist(), state.poll()
(True, [['from-the-cli', 'finished', 1]], False)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.ui.state.base import StateBase, action, param
from tesla_lab.ui.state.changes import runs_token

__all__ = ["RecentRunsState", "RECENT_COLUMNS"]

RECENT_COLUMNS = ["id", "name", "status", "epochs", "created"]


class RecentRunsState(StateBase):
    """The ``limit`` newest runs of ``project``: ``id`` (full), ``name``, ``status``, ``epochs`` (done),
    ``created`` (text)."""

    table = param.DataFrame(default=None, allow_None=True, doc="the newest runs, newest first")

    def __init__(self, project: Project, *, limit: int = 8, **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(project, Project):
            raise ConfigError(f"RecentRunsState needs a tesla_lab.store.Project; got {type(project).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"limit must be an integer >= 1; got {limit!r}")
        self.project = project
        self.limit = limit
        self._seen: tuple[Any, ...] | None = None
        self.refresh()

    @action("cannot read the runs")
    def refresh(self) -> pd.DataFrame:
        """Re-read the newest runs (two small queries: the runs, then the epochs they logged)."""
        self._seen = runs_token(self.project)
        db = self.project.db
        rows = db.query("SELECT id, name, status, created FROM runs ORDER BY created DESC LIMIT ?", (self.limit,))
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        done = {r["run_id"]: int(r["n"]) for r in db.query(
            f"SELECT run_id, MAX(step) + 1 AS n FROM metrics WHERE run_id IN ({marks}) "
            "AND key NOT LIKE 'test\\_%' ESCAPE '\\' GROUP BY run_id", tuple(ids))} if ids else {}
        created = pd.to_datetime([r["created"] for r in rows], unit="s", utc=True).tz_convert(None)
        table = pd.DataFrame({"id": ids, "name": [r["name"] for r in rows], "status": [r["status"] for r in rows],
                              "epochs": [done.get(i, 0) for i in ids],
                              "created": created.strftime("%Y-%m-%d %H:%M:%S")}, columns=RECENT_COLUMNS)
        # the same dtypes empty or not: a table shown empty first must take its first rows as they are
        table = table.astype({"id": str, "name": str, "status": str, "epochs": "int64", "created": str})
        self.table = table
        return table

    def poll(self) -> bool:
        """Refresh when the run token moved, or while a run is running (its epochs grow); returns whether it
        did."""
        seen = runs_token(self.project)
        if seen == self._seen and not (len(seen) > 4 and seen[4]):
            return False
        self.refresh()
        return True
