"""Cheap change tokens of the project store, for views that refresh by themselves while shown: a periodic callback
reads one small aggregate and re-reads a table only when the token moved (a run added, started, ended, crashed or
resumed; a model promoted, archived or exported), so a run started from the CLI or a notebook appears within a
couple of seconds without a click, and an idle dashboard costs one indexed query per tick.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> before = runs_token(project)
>>> project.start_run(name="from-the-cli").finish()
>>> runs_token(project) != before, runs_token(project) == runs_token(project)
(True, True)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.store import Project

__all__ = ["runs_token", "RUNS_FINGERPRINT"]

#: what changes when a run is added, starts, ends (also crashed), is resumed, tagged, noted, archived or deleted: one
#: aggregate over the runs table, in SQL both SQLite and PostgreSQL accept
RUNS_FINGERPRINT = ("SELECT COUNT(*), MAX(created), MAX(ended), SUM(resumed), "
                    "SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), SUM(archived), SUM(length(tags)), "
                    "SUM(length(note)) FROM runs")


def runs_token(project: Project) -> tuple[Any, ...]:
    """A tuple that changes whenever the project's list of runs would show something new (see the module)."""
    return tuple(project.db.query_one(RUNS_FINGERPRINT) or ())
