"""AutoML workers: processes that join a search's Optuna study and run its trials.

The leader (:func:`~tesla_lab.automl.run_automl` with ``workers > 1``) creates the study in a shared storage,
starts ``workers - 1`` processes on this machine with :func:`start_workers` (``python -m tesla_lab.automl
--join``: an argument list, no shell) and takes trials itself once they are ready. A process on another machine
joins the same study with :func:`join_search` (``tesla automl --join --storage URL --study NAME``); it needs the
same project store (a shared folder, or the PostgreSQL store) for the dataset and the trial runs. Optuna hands
every trial number to exactly one process; the leader then builds the leaderboard from all of them.

>>> join_search(None, "journal://x.log", "s")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: a journal storage URL needs an absolute file path, ...
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from tesla_lab.automl.config import AutoMLConfig
from tesla_lab.automl.leaderboard import TrialRecord
from tesla_lab.automl.pruning import make_pruner
from tesla_lab.automl.study import STUDY_ATTRS, mark_ready, open_storage, ready_workers
from tesla_lab.automl.trials import Objective, TrialCallback, prepare_search
from tesla_lab.errors import AutoMLError, ConfigError
from tesla_lab.store import Project
from tesla_lab.workflow import resolve_data

__all__ = ["join_search", "start_workers", "wait_ready", "stop_workers", "sampler_for", "search_time_left"]

logger = logging.getLogger(__name__)

#: the environment variable that hands the storage URL to the worker processes :func:`start_workers` starts
STORAGE_ENV = "TESLA_AUTOML_STORAGE"


def sampler_for(cfg: AutoMLConfig, index: int | None) -> Any:
    """The TPE sampler of worker ``index`` (0: the leader): seeded ``seed + index`` so workers draw different points
    (``None``, a worker from another machine: unseeded); ``constant_liar`` keeps parallel workers from proposing
    the points other workers are still training."""
    import optuna

    seed = None if index is None else int(cfg.seed or 0) + index
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def _load(optuna: Any, storage: Any, url: str, study_name: str, **kwargs: Any) -> Any:
    try:
        return optuna.load_study(study_name=study_name, storage=storage, **kwargs)
    except KeyError:
        raise ConfigError(f"storage {url!r} has no study {study_name!r}; start the search first (tesla automl ... "
                          f"--storage {url} --study {study_name}) and check the name") from None


def join_search(project: Project, storage: str, study_name: str, *, index: int | None = None,
                on_trial: TrialCallback | Sequence[TrialCallback] = ()) -> list[TrialRecord]:
    """Run trials of the search whose Optuna study is ``study_name`` in ``storage`` until its trials or its time
    budget are used up; returns the records of the trials this process ran (the leader picks the best model).

    ``project`` must hold the search's run and dataset version (the same project store as the leader's);
    ``index`` seeds this worker's sampler (``None``: unseeded).
    """
    from tesla_lab.automl.search import import_optuna

    url = storage
    storage_obj = open_storage(url)
    optuna = import_optuna()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    attrs = _load(optuna, storage_obj, url, study_name).user_attrs
    missing = [k for k in STUDY_ATTRS if k not in attrs]
    if missing:
        raise ConfigError(f"study {study_name!r} was not created by tesla automl (it lacks {', '.join(missing)}); "
                          "join a study that `tesla automl --storage URL --study NAME` started")
    cfg = AutoMLConfig.from_dict(attrs["tesla_config"])
    try:
        parent = project.get_run(attrs["tesla_run_id"])
    except Exception as exc:
        raise ConfigError(f"the search's run {attrs['tesla_run_id'][:8]} is not in this project's store "
                          f"({project.path}); workers on other machines need the leader's project store: a shared "
                          "folder, or `store: postgresql://...` in tesla.yaml") from exc
    source = resolve_data(project, cfg.dataset)  # the dataset version the leader stored: the same rows
    setup = prepare_search(source, cfg)
    remaining = float(attrs["tesla_deadline"]) - time.time()
    if remaining <= 0:
        logger.info("search %s: its time budget is spent; nothing left to run", study_name)
        return []
    study = _load(optuna, storage_obj, url, study_name, sampler=sampler_for(cfg, index),
                  pruner=make_pruner(cfg.pruner, startup_trials=cfg.prune_startup))
    dataset = (source.name, int(source.version))  # type: ignore[arg-type]
    objective = Objective(project, parent, cfg, setup, attrs["tesla_name"], time.monotonic() + remaining, dataset,
                          on_trial)
    threads = torch.get_num_threads()
    try:
        if cfg.torch_threads is not None:
            torch.set_num_threads(cfg.torch_threads)
        mark_ready(study)
        study.optimize(objective, n_trials=cfg.max_trials, timeout=remaining, catch=(Exception,))
    finally:
        torch.set_num_threads(threads)
    logger.info("worker %s ran %d trial(s) of %s", objective.worker, len(objective.records), study_name)
    return objective.records


def search_time_left(storage: str, study_name: str) -> float:
    """Seconds until the time budget of the search in ``study_name`` ends (0 when it has)."""
    import optuna

    attrs = _load(optuna, open_storage(storage), storage, study_name).user_attrs
    return max(float(attrs.get("tesla_deadline", 0.0)) - time.time(), 0.0)


# ------------------------------------------------------------------------------------------ local processes
class LocalWorker:
    """A worker process this search started, with its log file."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc, self.log = proc, log

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_workers(project: Project, storage: str, study_name: str, count: int,
                  first_index: int | None = 1) -> list[LocalWorker]:
    """Start ``count`` worker processes joining ``study_name`` (sampler seeds ``first_index``, +1, ...; ``None``:
    unseeded, for workers joining from another machine); each logs to a file."""
    env = dict(os.environ)
    env[STORAGE_ENV] = storage  # not on the command line, where `ps` would show a password in the URL
    package_root = str(Path(__file__).resolve().parents[2])  # the same tesla_lab, also from a source checkout
    env["PYTHONPATH"] = os.pathsep.join([package_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    workers = []
    for i in range(count):
        fd, name = tempfile.mkstemp(prefix=f"tesla-automl-worker{i + 1}-", suffix=".log")
        cmd = [sys.executable, "-m", "tesla_lab.automl", "--project", str(project.path), "--study", study_name]
        if first_index is not None:
            cmd += ["--index", str(first_index + i)]
        with os.fdopen(fd, "wb") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        workers.append(LocalWorker(proc, Path(name)))
    return workers


def wait_ready(study: Any, workers: Sequence[LocalWorker], timeout: float) -> None:
    """Wait until every local worker has loaded the data and said so in the study (so the time budget is not spent
    on their start-up while the leader alone takes trials); a worker that died raises :class:`AutoMLError`."""
    pids = {str(w.proc.pid) for w in workers}
    end = time.monotonic() + timeout
    while True:
        ready = {w.rsplit(":", 1)[-1] for w in ready_workers(study)}
        if pids <= ready:
            return
        dead = [w for w in workers if w.proc.poll() is not None and str(w.proc.pid) not in ready]
        if dead:
            raise AutoMLError(f"AutoML worker process {dead[0].proc.pid} exited with code {dead[0].proc.returncode} "
                              f"before taking trials; its log ({dead[0].log}):\n{dead[0].tail()}")
        if time.monotonic() > end:
            logger.warning("AutoML workers %s not ready after %.0f s; searching without waiting for them",
                           ", ".join(sorted(pids - ready)), timeout)
            return
        time.sleep(0.2)


def stop_workers(workers: Sequence[LocalWorker], timeout: float) -> None:
    """Wait up to ``timeout`` seconds for the workers to end, then terminate (and kill) the rest; log failures."""
    end = time.monotonic() + max(timeout, 0.0)
    for worker in workers:
        try:
            worker.proc.wait(timeout=max(end - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            logger.warning("AutoML worker %d still running after the search; stopping it", worker.proc.pid)
            worker.proc.terminate()
            try:
                worker.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
        if worker.proc.returncode not in (0, None, -15):
            logger.warning("AutoML worker %d exited with code %s; its log:\n%s", worker.proc.pid,
                           worker.proc.returncode, worker.tail())
        worker.log.unlink(missing_ok=True)


def wait_running(study: Any, max_trials: int, until: float) -> None:
    """Wait (up to wall-clock ``until``) for trials other machines' workers are still running."""
    while time.time() < until:
        running = [t.number for t in study.get_trials(deepcopy=False)
                   if t.state.name == "RUNNING" and t.number < max_trials]
        if not running:
            return
        time.sleep(0.5)
    logger.warning("trials still running in other workers at the end of the search; left out of the leaderboard")
