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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pandas as pd
import torch

from tesla_lab.automl.config import PROJECT_STORAGE, AutoMLConfig
from tesla_lab.automl.leaderboard import TrialRecord, count_params, leaderboard
from tesla_lab.automl.scoring import maximize, resolve_metric, validation_score
from tesla_lab.automl.space import FIT_OPTIONS, FamilySpace, default_families, search_space
from tesla_lab.errors import AutoMLError, ConfigError, DataError
from tesla_lab.models import Estimator, ModelBundle, get_family, make_model, save_bundle
from tesla_lab.store import FINAL_STATUSES, Project, Run
from tesla_lab.store.runs import format_error
from tesla_lab.train import Callback
from tesla_lab.utils import set_seed
from tesla_lab.workflow import DataSource, PreparedData, prepare, resolve_data, snapshot_source

__all__ = ["AutoMLError", "AutoMLResult", "TrialCallback", "automl", "run_automl", "import_optuna"]

logger = logging.getLogger(__name__)

TrialCallback = Callable[[TrialRecord], Any]


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


class _Deadline(Callback):
    """Stops torch training at the search deadline (checked after every optimizer step: one clock read)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.hit = False

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        if time.monotonic() >= self.deadline:
            self.hit = True
            trainer.stop()


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
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(f"data must be a pandas DataFrame (or leave it out and set dataset); got "
                          f"{type(data).__name__}")
    if cfg.dataset is not None and "@" in cfg.dataset:
        raise ConfigError(f"with data= the dataset option is the name to store it under, without '@VERSION'; got "
                          f"{cfg.dataset!r}")
    label = cfg.dataset or (name.removesuffix("-automl") if name else "data")
    return DataSource(frame=data, kind="frame", name=label, version=None, origin="DataFrame")


def _families(cfg: AutoMLConfig, task: str) -> list[str]:
    families = cfg.families or default_families(task)
    for family in families:
        fam = get_family(family)
        if task not in fam.tasks:
            raise ConfigError(f"family {family!r} does {' and '.join(fam.tasks)} only, but this target is a {task} "
                              f"task; leave it out of families")
    extra = sorted(set(cfg.space) - set(families))
    if extra:
        raise ConfigError(f"space overrides family {', '.join(map(repr, extra))}, which is not searched; searched "
                          f"families: {', '.join(families)}")
    return families


def _framework(family: str) -> str:
    if get_family(family).framework == "scikit-learn":
        return "scikit-learn"
    return "tt" if family == "tt_mlp" else "torch"


def _storage(project: Project, storage: str | None) -> str | None:
    if storage == PROJECT_STORAGE:
        return f"sqlite:///{project.path / '.tesla' / 'optuna.db'}"
    return storage


def _better(score: float, than: float | None, bigger: bool) -> bool:
    return than is None or (score > than if bigger else score < than)


def _fit(estimator: Estimator, prep: PreparedData, fit: dict[str, Any], cfg: AutoMLConfig,
         deadline: float | None, X: Any = None, y: Any = None) -> tuple[float, int | None]:
    """Train ``estimator`` on the training rows (or ``X``, ``y``); returns the fit time and, for torch models cut
    at ``deadline``, the epochs completed (else None)."""
    X = prep.X_train if X is None else X
    y = prep.y_train if y is None else y
    start = time.perf_counter()
    if estimator.framework != "torch":
        estimator.fit(X, y, seed=cfg.seed)
        return time.perf_counter() - start, None
    stop = _Deadline(deadline) if deadline is not None else None
    estimator.fit(X, y, epochs=fit.get("epochs", 10), lr=fit.get("lr"), batch_size=fit.get("batch_size", 32),
                  seed=cfg.seed, device=cfg.device or "auto", callbacks=[stop] if stop else [])
    ran = len(estimator.history_.history.get("loss", [])) if stop is not None and stop.hit else None  # type: ignore[attr-defined]
    return time.perf_counter() - start, ran


def _build(family: str, prep: PreparedData, hparams: dict[str, Any], seed: int) -> Estimator:
    set_seed(seed)  # the initial weights are part of the trial
    return make_model(family, len(prep.encoded_features), prep.n_outputs, prep.task, **hparams)


class _Search:
    """The state of one search: the objective Optuna calls, the records, the best model so far."""

    def __init__(self, project: Project, parent: Run, cfg: AutoMLConfig, prep: PreparedData, name: str,
                 spaces: dict[str, FamilySpace], metric: str, deadline: float, dataset: tuple[str, int],
                 on_trial: TrialCallback | Sequence[TrialCallback]) -> None:
        self.project, self.parent, self.cfg, self.prep, self.name = project, parent, cfg, prep, name
        self.spaces, self.metric, self.deadline, self.dataset = spaces, metric, deadline, dataset
        self.maximize = maximize(metric)
        self.on_trial = [on_trial] if callable(on_trial) else list(on_trial)
        self.records: list[TrialRecord] = []
        self.best_score: float | None = None
        self.best_model: Estimator | None = None

    def __call__(self, trial: Any) -> float:
        family = trial.suggest_categorical("family", list(self.spaces))
        record = TrialRecord(trial.number, family, {}, "failed", None, 0.0, None, None)
        run: Run | None = None
        start = time.perf_counter()
        try:
            space = self.spaces[family]
            hparams, fit = space.resolve(space.sample(trial))  # a bad override value may fail here
            record.params = params = {**hparams, **fit}
            train_config = self.cfg.train_config(framework=_framework(family), family=family, model=hparams, **fit)
            run = self._start_run(trial.number, family, params, train_config.to_dict())
            record.run_id = run.id
            estimator = _build(family, self.prep, hparams, int(self.cfg.seed or 0))
            fit_time, ran = _fit(estimator, self.prep, fit, self.cfg, self.deadline)
            if ran is not None:  # cut by the budget: the model on the board ran this many epochs
                params["epochs"] = ran
            score = validation_score(estimator, self.prep.X_val, self.prep.y_val, self.metric,
                                     target_scaling=self.prep.target_scaling)
            record.status = "stopped" if ran is not None else "ok"
            record.val_score, record.fit_time, record.n_params = score, fit_time, count_params(estimator)
            run.log_metrics({f"val_{self.metric}": score, "fit_time": fit_time,
                             **({"n_params": record.n_params} if record.n_params is not None else {})}, step=0)
            if ran is not None:
                run.log_params({"model.epochs": ran})
            run.finish("stopped" if ran is not None else "finished")
            if not self.cfg.refit and _better(score, self.best_score, self.maximize):
                self.best_score, self.best_model = score, estimator
            return score
        except Exception as exc:  # a bad combination must not end the search: record it, let Optuna mark it failed
            record.status, record.val_score = "failed", None
            record.fit_time = time.perf_counter() - start
            record.error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]
            if run is None:
                run = self._start_run(trial.number, family, record.params, {})
                record.run_id = run.id
            run.finish("failed", error=format_error(exc))
            logger.warning("automl trial %d (%s) failed: %s", trial.number, family, record.error)
            raise
        except BaseException:  # Ctrl-C: the trial is stopped, the search ends
            if run is not None:
                run.finish("stopped", error="KeyboardInterrupt")
            raise
        finally:
            self.records.append(record)
            for callback in self.on_trial:
                callback(record)

    def _start_run(self, number: int, family: str, params: dict[str, Any], config: dict[str, Any]) -> Run:
        """A child run of the search for trial ``number``; its config is the trial's TrainConfig."""
        return self.project.start_run(
            name=f"{self.name}-trial-{number:03d}", config=config, parent=self.parent, dataset=self.dataset,
            params={"automl.trial": number, "family": family, **{f"model.{k}": v for k, v in params.items()}})


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
        on_trial: a callable (or several) receiving each :class:`~tesla_lab.automl.TrialRecord` as it ends
            (progress output, a UI).

    Bad data or options raise before anything is stored; a search where every trial failed raises
    :class:`AutoMLError` (the trial runs stay in the store with their errors).
    """
    started = time.monotonic()
    cfg = _resolve(project, config)
    optuna = import_optuna()
    if name is not None:
        name = _check_name(name)
    source = _source(project, cfg, data, name)
    if source.frame.shape[0] == 0:
        raise DataError(f"the data ({source.origin}) has no rows; AutoML needs a table with a target column and at "
                        "least a few dozen rows")
    target = cfg.target or source.target or str(source.frame.columns[-1])
    prep_args = dict(task=cfg.task, preprocessing=cfg.preprocessing, max_categories=cfg.max_categories,
                     test_size=cfg.test_size, scale_target=True, seed=int(cfg.seed or 0))
    prep = prepare(source.frame, target, cfg.features, val_size=cfg.val_size, **prep_args)  # type: ignore[arg-type]
    if prep.X_val is None or prep.y_val is None:  # pragma: no cover - AutoMLConfig refuses val_size=0
        raise ConfigError("the validation split is empty; raise val_size")
    metric = resolve_metric(cfg.metric, prep.task)
    families = _families(cfg, prep.task)
    spaces = {f: search_space(f, len(prep.X_train), cfg.space.get(f)) for f in families}
    name = name or _check_name(f"{source.name}-automl")

    # -- every check passed: from here on the store changes
    source = snapshot_source(project, source)
    cfg = cfg.replace(dataset=source.ref, target=target, task=prep.task, metric=metric, families=families,
                      features=prep.features)
    dataset = (source.name, int(source.version))  # type: ignore[arg-type]
    parent = project.start_run(name=name, config={"automl": cfg.to_dict()}, dataset=dataset,
                               params={"automl.metric": metric, "automl.time_budget": cfg.time_budget,
                                       "automl.max_trials": cfg.max_trials, "automl.families": families,
                                       "task": prep.task, "target": target, "seed": cfg.seed})
    search = _Search(project, parent, cfg, prep, name, spaces, metric, started + cfg.time_budget, dataset, on_trial)
    threads = torch.get_num_threads()
    try:
        if cfg.torch_threads is not None:
            torch.set_num_threads(cfg.torch_threads)
        study = _optimize(optuna, project, cfg, search, name, parent, started)
        result = _finish(project, cfg, search, source, prep_args, parent, name, register, started)
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


def _optimize(optuna: ModuleType, project: Project, cfg: AutoMLConfig, search: _Search, name: str, parent: Run,
              started: float) -> Any:
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our logger reports trials; Optuna's would repeat them
    try:
        sampler = optuna.samplers.TPESampler(seed=int(cfg.seed or 0))
        study = optuna.create_study(direction="maximize" if search.maximize else "minimize", sampler=sampler,
                                    storage=_storage(project, cfg.storage), study_name=f"{name}-{parent.id[:8]}")
        study.set_user_attr("tesla_run_id", parent.id)
        for space in search.spaces.values():  # every family starts from its defaults
            study.enqueue_trial({"family": space.family, **space.enqueue_params()})
        remaining = max(cfg.time_budget - (time.monotonic() - started), 1e-3)  # at least one trial always runs
        study.optimize(search, n_trials=cfg.max_trials, timeout=remaining, catch=(Exception,))
    finally:
        optuna.logging.set_verbosity(verbosity)
    return study


def _finish(project: Project, cfg: AutoMLConfig, search: _Search, source: DataSource, prep_args: dict[str, Any],
            parent: Run, name: str, register: bool, started: float) -> AutoMLResult:
    """Pick the best trial, refit it, evaluate it once on the test rows, save and register it."""
    board = leaderboard(search.records, metric=search.metric, maximize=search.maximize)
    n_failed = int((board["status"] == "failed").sum())
    parent.log_artifact("leaderboard.json", board.to_json(orient="records", indent=2).encode(), kind="report")
    if n_failed == len(board):
        first = board.iloc[0]["error"] if len(board) else "no trial ran"
        raise AutoMLError(f"all {len(board)} AutoML trial(s) failed, so there is no model; the first error: {first}. "
                          "Check the data and the space overrides (the failed runs hold the tracebacks)")
    best = next(r for r in search.records if r.trial == int(board.iloc[0]["trial"]))
    hparams = {k: v for k, v in best.params.items() if k not in FIT_OPTIONS}
    fit = {k: v for k, v in best.params.items() if k in FIT_OPTIONS}
    if cfg.refit:  # same seed and test_size: the same test rows; training gets the validation rows too
        prep = prepare(source.frame, cfg.target, cfg.features, val_size=0, **prep_args)  # type: ignore[arg-type]
        estimator = _build(best.family, prep, hparams, int(cfg.seed or 0))
        _fit(estimator, prep, fit, cfg, None)
    else:
        prep, estimator = search.prep, search.best_model  # type: ignore[assignment]
    train_config = cfg.train_config(framework=_framework(best.family), family=best.family, model=hparams,
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
