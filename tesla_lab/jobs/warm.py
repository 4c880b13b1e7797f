"""A warm training worker per project: the next Train click starts training at once instead of after the ~4 s of
imports a fresh Python process needs (torch, the workflow, ``torch._dynamo`` on the first optimizer).

:func:`keep_warm` (the dashboard calls it when it starts) starts ``python -m tesla_lab.jobs.worker --warm`` for the
project: a worker that does its imports, then waits for one job on its stdin. :func:`launch_training` and
:func:`resume_training` hand the next run to it (:func:`hand_over`) instead of starting a cold process; everything
else stays as for a cold worker: the warm worker leads its own process group (Stop, SIGTERM and SIGKILL reach
exactly that run), records nothing else, writes the run's log, and its death marks the run ``crashed``. Each warm
worker trains one run and exits; a fresh one is started once that run's process ended (not at once: its imports
would compete with the training that just started for the CPU).

An idle warm worker ends with :func:`shutdown` (called at exit) and when its stdin closes: a SIGKILL of the dashboard
closes the pipe, so none outlives its dashboard.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> hand_over(project, {"run_id": "r"}) is None  # nobody asked to keep a worker warm for this project
True
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tesla_lab.store import Project

__all__ = ["keep_warm", "hand_over", "shutdown", "warm_pid", "worker_command", "worker_env", "WARM_LOG"]

logger = logging.getLogger(__name__)

WARM_LOG = "warm-worker.log"  # in .tesla/jobs/: what a warm worker says before it has a run

_lock = threading.Lock()
_idle: dict[str, subprocess.Popen[bytes]] = {}  # project folder -> its idle warm worker
_wanted: set[str] = set()  # project folders that keep a worker warm


def worker_command(project: Project, *extra: str) -> list[str]:
    """The worker's argument list (no shell): ``python -m tesla_lab.jobs.worker --project DIR ...``."""
    return [sys.executable, "-m", "tesla_lab.jobs.worker", "--project", str(project.path), *extra]


def worker_env() -> dict[str, str]:
    """The worker's environment: this one, with this process's tesla_lab first on the path (installed or not)."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TQDM_DISABLE", "1")  # no progress bars flooding the log
    return env


def _key(project: Project) -> str:
    return str(Path(project.path).resolve())


def _start(project: Project) -> subprocess.Popen[bytes] | None:
    folder = project.db.path.parent / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(folder / WARM_LOG, "ab") as log:
            process = subprocess.Popen(worker_command(project, "--warm"), stdin=subprocess.PIPE, stdout=log,
                                       stderr=subprocess.STDOUT, cwd=str(project.path), env=worker_env(),
                                       start_new_session=True, close_fds=True)
    except OSError as exc:
        logger.warning("could not start a warm training worker (%s); runs start cold", exc)
        return None
    logger.info("warm training worker %d started for %s", process.pid, project.path)
    return process


def keep_warm(project: Project) -> int | None:
    """Keep one idle worker with its imports done for ``project`` from now on (the dashboard calls this once);
    returns its pid (None when it could not be started: runs then start cold, as without this call)."""
    key = _key(project)
    with _lock:
        _wanted.add(key)
        process = _idle.get(key)
        if process is not None and process.poll() is None:
            return process.pid
        process = _start(project)
        if process is None:
            return None
        _idle[key] = process
        return process.pid


def warm_pid(project: Project) -> int | None:
    """The pid of ``project``'s idle warm worker (None when there is none)."""
    with _lock:
        process = _idle.get(_key(project))
    return process.pid if process is not None and process.poll() is None else None


def _replace_after(project: Project, busy: subprocess.Popen[bytes]) -> None:
    """Start the next warm worker once ``busy`` (the one that took a job) has ended."""
    def wait_then_start() -> None:
        busy.wait()
        keep_warm(project) if _key(project) in _wanted else None

    threading.Thread(target=wait_then_start, name="tesla-warm-worker", daemon=True).start()


def hand_over(project: Project, job: dict[str, Any]) -> subprocess.Popen[bytes] | None:
    """Give ``job`` (``run_id``, ``config`` file, ``resume`` checkpoint or None, ``log`` file) to the project's idle
    warm worker and return its process; None when there is none (not wanted, died, busy): start a cold one."""
    key = _key(project)
    with _lock:
        process = _idle.pop(key, None)
    if process is None:
        return None
    if process.poll() is not None or process.stdin is None:
        logger.warning("the warm training worker %d ended (code %s); this run starts cold", process.pid,
                       process.returncode)
        _replace_after(project, process)
        return None
    try:
        process.stdin.write((json.dumps(job) + "\n").encode("utf-8"))
        process.stdin.close()
    except OSError as exc:  # it died just now
        logger.warning("could not hand the run to the warm worker %d (%s); it starts cold", process.pid, exc)
        process.kill()
        _replace_after(project, process)
        return None
    _replace_after(project, process)
    return process


def shutdown(project: Project | None = None) -> None:
    """Stop keeping a worker warm for ``project`` (default: every project) and end its idle worker (it holds no
    run: SIGTERM ends it at once, mid-import too)."""
    with _lock:
        keys = list(_idle) + list(_wanted) if project is None else [_key(project)]
        idle = [p for p in (_idle.pop(key, None) for key in keys) if p is not None]
        _wanted.difference_update(keys)
    for process in idle:
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.terminate()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()


atexit.register(shutdown)
