"""One AutoML trial: the objective every search process (the leader and its workers) hands to Optuna.

:func:`prepare_search` turns the data and an :class:`~tesla_lab.automl.AutoMLConfig` into the split, the metric
and the family spaces, the same way in every process (same dataset version, same seed: the same rows).
:class:`Objective` runs one trial: it picks a family and its hyper-parameters, trains on the training rows
(stopping at the search deadline, or when the pruner says so), scores on the validation rows and records the
trial as a child run of the search and as a :class:`~tesla_lab.automl.TrialRecord` kept with the Optuna trial.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tesla_lab.automl.config import AutoMLConfig
from tesla_lab.automl.leaderboard import TrialRecord, count_params
from tesla_lab.automl.pruning import PruningCallback
from tesla_lab.automl.scoring import maximize, resolve_metric, validation_score
from tesla_lab.automl.space import FamilySpace, default_families, search_space
from tesla_lab.automl.study import SURPLUS_ATTR, store_record, worker_id
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models import Estimator, get_family, make_model
from tesla_lab.store import Project, Run
from tesla_lab.store.runs import format_error
from tesla_lab.train import Callback
from tesla_lab.utils import set_seed
from tesla_lab.workflow import DataSource, PreparedData, prepare

__all__ = ["SearchSetup", "Objective", "prepare_search", "fit_estimator", "build_estimator", "framework_of"]

logger = logging.getLogger(__name__)

TrialCallback = Callable[[TrialRecord], Any]


@dataclass
class SearchSetup:
    """What every process of a search derives from the data and the config: the prepared split, the
    :func:`prepare` arguments (for the final refit), the metric, the families and their spaces."""

    prep: PreparedData
    prep_args: dict[str, Any]
    target: str
    metric: str
    families: list[str]
    spaces: dict[str, FamilySpace]


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


def prepare_search(source: DataSource, cfg: AutoMLConfig) -> SearchSetup:
    """Split and preprocess ``source`` as ``cfg`` says and build the family spaces; raises before anything is
    stored when the data or the options do not fit."""
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
    return SearchSetup(prep, prep_args, target, metric, families, spaces)


class _Deadline(Callback):
    """Stops torch training at the search deadline (checked after every optimizer step: one clock read)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.hit = False

    def on_batch_end(self, trainer: Any, step: int, logs: dict[str, Any]) -> None:
        if time.monotonic() >= self.deadline:
            self.hit = True
            trainer.stop()


def framework_of(family: str) -> str:
    """The framework name a :class:`~tesla_lab.workflow.TrainConfig` gives ``family``.

    >>> framework_of("tt_mlp"), framework_of("sklearn:knn"), framework_of("mlp")
    ('tt', 'scikit-learn', 'torch')
    """
    if get_family(family).framework == "scikit-learn":
        return "scikit-learn"
    return "tt" if family == "tt_mlp" else "torch"


def fit_estimator(estimator: Estimator, prep: PreparedData, fit: dict[str, Any], cfg: AutoMLConfig,
                  deadline: float | None, X: Any = None, y: Any = None,
                  pruning: PruningCallback | None = None) -> tuple[float, int | None]:
    """Train ``estimator`` on the training rows (or ``X``, ``y``); returns the fit time and, for torch models cut
    at ``deadline`` (``time.monotonic()``), the epochs completed (else None). With ``pruning`` the validation rows
    are scored after every epoch and reported to the trial."""
    X = prep.X_train if X is None else X
    y = prep.y_train if y is None else y
    start = time.perf_counter()
    if estimator.framework != "torch":
        estimator.fit(X, y, seed=cfg.seed)
        return time.perf_counter() - start, None
    stop = _Deadline(deadline) if deadline is not None else None
    callbacks = [c for c in (stop, pruning) if c is not None]
    val = (prep.X_val, prep.y_val) if pruning is not None else None
    estimator.fit(X, y, epochs=fit.get("epochs", 10), lr=fit.get("lr"), batch_size=fit.get("batch_size", 32),
                  seed=cfg.seed, device=cfg.device or "auto", callbacks=callbacks, validation_data=val)
    ran = len(estimator.history_.history.get("loss", [])) if stop is not None and stop.hit else None  # type: ignore[attr-defined]
    return time.perf_counter() - start, ran


def build_estimator(family: str, prep: PreparedData, hparams: dict[str, Any], seed: int) -> Estimator:
    """A fresh model of ``family`` for ``prep``'s features and outputs, its initial weights drawn from ``seed``."""
    set_seed(seed)  # the initial weights are part of the trial
    return make_model(family, len(prep.encoded_features), prep.n_outputs, prep.task, **hparams)


def _better(score: float, than: float | None, bigger: bool) -> bool:
    return than is None or (score > than if bigger else score < than)


class Objective:
    """The state of one search process: the objective Optuna calls, the records of the trials it ran, the best
    model it trained."""

    def __init__(self, project: Project, parent: Run, cfg: AutoMLConfig, setup: SearchSetup, name: str,
                 deadline: float, dataset: tuple[str, int],
                 on_trial: TrialCallback | Sequence[TrialCallback] = ()) -> None:
        self.project, self.parent, self.cfg, self.name = project, parent, cfg, name
        self.prep, self.spaces, self.metric = setup.prep, setup.spaces, setup.metric
        self.deadline, self.dataset = deadline, dataset
        self.maximize = maximize(setup.metric)
        self.on_trial = [on_trial] if callable(on_trial) else list(on_trial)
        self.records: list[TrialRecord] = []
        self.best_score: float | None = None
        self.best_model: Estimator | None = None
        self.best_trial: int | None = None
        self.worker = worker_id()

    def __call__(self, trial: Any) -> float:
        import optuna

        if trial.number >= self.cfg.max_trials:  # the other workers have started every trial of the search
            trial.set_user_attr(SURPLUS_ATTR, True)
            trial.study.stop()
            raise optuna.TrialPruned("max_trials reached")
        family = trial.suggest_categorical("family", list(self.spaces))
        record = TrialRecord(trial.number, family, {}, "failed", None, 0.0, None, None, worker=self.worker)
        run: Run | None = None
        start = time.perf_counter()
        try:
            space = self.spaces[family]
            hparams, fit = space.resolve(space.sample(trial))  # a bad override value may fail here
            record.params = params = {**hparams, **fit}
            train_config = self.cfg.train_config(framework=framework_of(family), family=family, model=hparams, **fit)
            run = self._start_run(trial.number, family, params, train_config.to_dict())
            record.run_id = run.id
            estimator = build_estimator(family, self.prep, hparams, int(self.cfg.seed or 0))
            pruning = PruningCallback(trial, maximize=self.maximize) if self.cfg.pruner != "none" else None
            fit_time, ran = fit_estimator(estimator, self.prep, fit, self.cfg, self.deadline, pruning=pruning)
            record.fit_time, record.n_params = fit_time, count_params(estimator)
            if pruning is not None and pruning.pruned_at is not None:
                return self._pruned(run, record, pruning.pruned_at)
            if ran is not None:  # cut by the budget: the model on the board ran this many epochs
                params["epochs"] = ran
            score = validation_score(estimator, self.prep.X_val, self.prep.y_val, self.metric,
                                     target_scaling=self.prep.target_scaling)
            record.status = "stopped" if ran is not None else "ok"
            record.val_score = score
            run.log_metrics({f"val_{self.metric}": score, "fit_time": fit_time,
                             **({"n_params": record.n_params} if record.n_params is not None else {})}, step=0)
            if ran is not None:
                run.log_params({"model.epochs": ran})
            run.finish("stopped" if ran is not None else "finished")
            if _better(score, self.best_score, self.maximize):
                self.best_score, self.best_trial = score, trial.number
                self.best_model = None if self.cfg.refit else estimator
            return score
        except optuna.TrialPruned:
            raise
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
            store_record(trial, record)  # the leader's leaderboard reads it, whichever process ran the trial
            self.records.append(record)
            for callback in self.on_trial:
                callback(record)

    def _pruned(self, run: Run, record: TrialRecord, epoch: int) -> float:
        import optuna

        record.status = "pruned"
        record.error = f"pruned after epoch {epoch} by the {self.cfg.pruner} pruner"
        run.log_params({"automl.pruned_after_epoch": epoch})
        run.log_metrics({"fit_time": record.fit_time}, step=0)
        run.finish("stopped", error=record.error)
        raise optuna.TrialPruned(record.error)

    def _start_run(self, number: int, family: str, params: dict[str, Any], config: dict[str, Any]) -> Run:
        """A child run of the search for trial ``number``; its config is the trial's TrainConfig."""
        return self.project.start_run(
            name=f"{self.name}-trial-{number:03d}", config=config, parent=self.parent, dataset=self.dataset,
            params={"automl.trial": number, "automl.worker": self.worker, "family": family,
                    **{f"model.{k}": v for k, v in params.items()}})

