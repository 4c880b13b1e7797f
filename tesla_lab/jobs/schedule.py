"""Notebook schedules: run a parameterized notebook on a cron schedule, each slot exactly once.

Schedules and their executions live in the project store (tables ``schedules`` and ``schedule_runs``), so
``tesla schedule add|list|remove`` and a running ``tesla scheduler`` share them through the SQLite file.

How a slot fires (the guarantees):

* **Claim before run.** The scheduler inserts ``(schedule, scheduled_time)`` into ``schedule_runs`` in one write
  transaction before executing; a UNIQUE constraint on that pair means a slot is claimed once, whatever the number
  of schedulers or restarts. The row then records the execution's status, notebook run and output notebook.
* **Restarts.** A restarted scheduler finds the slot already claimed and does not fire it again (at most once per
  slot, also after a crash).
* **A stopped scheduler stops its notebook.** SIGTERM / SIGINT (or :meth:`Scheduler.stop`) stop the notebook that
  is running (papermill gets SIGINT, its kernel is shut down) and record ``stopped`` for the slot and its notebook
  run; the loop then ends. A scheduler that is *killed* (SIGKILL, out of memory) cannot record anything: its
  papermill child runs on a leash (:mod:`~tesla_lab.jobs._leash`) and is stopped within a second (SIGINT, SIGKILL
  10 s later), so no notebook runs on unrecorded. The next open of the project (any ``tesla`` command, the next
  scheduler start) marks that notebook run ``crashed`` and the slot ``failed``, with an error saying the
  scheduler died (:func:`~tesla_lab.store.liveness.sweep_dead_schedulers`: same host, pid gone or reused). When
  the scheduler died *after* its notebook run ended but before recording the slot, the slot takes the run's
  status (``finished`` stays ``finished``). Slots of another host are left to that host.
* **Missed slots coalesce.** Slots that passed while no scheduler ran are not replayed one by one: the most recent
  missed slot runs once, and its row counts the ones skipped (``missed``). A schedule added at 10:07 with
  ``*/30 * * * *`` first fires at 10:30 (slots before it was added never count).
* **One at a time.** Executions run one after the other; a run that outlasts its interval makes the next slot
  fire late (once), never twice in parallel.

Cron expressions have 5 fields (minute hour day-of-month month day-of-week) or are one of ``@hourly``,
``@daily``, ``@weekly``, ``@monthly``, ``@yearly``; croniter evaluates them in the schedule's time zone (``UTC``
unless given, e.g. ``Europe/Berlin``).

This module fires schedules (:class:`Scheduler`); cron evaluation is in :mod:`~tesla_lab.jobs.cron` and the stored
schedules in :mod:`~tesla_lab.jobs.schedule_store` (their public names are re-exported here).

>>> check_cron("*/30 * * * *")
'*/30 * * * *'
>>> check_cron("every day")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: invalid cron expression 'every day': ...; e.g. '*/30 * * * *' (every 30 minutes)...
>>> from datetime import datetime, timezone
>>> t = datetime(2024, 1, 1, 10, 7, tzinfo=timezone.utc).timestamp()
>>> datetime.fromtimestamp(next_time("*/30 * * * *", t), timezone.utc).strftime("%H:%M")
'10:30'
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tesla_lab.errors import ConfigError, TeslaError
from tesla_lab.jobs import notebooks
from tesla_lab.jobs.cron import _count_between, check_cron, latest_slot, next_time
from tesla_lab.jobs.schedule_store import (
    Schedule,
    _open,
    add_schedule,
    get_schedule,
    list_schedules,
    remove_schedule,
    schedule_runs,
    schedules_frame,
)
from tesla_lab.store import NotFoundError, Project, Run
from tesla_lab.store.liveness import current_host, sweep_crashed_runs, sweep_dead_schedulers
from tesla_lab.store.runs import format_error

__all__ = [
    "Schedule",
    "Execution",
    "Scheduler",
    "check_cron",
    "next_time",
    "latest_slot",
    "add_schedule",
    "get_schedule",
    "list_schedules",
    "remove_schedule",
    "schedules_frame",
    "schedule_runs",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- scheduler
@dataclass(frozen=True)
class Execution:
    """One fired slot: its row id in ``schedule_runs``, the schedule, the slot (Unix seconds), the final status,
    the notebook run, how many earlier missed slots it stands for, and the error text of a failure.

    >>> Execution(id=1, schedule="nightly", scheduled_time=0.0, status="finished").ok
    True
    """

    id: int
    schedule: str
    scheduled_time: float
    status: str
    run_id: str | None = None
    missed: int = 0
    error: str | None = None
    output_sha256: str | None = None

    @property
    def ok(self) -> bool:
        """True when the notebook ran to the end."""
        return self.status == "finished"




Runner = Callable[..., "notebooks.NotebookResult"]


class Scheduler:
    """Fires due schedules of a project: :meth:`tick` once (``tesla scheduler --once``) or :meth:`run` until
    stopped (SIGTERM / SIGINT / :meth:`stop`).

    Args:
        project: the project (or its folder; ``None``: the one holding the current folder).
        clock: returns the current Unix time (inject a fake one in tests).
        sleep: waits up to the given seconds and may return early when :meth:`stop` is called (default: an event
            wait); tests inject one that advances their clock.
        runner: executes one notebook (default :func:`tesla_lab.jobs.notebooks.run`); called with the notebook
            path, the parameters and ``project=, name=, check=False, cancel=, on_start=``.
        max_wait: the longest sleep between checks, in seconds, so schedules added or removed while the scheduler
            runs are seen within that time and a clock jump is corrected.
        execution_timeout: seconds one cell may run (passed to papermill).

    >>> import tempfile
    >>> Scheduler(Project.init(tempfile.mkdtemp())).tick()
    []
    """

    def __init__(
        self,
        project: Project | str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] | None = None,
        runner: Runner | None = None,
        max_wait: float = 30.0,
        execution_timeout: float | None = 6 * 3600.0,
    ) -> None:
        if not max_wait > 0:
            raise ConfigError(f"max_wait is seconds (> 0) between checks; got {max_wait!r}")
        self.project = _open(project)
        self.clock = clock
        self.runner: Runner = runner or notebooks.run
        self.max_wait = float(max_wait)
        self.execution_timeout = execution_timeout
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._host = current_host()

    # -------------------------------------------------------------------------------------------- control
    def stop(self) -> None:
        """Ask the loop to end; a notebook that is running is stopped (its execution and its run end ``stopped``)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (or SIGTERM / SIGINT arrived)."""
        return self._stop.is_set()

    # ---------------------------------------------------------------------------------------------- slots
    @staticmethod
    def _last_slot(query: Callable[..., Any], schedule_id: int) -> float | None:
        row = query("SELECT MAX(scheduled_time) FROM schedule_runs WHERE schedule_id = ?", (schedule_id,))
        return None if row is None or row[0] is None else float(row[0])

    def due(self, now: float | None = None) -> list[tuple[Schedule, float, int]]:
        """The schedules with a slot to fire at ``now``: ``(schedule, slot, missed)``, where ``slot`` is the most
        recent slot after the last one fired (or after the schedule was created) and ``missed`` counts the
        earlier ones it coalesces."""
        now = self.clock() if now is None else now
        found = []
        for schedule in list_schedules(self.project, enabled_only=True):
            last = self._last_slot(self.project.db.query_one, int(schedule.id or 0))
            anchor = max(schedule.created, last if last is not None else float("-inf"))
            try:
                slot = schedule.latest_slot(now)
            except ConfigError as exc:  # a schedule stored by an older version that croniter now refuses
                logger.error("schedule %r: %s", schedule.name, exc)
                continue
            if slot > anchor:
                found.append((schedule, slot, _count_between(schedule.cron, anchor, slot, schedule.timezone)))
        return found

    def claim(self, schedule: Schedule, slot: float, missed: int = 0) -> int | None:
        """Claim ``slot`` of ``schedule`` (one write transaction); the new execution's id, or ``None`` when this
        slot, or a later one, was claimed already (another scheduler, or a restart in the same slot)."""
        try:
            with self.project.db.transaction() as conn:
                if conn.execute("SELECT 1 FROM schedules WHERE id = ? AND enabled = 1", (schedule.id,)).fetchone() \
                        is None:
                    return None  # removed or disabled meanwhile
                last = self._last_slot(lambda sql, args: conn.execute(sql, args).fetchone(), int(schedule.id or 0))
                if last is not None and last >= slot:
                    return None
                cur = conn.execute(
                    "INSERT INTO schedule_runs (schedule_id, scheduled_time, status, claimed, missed, host, pid) "
                    "VALUES (?, ?, 'running', ?, ?, ?, ?)",
                    (schedule.id, slot, self.clock(), int(missed), self._host, os.getpid()))
                return int(cur.lastrowid or 0)
        except sqlite3.IntegrityError:  # the UNIQUE (schedule_id, scheduled_time) constraint: claimed elsewhere
            return None

    def recover(self) -> int:
        """End the executions left ``running`` by a scheduler process of this host that no longer exists (the slot
        takes the status of its notebook run when that ended, else ``failed``, saying the scheduler died); their
        slots are not run again. Returns how many. Opening the project does this too
        (:func:`~tesla_lab.store.liveness.sweep_dead_schedulers`); this catches a scheduler that died since."""
        sweep_crashed_runs(self.project.db)  # the notebook runs of a dead scheduler first: they end 'crashed'
        count = len(sweep_dead_schedulers(self.project.db))
        if count:
            logger.warning("ended %d schedule execution(s) of a scheduler that died", count)
        return count

    def _record(self, execution_id: int, status: str, *, run_id: str | None = None, error: str | None = None,
                output_sha256: str | None = None, only_running: bool = False) -> None:
        guard = " AND status = 'running'" if only_running else ""
        with self.project.db.transaction() as conn:
            conn.execute(
                "UPDATE schedule_runs SET status = ?, ended = ?, run_id = COALESCE(?, run_id), error = ?, "
                f"output_sha256 = COALESCE(?, output_sha256) WHERE id = ?{guard}",
                (status, self.clock(), run_id, error, output_sha256, execution_id))

    def _set_run(self, execution_id: int, run: Run) -> None:
        with self.project.db.transaction() as conn:
            conn.execute("UPDATE schedule_runs SET run_id = ? WHERE id = ?", (run.id, execution_id))

    # -------------------------------------------------------------------------------------------- running
    def execute(self, schedule: Schedule, slot: float, execution_id: int, missed: int = 0) -> Execution:
        """Run a claimed slot's notebook and record the outcome (never raises for a failing notebook)."""
        stamp = datetime.fromtimestamp(slot, timezone.utc).strftime("%Y-%m-%d %H:%M")
        if missed:
            logger.warning("schedule %r: %d missed slot(s) before %s coalesced into this one", schedule.name, missed,
                           stamp)
        logger.info("schedule %r: running slot %s (execution %d)", schedule.name, stamp, execution_id)
        run_id = output = error = None
        try:
            result = self.runner(
                schedule.notebook_path(self.project), dict(schedule.parameters), project=self.project,
                name=f"{schedule.name} @ {stamp}", check=False, cancel=self._stop.is_set,
                on_start=lambda run: self._set_run(execution_id, run), execution_timeout=self.execution_timeout)
            status, run_id, error = result.status, result.run_id, result.error
            with contextlib.suppress(NotFoundError, TeslaError):
                output = self.project.get_run(run_id).artifact_sha("notebook.ipynb")
        except TeslaError as exc:  # the notebook was deleted, a parameter no longer exists, ...
            status, error = "failed", str(exc)
        except Exception as exc:  # a bug must not end the scheduler: record it and go on
            logger.exception("schedule %r: execution %d failed", schedule.name, execution_id)
            status, error = "failed", format_error(exc)
        self._record(execution_id, status, run_id=run_id, error=error, output_sha256=output)
        log = {"finished": logger.info, "stopped": logger.warning}.get(status, logger.error)
        log("schedule %r: slot %s %s%s", schedule.name, stamp, status, f": {error.splitlines()[0]}" if error else "")
        return Execution(id=execution_id, schedule=schedule.name, scheduled_time=slot, status=status, run_id=run_id,
                         missed=missed, error=error, output_sha256=output)

    def tick(self, now: float | None = None) -> list[Execution]:
        """Fire every slot due at ``now`` (default: the clock), one after the other; returns the executions."""
        done = []
        for schedule, slot, missed in self.due(now):
            if self.stopping:
                break
            execution_id = self.claim(schedule, slot, missed)
            if execution_id is None:
                continue
            done.append(self.execute(schedule, slot, execution_id, missed))
        return done

    def seconds_until_next(self, now: float | None = None) -> float:
        """Seconds from ``now`` to the next slot of any enabled schedule, capped at ``max_wait``."""
        now = self.clock() if now is None else now
        wait = self.max_wait
        for schedule in list_schedules(self.project, enabled_only=True):
            with contextlib.suppress(ConfigError):
                wait = min(wait, schedule.next_time(max(now, schedule.created)) - now)
        return max(wait, 0.0)

    def run(self, *, once: bool = False, handle_signals: bool = True) -> list[Execution]:
        """Fire due slots until stopped (``once=True``: what is due now, then return). SIGTERM and SIGINT stop
        the loop cleanly (a running notebook is stopped and recorded ``stopped``). Returns the executions."""
        previous: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda signum, frame: self.stop())
        executions: list[Execution] = []
        try:
            self.recover()
            if once:
                return self.tick()
            logger.info("scheduler started for project %s", self.project.path)
            while not self.stopping:
                executions += self.tick()
                if self.stopping:
                    break
                # a little past the slot, so a clock that runs slightly behind the sleep does not wake early
                self._sleep(min(self.seconds_until_next() + 0.01, self.max_wait))
            logger.info("scheduler stopped")
            return executions
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
