"""AutoML: search model families and hyper-parameters with Optuna, within a time budget and a trial count, and
register the best model.

Top to bottom (:func:`run_automl`): load and prepare the data once (task detection, train / validation / test
split, preprocessing fitted on the training rows), check everything, then store the dataset version and start a
parent run. Each Optuna trial (TPE sampler, seeded) picks a family and its hyper-parameters, trains on the training
rows and is scored on the validation rows; it is a child run in the project store with its params and metrics. A
trial that fails (a bad combination, a diverged network) is recorded as a failed run and the search goes on. The
first trial of every family uses that family's defaults. Then the best configuration is retrained on training +
validation rows (``refit=True``), evaluated once on the held-out test rows, saved as a bundle in the parent run
and registered.

The time budget is checked between trials (Optuna's ``timeout``) and inside torch training (a trial still running
at the deadline is cut short and scored on the epochs it ran); scikit-learn fits cannot be interrupted, so their
spaces are kept small. The final refit runs after the budget.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> result = automl("iris", project=project, families=["sklearn:logistic", "sklearn:knn"], max_trials=3,
...                 time_budget=20)
>>> result.task, result.metric, len(result.leaderboard), result.test_metrics["accuracy"] > 0.8
('classification', 'accuracy', 3, True)
>>> project.registry.get_model(result.name).version, result.name
(1, 'iris-automl')
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pandas as pd
import torch

from tesla_lab.automl.config import PROJECT_STORAGE, AutoMLConfig
from tesla_lab.automl.leaderboard import TrialRecord, leaderboard
from tesla_lab.automl.pruning import make_pruner
from tesla_lab.automl.space import FIT_OPTIONS
from tesla_lab.automl.study import open_storage, project_storage, trial_records
from tesla_lab.automl.trials import (
    Objective,
    SearchSetup,
    TrialCallback,
    build_estimator,
    fit_estimator,
    framework_of,
    prepare_search,
)
from tesla_lab.automl.workers import LocalWorker, sampler_for, start_workers, stop_workers, wait_ready, wait_running
from tesla_lab.errors import AutoMLError, ConfigError
from tesla_lab.models import ModelBundle, save_bundle
from tesla_lab.store import FINAL_STATUSES, Project, Run
from tesla_lab.store.location import redact_url
from tesla_lab.store.runs import format_error
from tesla_lab.workflow import DataSource, frame_source, prepare, resolve_data, snapshot_source

__all__ = ["AutoMLError", "AutoMLResult", "TrialCallback", "automl", "run_automl", "import_optuna"]

logger = logging.getLogger(__name__)


def records_scored(records: Sequence[TrialRecord]) -> bool:
    """True when at least one trial has a validation score."""
    return any(r.scored for r in records)


def import_optuna() -> ModuleType:
    """Import Optuna, or raise a :class:`~tesla_lab.errors.ConfigError` naming the extra that installs it.

    >>> import_optuna().__name__
    'optuna'
    """
    try:
        import optuna
    except ImportError as exc:
        raise ConfigError("AutoML needs Optuna, which is not installed; install it with "
                          "`pip install 'tesla-lab[automl]'`") from exc
    return optuna


@dataclass
class AutoMLResult:
    """What one search produced.

    ``leaderboard``: every trial, best first (see :func:`~tesla_lab.automl.leaderboard`); ``best``: the winning
    trial; ``bundle``: the final model (retrained on train + validation rows when ``refit``) with
    ``test_metrics`` from the held-out test rows; ``version``: its registry version (None when not registered);
    ``run_id``: the parent run holding the bundle, the leaderboard and, as children, the trial runs.
    """

    name: str
    version: int | None
    run_id: str
    task: str
    metric: str
    maximize: bool
    best: TrialRecord
    leaderboard: pd.DataFrame
    bundle: ModelBundle
    test_metrics: dict[str, float]
    dataset: str
    n_trials: int
    n_failed: int
    elapsed: float
    config: AutoMLConfig
    study: Any = field(default=None, repr=False)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or "@" in name:
        raise ConfigError(f"a model name must be a non-empty string without '@' (e.g. 'wine-automl'); got {name!r}")
    return name.strip()


def _resolve(project: Project, config: AutoMLConfig | Mapping[str, Any]) -> AutoMLConfig:
    cfg = config if isinstance(config, AutoMLConfig) else AutoMLConfig.from_dict(config)
    defaults = project.defaults
    return cfg.replace(device=cfg.device or defaults.get("device") or "auto",
                       seed=cfg.seed if cfg.seed is not None else int(defaults.get("seed") or 0))


def _source(project: Project, cfg: AutoMLConfig, data: pd.DataFrame | None, name: str | None) -> DataSource:
    if data is None:
        return resolve_data(project, cfg.dataset)
    return frame_source(data, cfg.dataset, name.removesuffix("-automl") if name else "data")


def _storage(project: Project, cfg: AutoMLConfig, study_name: str) -> str | None:
    """The storage URL of the study: ``'project'`` is the project store's database on PostgreSQL, else its
    ``.tesla/optuna.db`` (:func:`~tesla_lab.automl.study.project_storage`). Several workers without a storage share
    the store's PostgreSQL database, or, with the SQLite store, a journal file in the project's ``.tesla/automl/``
    (a study in memory is one process's)."""
    if cfg.storage == PROJECT_STORAGE or (cfg.storage is None and cfg.workers > 1
                                          and project.location.engine == "postgresql"):
        return project_storage(project)
    if cfg.storage is None and cfg.workers > 1:
        return f"journal://{(project.path / '.tesla' / 'automl' / f'{study_name}.log').resolve()}"
    return cfg.storage


def _check_new_study(optuna: ModuleType, url: str | None, study_name: str) -> None:
    if url is None:
        return
    if study_name in optuna.study.get_all_study_names(storage=open_storage(url)):
        raise ConfigError(f"storage {url!r} already has a study {study_name!r}; add workers to it with `tesla automl "
                          f"--join --storage {url} --study {study_name}`, or choose another study name")


def run_automl(
    project: Project,
    config: AutoMLConfig | Mapping[str, Any],
    *,
    name: str | None = None,
    data: pd.DataFrame | None = None,
    register: bool = True,
    on_trial: TrialCallback | Sequence[TrialCallback] = (),
) -> AutoMLResult:
    """Run the search ``config`` describes, recording every trial in ``project``; returns an
    :class:`AutoMLResult`.

    Args:
        project: the project whose store receives the dataset version, the runs, the bundle and the model.
        config: an :class:`AutoMLConfig` or its dict form.
        name: the registered model's name and the parent run's (default ``'<dataset>-automl'``).
        data: a DataFrame to search on instead of ``config.dataset`` (stored as dataset ``config.dataset``).
        register: add the final model to the registry (stage ``none``).
        on_trial: a callable (or several) receiving each :class:`~tesla_lab.automl.TrialRecord` this process runs
            as it ends (progress output, a UI).

    With ``config.workers > 1`` this process is the leader: it starts ``workers - 1`` worker processes that share
    the study (trials run in parallel, none twice), takes trials itself, waits for them, and builds the
    leaderboard from every worker's trials (also those of workers on other machines that joined the study).

    Bad data or options raise before anything is stored; a search where every trial failed raises
    :class:`AutoMLError` (the trial runs stay in the store with their errors).
    """
    started = time.monotonic()
    cfg = _resolve(project, config)
    optuna = import_optuna()
    if name is not None:
        name = _check_name(name)
    source = _source(project, cfg, data, name)
    setup = prepare_search(source, cfg)
    name = name or _check_name(f"{source.name}-automl")
    if cfg.study is not None:
        _check_new_study(optuna, _storage(project, cfg, cfg.study), cfg.study)

    # -- every check passed: from here on the store changes
    source = snapshot_source(project, source)
    cfg = cfg.replace(dataset=source.ref, target=setup.target, task=setup.prep.task, metric=setup.metric,
                      families=setup.families, features=setup.prep.features)
    dataset = (source.name, int(source.version))  # type: ignore[arg-type]
    parent = project.start_run(name=name, config={"automl": cfg.to_dict()}, dataset=dataset,
                               params={"automl.metric": setup.metric, "automl.time_budget": cfg.time_budget,
                                       "automl.max_trials": cfg.max_trials, "automl.families": setup.families,
                                       "automl.workers": cfg.workers, "automl.pruner": cfg.pruner,
                                       "task": setup.prep.task, "target": setup.target, "seed": cfg.seed})
    search = Objective(project, parent, cfg, setup, name, started + cfg.time_budget, dataset, on_trial)
    threads = torch.get_num_threads()
    try:
        if cfg.torch_threads is not None:
            torch.set_num_threads(cfg.torch_threads)
        study = _optimize(optuna, project, cfg, search, name, parent, started)
        records = trial_records(study, cfg.max_trials)
        result = _finish(project, cfg, search, records, source, setup, parent, name, register, started)
    except BaseException as exc:
        if parent.status not in FINAL_STATUSES:
            interrupted = isinstance(exc, KeyboardInterrupt)
            parent.finish("stopped" if interrupted else "failed",
                          error="KeyboardInterrupt" if interrupted else format_error(exc))
        raise
    finally:
        torch.set_num_threads(threads)
    result.study = study
    return result


def _optimize(optuna: ModuleType, project: Project, cfg: AutoMLConfig, search: Objective, name: str, parent: Run,
              started: float) -> Any:
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our logger reports trials; Optuna's would repeat them
    study_name = cfg.study or f"{name}-{parent.id[:8]}"
    url = _storage(project, cfg, study_name)
    workers: list[LocalWorker] = []
    try:
        study = optuna.create_study(direction="maximize" if search.maximize else "minimize",
                                    sampler=sampler_for(cfg, 0), storage=open_storage(url) if url else None,
                                    pruner=make_pruner(cfg.pruner, startup_trials=cfg.prune_startup),
                                    study_name=study_name)
        remaining = max(cfg.time_budget - (time.monotonic() - started), 1e-3)  # at least one trial always runs
        # what a worker joining the study needs: the run to add trials to, the resolved config, the deadline
        study.set_user_attr("tesla_run_id", parent.id)
        study.set_user_attr("tesla_name", name)
        study.set_user_attr("tesla_config", cfg.to_dict())
        study.set_user_attr("tesla_deadline", time.time() + remaining)
        parent.log_params({"automl.study": study_name, **({"automl.storage": redact_url(url)} if url else {})})
        for space in list(search.spaces.values())[: cfg.max_trials]:  # every family starts from its defaults
            study.enqueue_trial({"family": space.family, **space.enqueue_params()})
        if cfg.workers > 1 and url is not None:
            workers = start_workers(project, url, study_name, cfg.workers - 1)
            wait_ready(study, workers, timeout=remaining)
        remaining = max(cfg.time_budget - (time.monotonic() - started), 1e-3)
        study.optimize(search, n_trials=cfg.max_trials, timeout=remaining, catch=(Exception,))
        grace = 30.0  # a scikit-learn fit cannot be cut at the deadline
        stop_workers(workers, timeout=cfg.time_budget - (time.monotonic() - started) + grace)
        workers = []
        if url is not None:  # trials workers on other machines are still running
            wait_running(study, cfg.max_trials, until=float(study.user_attrs["tesla_deadline"]) + grace)
    finally:
        stop_workers(workers, timeout=0)  # Ctrl-C or an error: take the local workers down too
        optuna.logging.set_verbosity(verbosity)
    return study


def _finish(project: Project, cfg: AutoMLConfig, search: Objective, records: list[TrialRecord], source: DataSource,
            setup: SearchSetup, parent: Run, name: str, register: bool, started: float) -> AutoMLResult:
    """Pick the best trial of every worker's, refit it, evaluate it once on the test rows, save and register it."""
    board = leaderboard(records, metric=search.metric, maximize=search.maximize)
    n_failed = int((board["status"] == "failed").sum())
    parent.log_artifact("leaderboard.json", board.to_json(orient="records", indent=2).encode(), kind="report")
    if not len(board) or not records_scored(records):
        first = board.iloc[0]["error"] if len(board) else "no trial ran"
        raise AutoMLError(f"all {len(board)} AutoML trial(s) failed, so there is no model; the first error: {first}. "
                          "Check the data and the space overrides (the failed runs hold the tracebacks)")
    best = next(r for r in records if r.trial == int(board.iloc[0]["trial"]))
    hparams = {k: v for k, v in best.params.items() if k not in FIT_OPTIONS}
    fit = {k: v for k, v in best.params.items() if k in FIT_OPTIONS}
    if cfg.refit:  # same seed and test_size: the same test rows; training gets the validation rows too
        prep = prepare(source.frame, cfg.target, cfg.features, val_size=0, **setup.prep_args)  # type: ignore[arg-type]
        estimator = build_estimator(best.family, prep, hparams, int(cfg.seed or 0))
        fit_estimator(estimator, prep, fit, cfg, None)
    elif search.best_trial == best.trial and search.best_model is not None:
        prep, estimator = search.prep, search.best_model
    else:  # another worker trained it: the same seed on the same rows trains the same model again
        prep = search.prep
        estimator = build_estimator(best.family, prep, hparams, int(cfg.seed or 0))
        fit_estimator(estimator, prep, fit, cfg, None)
    train_config = cfg.train_config(framework=framework_of(best.family), family=best.family, model=hparams,
                                    **({"val_size": 0} if cfg.refit else {}), **fit)
    bundle = ModelBundle(estimator, features=prep.features, target=prep.target, task=prep.task, classes=prep.classes,
                         preprocessing=prep.pipeline, encoded_features=prep.encoded_features,
                         target_scaling=prep.target_scaling, train_config=train_config.to_dict())
    report = bundle.evaluate(prep.test_frame)  # the only time the test rows are used
    bundle.metrics = report["summary"]
    parent.log_params({"best.trial": best.trial, "best.family": best.family,
                       **{f"best.model.{k}": v for k, v in best.params.items()}})
    parent.log_metrics({f"val_{search.metric}": best.val_score, "n_trials": len(board), "n_failed": n_failed,
                        **{f"test_{k}": v for k, v in bundle.metrics.items()}}, step=0)
    parent.log_artifact("test_report.json", json.dumps(report, indent=2, default=str).encode(), kind="report")
    manifest = save_bundle(bundle, parent)
    version = None
    if register:
        payload = parent.artifact_sha(estimator.payload_name) if estimator.framework == "torch" else manifest
        version = project.registry.register_model(
            name, run_id=parent.id, artifact=payload,
            description=f"AutoML best of {len(board)} trials: {best.family} on {source.ref}",
            metadata={"bundle": manifest, "family": best.family, "framework": estimator.framework, "task": prep.task,
                      "target": prep.target, "dataset": source.ref, "metrics": bundle.metrics, "status": "finished",
                      "automl": {"metric": search.metric, "val_score": best.val_score, "trial": best.trial,
                                 "n_trials": len(board), "params": best.params, "refit": cfg.refit}},
        ).version
    parent.finish("finished")
    elapsed = time.monotonic() - started
    logger.info("automl %s: best %s (val %s %.4g) of %d trials in %.1f s; test %s", name, best.family, search.metric,
                best.val_score, len(board), elapsed, bundle.metrics)
    return AutoMLResult(name=name, version=version, run_id=parent.id, task=prep.task, metric=search.metric,
                        maximize=search.maximize, best=best, leaderboard=board, bundle=bundle,
                        test_metrics=dict(bundle.metrics), dataset=source.ref, n_trials=len(board), n_failed=n_failed,
                        elapsed=elapsed, config=cfg)


def automl(
    data: str | os.PathLike[str] | pd.DataFrame | None = None,
    target: str | None = None,
    *,
    project: Project | str | os.PathLike[str] | None = None,
    name: str | None = None,
    register: bool = True,
    on_trial: TrialCallback | Sequence[TrialCallback] = (),
    **options: Any,
) -> AutoMLResult:
    """Search for the best model of ``target`` in ``data`` — a DataFrame, a file, a sample name or a dataset of the
    project (``'train@2'``) — and register it; ``options`` are :class:`AutoMLConfig` fields (``time_budget``,
    ``max_trials``, ``families``, ``metric``, ``space``, ...). ``project``: a Project or its folder (default: the
    project holding the current folder). See :func:`run_automl`.

    >>> automl("iris", time_budget=-1, project=".")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: time_budget must be a positive number of seconds; got -1
    """
    given = dict(options)
    if isinstance(data, (str, os.PathLike)):
        given["dataset"] = os.fspath(data)
    if target is not None:
        given["target"] = target
    cfg = AutoMLConfig.from_dict(given)  # bad options fail before the project is opened
    proj = project if isinstance(project, Project) else Project(project)
    frame = data if isinstance(data, pd.DataFrame) else None
    return run_automl(proj, cfg, name=name, data=frame, register=register, on_trial=on_trial)
