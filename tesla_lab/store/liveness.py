"""Is the process behind a run still alive? Process identities, and the sweep that marks dead runs ``crashed``.

A run records the process that trains it as ``(pid, start time, host)`` (:func:`process_identity`). A pid alone
is not enough: after a reboot, or once the pid counter wraps, another process may carry the same pid, so the
process's start time must match too. :func:`sweep_crashed_runs` runs whenever a :class:`~tesla_lab.store.Project`
is opened (the CLI, the dashboard, notebooks, job workers): one indexed query of the ``running``/``queued`` runs
that recorded a process, then, for each run of *this* host whose process is gone (or is another process by now),
one conditional update to ``crashed``. Runs recorded on another host are left alone: this machine cannot see their
processes (a shared project folder on several machines); open the project there, or end them with
``run.finish('failed')``.

Schedule executions (table ``schedule_runs``, see :mod:`tesla_lab.jobs.schedule`) record the scheduler that
runs them as ``(pid, host)`` and the time the slot was claimed; :func:`sweep_dead_schedulers` (also run on every
open, after the runs) ends the ``running`` ones of this host whose scheduler is gone (compared with the start time
its notebook run recorded; before that run exists, a process that started after the claim only reuses the pid). A
slot takes the final status of its notebook run when that run ended (``finished``/``failed``/``stopped``: the
scheduler died after the notebook, before recording it); otherwise it ends ``failed`` with an error saying the
scheduler died (its notebook is stopped with it: papermill runs on a leash, :mod:`tesla_lab.jobs._leash`).

The start time comes from psutil when it is installed, else from ``/proc/<pid>/stat`` on Linux (both give
boot time + start ticks, so they agree); elsewhere without psutil only the pid is checked.

>>> import os
>>> me = process_identity()
>>> me.pid == os.getpid(), process_state(me.pid, me.started), process_state(me.pid, (me.started or 0) - 3600)
(True, 'alive', 'gone')
"""

from __future__ import annotations

import logging
import os
import socket
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from tesla_lab.store.db import Database

__all__ = ["ProcessIdentity", "process_identity", "process_start_time", "process_state", "sweep_crashed_runs",
           "sweep_dead_schedulers", "current_host"]

logger = logging.getLogger(__name__)

#: seconds two readings of one process's start time may differ by (boot time is derived from the clock and the
#: uptime, so it can move by a fraction of a second); a reused pid starts seconds or days later
START_TOLERANCE = 1.0


class ProcessIdentity(NamedTuple):
    """A process as a run records it: pid, start time (Unix seconds; ``None`` where it cannot be read), host."""

    pid: int
    started: float | None
    host: str


@lru_cache(maxsize=1)
def current_host() -> str:
    """This machine's host name (what runs record to know whose processes they can check).

    >>> isinstance(current_host(), str) and len(current_host()) > 0
    True
    """
    return socket.gethostname() or "localhost"


@lru_cache(maxsize=1)
def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _proc_stat(pid: int) -> tuple[str, float | None] | None:
    """``(state letter, start time)`` from ``/proc/<pid>/stat``; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    except OSError:
        return ("?", None)
    fields = text[text.rfind(")") + 2:].split()  # the name may hold spaces and ')': cut after the last ')'
    boot = _boot_time()
    try:
        ticks = float(fields[19])  # field 22 of proc(5): starttime, clock ticks after boot
        started = None if boot is None else round(boot + ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (IndexError, ValueError, OSError):
        started = None
    return (fields[0] if fields else "?", started)


def _probe(pid: int) -> tuple[bool, float | None] | None:
    """``(alive, start time)``, or None when the platform gives no answer (no psutil, no /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            proc = psutil.Process(pid)
            alive = proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
            return alive, round(proc.create_time(), 3)
        except psutil.NoSuchProcess:
            return False, None
        except psutil.Error:  # access denied: it exists, its start time is unknown
            return True, None
    if os.path.isdir("/proc/self"):
        stat = _proc_stat(pid)
        if stat is None:
            return False, None
        state, started = stat
        return state not in ("Z", "X", "x"), started  # a zombie (killed, not yet reaped) is dead
    return None


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (Unix seconds, millisecond precision), or None (no such process, or the
    platform cannot tell).

    >>> import os, time
    >>> 0 < time.time() - process_start_time(os.getpid()) < 86400 * 365
    True
    """
    probe = _probe(int(pid))
    return None if probe is None or not probe[0] else probe[1]


def process_identity(pid: int | None = None) -> ProcessIdentity:
    """The identity a run records for process ``pid`` (default: this process).

    >>> process_identity().host == current_host()
    True
    """
    pid = os.getpid() if pid is None else int(pid)
    return ProcessIdentity(pid, process_start_time(pid), current_host())


def process_state(pid: int | None, started: float | None = None) -> str:
    """``'alive'`` when process ``pid`` exists and (if ``started`` is given and readable) started at ``started``;
    ``'gone'`` when it does not exist, is a zombie, or is another process that reused the pid; ``'unknown'`` when
    the platform cannot tell (then the run is left alone).

    >>> process_state(None), process_state(os.getpid())
    ('gone', 'alive')
    """
    if not pid or pid < 0:
        return "gone"
    probe = _probe(int(pid))
    if probe is None:  # pragma: no cover - neither psutil nor /proc: the pid alone
        if os.name == "nt":
            return "unknown"  # os.kill(pid, 0) would terminate the process on Windows
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return "gone"
        except OSError:  # exists, owned by another user
            return "alive"
        return "alive"
    alive, actual = probe
    if not alive:
        return "gone"
    if started is not None and actual is not None and abs(actual - float(started)) > START_TOLERANCE:
        return "gone"  # the pid now belongs to another process
    return "alive"


def sweep_crashed_runs(db: Database) -> list[str]:
    """Mark ``crashed`` every ``running`` (or ``queued`` with a worker process) run of this host whose process is
    gone; returns their ids. Cheap: one query on the status index, then one update per dead run.

    The update is conditional on the run still being in the state that was read (same status, same pid), so a run
    that ended, or was resumed by another process, in between is never touched.

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> project = Project.init(tempfile.mkdtemp())
    >>> run = project.start_run()  # trained by this process, which is alive
    >>> sweep_crashed_runs(project.db), run.status
    ([], 'running')
    """
    from tesla_lab.store.runs import now

    if getattr(db, "read_only", False):
        return []  # a read-only project can be read, not swept: the next writable open marks them
    rows = db.query("SELECT id, status, pid, pid_started, host, started, created FROM runs "
                    "WHERE status IN ('running', 'queued') AND pid IS NOT NULL")
    host = current_host()
    crashed = []
    for row in rows:
        if row["host"] is not None and row["host"] != host:
            continue  # another machine's process: not ours to judge
        if process_state(int(row["pid"]), row["pid_started"]) != "gone":
            continue
        stamp = now()
        began = row["started"] if row["started"] is not None else row["created"]
        error = (f"the process that was training this run (pid {row['pid']} on {row['host'] or host}) ended without "
                 "ending the run (killed, out of memory, a reboot); resume it from its last checkpoint")
        with db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = 'crashed', ended = ?, duration = ?, error = ? "
                "WHERE id = ? AND status = ? AND pid = ?",
                (stamp, max(0.0, stamp - began), error, row["id"], row["status"], row["pid"]))
        if cursor.rowcount:
            crashed.append(row["id"])
            logger.warning("run %s was %s but its process %s is gone; marked it crashed", row["id"][:8],
                           row["status"], row["pid"])
    return crashed


#: seconds after a slot's claim a process may have started and still be the scheduler that claimed it (only used
#: before the slot's notebook run exists; the wall clock may be stepped a little between the two readings)
CLAIM_TOLERANCE = 60.0


def _scheduler_alive(pid: int, row: Any) -> bool:
    """Is the scheduler that claimed a slot still running? Its notebook run records the scheduler's start time:
    compare with it (as for runs); before that run exists, a process that started after the claim is another one."""
    if row["run_pid"] == pid and row["run_pid_started"] is not None:
        return process_state(pid, row["run_pid_started"]) != "gone"
    if process_state(pid) == "gone":
        return False
    started = process_start_time(pid)
    return started is None or started <= float(row["claimed"]) + CLAIM_TOLERANCE


def sweep_dead_schedulers(db: Database) -> list[int]:
    """End the ``running`` schedule executions of this host whose scheduler process is gone; returns their ids.

    An execution whose notebook run ended takes that run's status and error (a run marked ``crashed`` gives
    ``failed``); one without an ended run ends ``failed``, saying the scheduler died. The update is conditional on
    the row still being ``running`` with the same pid. Run it after :func:`sweep_crashed_runs`, so a notebook run
    of the dead scheduler is ``crashed`` already.

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> sweep_dead_schedulers(Project.init(tempfile.mkdtemp()).db)
    []
    """
    from tesla_lab.store.runs import now

    if getattr(db, "read_only", False):
        return []
    rows = db.query("SELECT s.id, s.pid, s.host, s.claimed, s.run_id, r.status AS run_status, r.error AS run_error, "
                    "r.pid AS run_pid, r.pid_started AS run_pid_started "
                    "FROM schedule_runs s LEFT JOIN runs r ON r.id = s.run_id "
                    "WHERE s.status = 'running' AND s.pid IS NOT NULL")
    host = current_host()
    ended = []
    for row in rows:
        pid = int(row["pid"])
        if (row["host"] is not None and row["host"] != host) or pid == os.getpid():
            continue
        if _scheduler_alive(pid, row):
            continue
        status, error = row["run_status"], row["run_error"]
        died = (f"the scheduler (pid {pid} on {row['host'] or host}) ended while this slot ran (killed, out of "
                "memory, a reboot); the notebook was stopped with it")
        if status not in ("finished", "failed", "stopped"):
            run = f"; its notebook run {row['run_id'][:8]} is {status}" if row["run_id"] else ""
            status, error = "failed", f"{died}{run}; the slot is not run again"
        with db.transaction() as conn:
            # the notebook run, marked crashed as the scheduler's run: say why, not "resume it from its checkpoint"
            conn.execute("UPDATE runs SET error = ? WHERE id = ? AND status = 'crashed' AND pid = ?",
                         (f"{died} (schedule execution {row['id']}); it runs again at the schedule's next slot",
                          row["run_id"], pid))
            cursor = conn.execute(
                "UPDATE schedule_runs SET status = ?, ended = ?, error = ?, output_sha256 = COALESCE(output_sha256, "
                "(SELECT sha256 FROM artifacts WHERE run_id = schedule_runs.run_id AND name = 'notebook.ipynb')) "
                "WHERE id = ? AND status = 'running' AND pid = ?", (status, now(), error, row["id"], pid))
        if cursor.rowcount:
            ended.append(int(row["id"]))
            logger.warning("schedule execution %d was running but its scheduler %s is gone; marked it %s",
                           row["id"], pid, status)
    return ended
