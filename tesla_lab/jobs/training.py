"""Training in a background process: launch, watch, stop (cleanly, then by signal) and resume.

:func:`launch_training` records a ``queued`` run in the project store, writes the training config next to it
(``.tesla/jobs/<run id>.json``) and starts ``[sys.executable, -m, tesla_lab.jobs.worker, ...]`` as an argument list
(no shell) in a new session, hence its own process group, with stdout/stderr going to ``.tesla/jobs/<run id>.log``.
The worker trains with :func:`tesla_lab.workflow.train_model`, which writes per-epoch metrics, checkpoints and the
final status to the store; the caller only polls the store (``job.run.history()``) and never blocks.

Stopping is cooperative first: :meth:`TrainingJob.stop` sets the run's stop flag (:meth:`Run.request_stop`), which
the trainer reads between steps, ends the epoch, stores a checkpoint and ends the run ``stopped``. If the process is
still alive after ``grace`` seconds, its whole process group gets SIGTERM (the worker turns that into a clean
``stopped`` run), and SIGKILL after another ``grace``. A worker that dies without ending its run (killed, out of
memory, segfault) is noticed by :meth:`TrainingJob.poll`, or by the next opening of the project when nobody polls,
and the run is marked ``crashed`` (with the log's tail when polled).

:func:`resume_training` continues a stopped, failed or crashed run *in place*: the same run id, the epochs
continuing from its latest checkpoint, one metric curve without a gap, and a ``resumed`` count on the run.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> launch_training(project, {"epochs": 0})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: ...
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError, JobError
from tesla_lab.jobs._process import pid_alive
from tesla_lab.store import FINAL_STATUSES, Project, Run
from tesla_lab.store.resume import ResumeError, reopen_for_resume

__all__ = ["JobError", "TrainingJob", "launch_training", "resume_training", "attach", "list_devices", "JOBS_DIR"]

logger = logging.getLogger(__name__)

JOBS_DIR = "jobs"  # under the project's .tesla/ folder: <run id>.json (config) and <run id>.log (output)
DEFAULT_GRACE = 10.0  # seconds between the stop flag and SIGTERM, and between SIGTERM and SIGKILL
_LOG_TAIL = 4000  # characters of the worker's log stored with a run that died without a word

_lock = threading.Lock()
_jobs: dict[str, TrainingJob] = {}  # run id -> job started by this process (it holds the Popen to reap)


def list_devices() -> list[str]:
    """The devices a run can be placed on: ``'cpu'`` and ``'cuda:<i>'`` for each GPU visible to this process
    (an existing ``CUDA_VISIBLE_DEVICES`` is respected, so indices are the visible ones).

    >>> list_devices()[0]
    'cpu'
    """
    devices = ["cpu"]
    try:
        import torch

        if torch.cuda.is_available():
            devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    except Exception:  # a broken CUDA install must not break the device list  # pragma: no cover
        logger.warning("could not query CUDA devices; offering the CPU only", exc_info=True)
    return devices


def _config_dict(config: Any) -> dict[str, Any]:
    """The config as a plain dict, validated by the workflow's ``TrainConfig`` (the worker builds the same)."""
    from tesla_lab.workflow import TrainConfig  # higher layer: imported where it is used

    if isinstance(config, TrainConfig):
        return config.to_dict()
    if not isinstance(config, Mapping):
        raise ConfigError(f"a training config must be a dict or a TrainConfig; got {type(config).__name__}")
    return TrainConfig.from_dict(dict(config)).to_dict()  # raises the ConfigError that names the bad field


def _jobs_dir(project: Project) -> Path:
    folder = project.store_dir / JOBS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _is_worker(pid: int, run_id: str) -> bool:
    """True when ``pid`` is the worker training ``run_id`` and leads its own process group (read from /proc): the
    only processes an attached job may signal. A run trained in a notebook records the kernel's pid; that
    kernel must never get a SIGTERM from a stop button."""
    if pid == os.getpid():
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        return "tesla_lab.jobs.worker" in args and run_id in args and os.getpgid(pid) == pid
    except (OSError, ProcessLookupError):
        return False




class TrainingJob:
    """A training run in a background process. Get one from :func:`launch_training`, :func:`resume_training` or
    :func:`attach` (for a run started elsewhere, e.g. before the dashboard restarted).

    Attributes:
        project: the project (its store is what the worker writes to).
        run_id: the run the worker trains.
        pid: the worker's process id (also its process group id).
        log_path: the worker's stdout and stderr.
    """

    def __init__(self, project: Project, run_id: str, pid: int | None, log_path: Path,
                 process: subprocess.Popen[bytes] | None = None) -> None:
        self.project = project
        self.run_id = run_id
        self.pid = pid
        self.log_path = log_path
        self._process = process
        self._stop_requested_at: float | None = None
        self._signalled: int | None = None
        self._timer: threading.Timer | None = None

    # ------------------------------------------------------------------------------------------- reading
    @property
    def run(self) -> Run:
        """The run in the store (every read goes to the database)."""
        return Run(self.project.db, self.project.artifacts, self.run_id)

    def is_alive(self) -> bool:
        """True while the worker process runs."""
        if self._process is not None:
            return self._process.poll() is None
        return pid_alive(self.pid)

    @property
    def returncode(self) -> int | None:
        """The worker's exit code once it ended (``None`` while it runs, or when attached to a foreign process)."""
        return None if self._process is None else self._process.poll()

    def log_tail(self, chars: int = _LOG_TAIL) -> str:
        """The last ``chars`` characters of the worker's output ('' before it wrote anything)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - chars))
                return fh.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def poll(self) -> str:
        """The run's status; as a side effect notices a worker that died without ending its run (marked
        ``crashed`` with the exit code and the log's tail: it can be resumed) and ends a run whose stop was
        escalated to a signal ``stopped``."""
        status = self.run.status
        alive = self.is_alive()
        known = self._process is not None or self.pid is not None  # an attached queued run has no pid yet
        if status not in FINAL_STATUSES and not alive and known:
            code = self.returncode
            if self._signalled is not None:
                self.run.finish("stopped", error=f"stopped by signal {self._signalled} after the grace period")
            else:
                tail = self.log_tail().strip()
                # the explanation last: views show the end of a long error text
                self.run.finish("crashed", error=f"the training process's last output:\n{tail}\n\nThe training "
                                                 f"process exited with code {code} without ending the run (killed "
                                                 "or crashed); resume it from its last checkpoint.")
            status = self.run.status
        return status

    def wait(self, timeout: float | None = None, interval: float = 0.2) -> str:
        """Block until the run ends (or ``timeout`` seconds pass) and return its status. For scripts and tests;
        the UI polls instead."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.poll()
            if status in FINAL_STATUSES and not self.is_alive():
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            time.sleep(interval)

    # ------------------------------------------------------------------------------------------- stopping
    def stop(self, grace: float = DEFAULT_GRACE) -> None:
        """Ask the run to stop (store flag; the trainer ends the epoch and keeps a checkpoint), then SIGTERM the
        process group after ``grace`` seconds if it is still alive, and SIGKILL after another ``grace``.
        Returns at once; a timer thread does the escalation."""
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or grace < 0:
            raise ConfigError(f"grace must be a number of seconds >= 0; got {grace!r}")
        self.run.request_stop()
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()
            if self.is_alive():
                self._timer = threading.Timer(grace, self._escalate, args=(grace,))
                self._timer.daemon = True
                self._timer.start()

    def _escalate(self, grace: float) -> None:
        for sig in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
            if not self.is_alive():
                return
            logger.warning("run %s did not stop within %.0f s; sending signal %d to its process group",
                           self.run_id[:8], grace, sig)
            self.kill(sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self.is_alive():
                time.sleep(0.1)

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the worker's whole process group now (no grace period)."""
        if not self.pid or not self.is_alive():
            return
        self._signalled = int(sig)
        try:
            if hasattr(os, "killpg"):
                os.killpg(self.pid, sig)  # the worker leads its own group (start_new_session)
            elif self._process is not None:  # pragma: no cover - Windows
                self._process.terminate()
        except ProcessLookupError:
            pass

    def __repr__(self) -> str:
        return f"TrainingJob(run_id={self.run_id[:8]!r}, pid={self.pid}, alive={self.is_alive()})"


def _spawn(project: Project, run: Run, config: dict[str, Any], resume: str | None) -> TrainingJob:
    folder = _jobs_dir(project)
    config_path = folder / f"{run.id}.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    log_path = folder / f"{run.id}.log"
    cmd = [sys.executable, "-m", "tesla_lab.jobs.worker", "--project", str(project.path), "--run-id", run.id,
           "--config", str(config_path)]
    if resume is not None:
        cmd += ["--resume", resume]
    env = dict(os.environ)
    # the worker imports the same tesla_lab as this process, installed or not (it starts in the project folder)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TQDM_DISABLE", "1")  # no progress bars flooding the log
    with open(log_path, "ab") as log:
        try:
            process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd=str(project.path), env=env, start_new_session=True, close_fds=True)
        except OSError as exc:
            run.finish("failed", error=f"could not start the training process: {exc}")
            raise JobError(f"could not start the training process {cmd[0]!r}: {exc}; check that the Python "
                           "interpreter exists and is executable") from exc
    run.record_process(process.pid)  # a worker killed before it starts training still ends 'crashed'
    job = TrainingJob(project, run.id, process.pid, log_path, process)
    with _lock:
        _jobs[run.id] = job
    logger.info("started training run %s (%s) as process %d", run.id[:8], run.name, process.pid)
    return job


def launch_training(project: Project, config: Any, *, name: str | None = None,
                    parent: str | Run | None = None) -> TrainingJob:
    """Start training ``config`` (a ``TrainConfig`` or its dict) in a background process and return the job.

    The config is validated here first (a bad one raises :class:`~tesla_lab.errors.ConfigError` and starts
    nothing). The run exists in the store as ``queued`` when this returns; follow it with ``job.run``.
    """
    if not isinstance(project, Project):
        raise ConfigError(f"launch_training needs a tesla_lab.store.Project; got {type(project).__name__}")
    config = _config_dict(config)
    run = project.start_run(name=name, config=config, status="queued", parent=parent)
    return _spawn(project, run, config, None)


def resume_training(project: Project, run: str | Run, *, epochs: int | None = None) -> TrainingJob:
    """Continue a stopped, failed or crashed ``run`` in place from its latest checkpoint, in a background process.

    The run keeps its id; its status goes back to ``queued`` then ``running``, ``resumed`` counts one more, and the
    epochs continue from the checkpoint's, so its metric curve has no gap (values logged after the checkpoint, by
    the epochs the crash or stop interrupted, are trained again and replaced). Without a checkpoint (stopped before
    its first one) the run starts over from epoch 0. ``epochs`` raises the total epoch count.

    Raises :class:`JobError` for a finished run (it trained all its epochs: start a new run), a run still queued
    or running (stop it first) and a run without a stored training config (not started by :func:`launch_training`).
    """
    source = project.get_run(run)
    try:
        plan = reopen_for_resume(source, epochs=epochs, check=_config_dict)
    except ResumeError as exc:
        raise JobError(str(exc)) from exc
    logger.info("resuming run %s (%s) from %s", source.id[:8], source.name,
                f"epoch {plan.epoch}" if plan.checkpoint is not None else "scratch (no checkpoint)")
    return _spawn(project, source, plan.config, None if plan.checkpoint is None else str(plan.checkpoint))


def attach(project: Project, run: str | Run) -> TrainingJob:
    """The job behind ``run``: the one this process started, or a handle on the worker process the run recorded
    (to watch or stop a run after the dashboard restarted). A run trained elsewhere (a notebook) gets a handle
    without a process: it can be watched and asked to stop through the store, never signalled."""
    found = project.get_run(run)
    with _lock:
        job = _jobs.get(found.id)
    if job is not None:
        return job
    info = found.info()
    pid = info.get("pid")
    # signal only a live worker of this run: a final run's pid may belong to another process by now, and a run
    # trained in a notebook records the kernel's pid
    if pid is None or info["status"] in FINAL_STATUSES or not _is_worker(int(pid), found.id):
        pid = None
    return TrainingJob(project, found.id, int(pid) if pid else None, _jobs_dir(project) / f"{found.id}.log")
