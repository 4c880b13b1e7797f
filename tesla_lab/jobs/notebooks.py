"""Parameterized notebook runs: execute a notebook with papermill in its own process and record it in the store.

:func:`run` is the one entry point (``tesla run-notebook``, the scheduler and the dashboard all call it):

1. the parameter names are checked against the notebook's ``parameters`` cell (``papermill.inspect_notebook``)
   *before* anything runs: an unknown name is refused with the list of valid ones;
2. a run of kind ``notebook`` is created in the project store (its config holds the notebook and the parameters);
3. ``python -m papermill IN OUT -k tesla-lab --log-output --no-progress-bar -p NAME VALUE ...`` runs as a
   subprocess in its own process group (so a stop or a timeout ends papermill *and* its kernel), with a per-cell
   ``--execution-timeout`` and an explicitly registered kernel (:func:`ensure_kernel`). It runs on a leash
   (:mod:`~tesla_lab.jobs._leash`): when the process that called :func:`run` dies without stopping it (SIGKILL,
   out of memory), papermill and its kernel are stopped too (SIGINT, SIGKILL 10 s later), so a notebook never
   runs on unrecorded; the run, left ``running`` by the dead process, is marked ``crashed`` the next time the
   project is opened (:func:`~tesla_lab.store.liveness.sweep_crashed_runs`);
4. the executed notebook (and papermill's log) are stored as artifacts of that run, which ends ``finished``,
   ``failed`` (with the failing cell's error text) or ``stopped``.

Linking to the training run: when the notebook declares a ``tesla_run_id`` parameter, the runner sets it to the
notebook run's id; ``notebooks/train.ipynb`` records the id of the training run it starts as the param
``training_run_id`` of that notebook run, and the runner then also stores the executed notebook on the training
run. When the notebook declares ``project_dir`` and it is not given, the runner passes the project's folder.

Values given as text are read like papermill's CLI reads ``-p`` (``True``/``False``/``None``, ints, floats, else
text); ``-r`` values stay text.

This module runs the notebook; the parameter handling is in :mod:`~tesla_lab.jobs.notebook_params`, the kernel in
:mod:`~tesla_lab.jobs.kernel` and what a run records in :mod:`~tesla_lab.jobs.notebook_records` (their public names
are re-exported here).

>>> parse_parameters([("epochs", "5"), ("lr", "0.01"), ("device", "cpu"), ("shuffle", "True")],
...                  raw=[("run_name", "007")])
{'epochs': 5, 'lr': 0.01, 'device': 'cpu', 'shuffle': True, 'run_name': '007'}
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError, NotebookError
from tesla_lab.jobs.kernel import KERNEL_NAME, _known_kernels, ensure_kernel
from tesla_lab.jobs.notebook_params import (
    _check_against,
    check_parameters,
    find_notebook,
    notebook_parameters,
    papermill_command,
    parse_parameters,
    parse_value,
)
from tesla_lab.jobs.notebook_records import (  # noqa: F401 - _end_orphans: kept importable from here
    TRAINING_RUN_PARAM,
    NotebookResult,
    _end_orphans,
    _error_from_notebook,
    _finish,
    _log_tail,
)
from tesla_lab.store import Project, Run

__all__ = [
    "KERNEL_NAME",
    "RUN_ID_PARAMETER",
    "PROJECT_PARAMETER",
    "TRAINING_RUN_PARAM",
    "NotebookError",
    "NotebookResult",
    "ensure_kernel",
    "parse_value",
    "parse_parameters",
    "find_notebook",
    "notebook_parameters",
    "check_parameters",
    "papermill_command",
    "run",
]

logger = logging.getLogger(__name__)

#: A notebook parameter the runner fills with the id of the notebook's own run in the store.
RUN_ID_PARAMETER = "tesla_run_id"
#: A notebook parameter the runner fills with the project folder when the caller does not give it.
PROJECT_PARAMETER = "project_dir"
_POLL = 0.25  # seconds between checks of the papermill process, the stop flag and the time limit
_GRACE = 10.0  # seconds papermill gets after SIGINT to shut its kernel down before the group is killed


# ------------------------------------------------------------------------------------------------ running
def _open_project(project: Project | str | os.PathLike[str] | None) -> Project:
    return project if isinstance(project, Project) else Project(project)


def _terminate(proc: subprocess.Popen[bytes], grace: float = _GRACE) -> None:
    """Stop papermill and its kernel: SIGINT to the group (papermill shuts the kernel down and saves the notebook),
    then SIGKILL after ``grace`` seconds (the kernel notices its parent is gone and exits)."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TQDM_DISABLE", "1")  # progress bars would flood the captured log
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    return env


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem) or "notebook"


def run(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    project: Project | str | os.PathLike[str] | None = None,
    name: str | None = None,
    output: str | os.PathLike[str] | None = None,
    kernel: str = KERNEL_NAME,
    execution_timeout: float | None = 6 * 3600.0,
    start_timeout: float = 120.0,
    timeout: float | None = None,
    check: bool = True,
    cancel: Callable[[], bool] | None = None,
    on_start: Callable[[Run], None] | None = None,
) -> NotebookResult:
    """Execute ``notebook`` with papermill in a subprocess and record it as a run of ``project``.

    Args:
        notebook: path of the ``.ipynb`` file (relative paths: from the current folder, else the project folder).
        parameters: values for names declared in the notebook's ``parameters`` cell (checked before running).
        project: a :class:`~tesla_lab.store.Project`, its folder, or ``None`` (the project holding the current
            folder).
        name: the run's name (default: the notebook's file name).
        output: where to write the executed notebook (default ``.tesla/notebooks/<stem>-<run id>.ipynb``).
        kernel: the Jupyter kernel; the default ``tesla-lab`` is registered on first use (:func:`ensure_kernel`).
        execution_timeout: seconds one cell may run (a hung or dead kernel fails the run instead of hanging).
        start_timeout: seconds the kernel may take to start.
        timeout: seconds the whole notebook may run before papermill and its kernel are killed (run ``failed``).
        check: raise :class:`NotebookError` when the run does not finish (``False``: return the failed result).
        cancel: polled while the notebook runs; returning True stops it (run ``stopped``). The run's stop flag in
            the store (:meth:`Run.request_stop`, the dashboard's Stop) does the same.
        on_start: called with the notebook's :class:`Run` once it exists, before papermill starts.

    >>> run("missing.ipynb")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: notebook 'missing.ipynb' does not exist (...); pass the path of an .ipynb file, \
e.g. notebooks/train.ipynb
    """
    proj = None if project is None else _open_project(project)
    path = find_notebook(notebook, None if proj is None else proj.path)
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"timeout is seconds (> 0) for the whole notebook, or None; got {timeout!r}")
    declared = notebook_parameters(path)
    params = _check_against(path.name, declared, dict(parameters or {}))
    if RUN_ID_PARAMETER in params:
        raise ConfigError(f"{RUN_ID_PARAMETER!r} is set by the runner to the notebook's own run id; do not pass it")
    proj = proj or _open_project(None)
    if kernel == KERNEL_NAME:
        ensure_kernel(kernel)
    elif kernel not in _known_kernels():
        raise ConfigError(f"no Jupyter kernel named {kernel!r}; installed kernels: "
                          f"{', '.join(_known_kernels()) or '(none)'}; register one with `python -m ipykernel "
                          f"install --sys-prefix --name {kernel}`")
    if PROJECT_PARAMETER in declared and PROJECT_PARAMETER not in params:
        params[PROJECT_PARAMETER] = str(proj.path)

    record = {"kind": "notebook", "notebook": str(path), "kernel": kernel, "parameters": params}
    nb_run = proj.start_run(name=name or path.name, config=record, params=params, status="running")
    injected = dict(params)
    if RUN_ID_PARAMETER in declared:
        injected[RUN_ID_PARAMETER] = nb_run.id
    workdir = proj.path / ".tesla" / "notebooks"
    workdir.mkdir(parents=True, exist_ok=True)
    out_path = Path(output).expanduser().resolve() if output is not None else (
        workdir / f"{_safe_stem(path)}-{nb_run.id[:12]}.ipynb")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{_safe_stem(path)}-{nb_run.id[:12]}.log"
    cmd = papermill_command(path, out_path, injected, kernel=kernel, cwd=proj.path,
                            execution_timeout=execution_timeout, start_timeout=start_timeout)
    # on a leash: papermill and its kernel stop when this process dies without stopping them
    cmd = [cmd[0], str(Path(__file__).with_name("_leash.py")), str(os.getpid()), *cmd[1:]]
    logger.info("running notebook %s as run %s", path, nb_run.id[:8])
    began = time.monotonic()
    status, error, returncode = "finished", None, None
    try:
        if on_start is not None:
            on_start(nb_run)
        with open(log_path, "wb") as log:
            # own process group (new session): a stop or timeout signals papermill and whatever it started
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=proj.path, env=_env(), start_new_session=True)
            try:
                returncode, status, error = _wait(proc, nb_run, began, timeout, cancel)
            except BaseException:  # KeyboardInterrupt / SystemExit in the caller: never leave papermill behind
                _terminate(proc)
                raise
    except BaseException as exc:
        _finish(proj, nb_run, "stopped" if isinstance(exc, KeyboardInterrupt) else "failed",
                f"{type(exc).__name__}: {exc}", out_path, log_path)
        raise
    if status == "finished" and returncode != 0:
        status = "failed"
    if status == "failed" and error is None:
        error = _error_from_notebook(out_path) or (
            f"papermill exited with status {returncode}; the end of its log:\n{_log_tail(log_path)}")
    training_id = _finish(proj, nb_run, status, error, out_path, log_path)
    result = NotebookResult(run_id=nb_run.id, status=status, notebook=path, output=out_path,
                            log=log_path, parameters=params, training_run_id=training_id, error=error,
                            returncode=returncode, duration=time.monotonic() - began)
    logger.info("notebook run %s %s", nb_run.id[:8], status)
    if check and not result.ok:
        first = (error or "").strip().splitlines()[0] if error else status
        raise NotebookError(f"notebook {path.name} {status} (run {nb_run.id[:8]}): {first}; the executed notebook "
                            f"is {out_path}", result)
    return result


def _wait(
    proc: subprocess.Popen[bytes],
    nb_run: Run,
    began: float,
    timeout: float | None,
    cancel: Callable[[], bool] | None,
) -> tuple[int, str, str | None]:
    """Wait for papermill; stop it on a cancel / stop request or after ``timeout`` seconds."""
    last_flag_check = 0.0
    while True:
        try:
            return proc.wait(timeout=_POLL), "finished", None
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if timeout is not None and now - began > timeout:
            _terminate(proc)
            return proc.returncode, "failed", f"timed out: the notebook ran longer than timeout={timeout:g} s"
        stop = cancel is not None and cancel()
        if not stop and now - last_flag_check >= 1.0:  # the store's stop flag: one cheap lookup a second
            last_flag_check = now
            stop = nb_run.stop_requested()
        if stop:
            _terminate(proc)
            return proc.returncode, "stopped", "stopped on request"


