"""``train_model``: one training run from a :class:`~tesla_lab.workflow.TrainConfig`, recorded in the project store.

Top to bottom: resolve the config against the project's defaults, load the data, prepare it (split, fit the
preprocessing on the training rows), build the model — every check happens here, before anything is written —
then snapshot the data as a dataset version, start a run, train with :class:`~tesla_lab.train.Trainer` and a
:class:`~tesla_lab.store.StoreCallback` (per-epoch metrics, stop flag, checkpoints), evaluate on the held-out test
rows, save the :class:`~tesla_lab.models.ModelBundle` as run artifacts and register the model (stage ``none``) when
the run finished: a stopped, failed or crashed run is never registered automatically (promote it by hand), and a
run is registered once. :func:`resume_model` continues a stopped, failed or crashed run in place (same run id, the
epochs continuing from its checkpoint).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> result = train_model(project, {"dataset": "iris", "epochs": 30, "lr": 0.02, "model": {"hidden_sizes": [16]}},
...                      name="iris-mlp")
>>> result.status, result.version, result.metrics["accuracy"] > 0.8, result.dataset
('finished', 1, True, 'iris@1')
>>> project.registry.get_model("iris-mlp").metadata["family"]
'mlp'
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, PeerLostError
from tesla_lab.models import Estimator, ModelBundle, default_family, make_model, save_bundle
from tesla_lab.store import FINAL_STATUSES, Project, Run, StoreCallback
from tesla_lab.store.runs import format_error, to_json
from tesla_lab.train.distributed import distributed_env
from tesla_lab.train.launch import lost_peer_cause
from tesla_lab.utils import set_seed
from tesla_lab.workflow.config import TrainConfig
from tesla_lab.workflow.datasets import DataSource, frame_source, resolve_data, snapshot_source
from tesla_lab.workflow.iterations import apply_iterations
from tesla_lab.workflow.preprocess import PreparedData, prepare

__all__ = ["TrainResult", "train_model", "resume_model", "resolve_config"]

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What one :func:`train_model` call produced.

    ``version`` is the registry version (None when ``register=False``); ``metrics`` the headline test metrics
    (``accuracy``, ``f1_macro``, ... or ``mse``, ``rmse``, ``mae``, ``r2``) and ``report`` the full test report;
    ``history`` the per-epoch training logs (empty for scikit-learn); ``config`` the resolved configuration that
    reproduces the run.
    """

    run_id: str
    name: str
    version: int | None
    status: str
    bundle: ModelBundle
    metrics: dict[str, float]
    report: dict[str, Any]
    dataset: str
    config: TrainConfig
    n_train: int
    n_test: int
    history: dict[str, list[float]] = field(default_factory=dict)
    rank: int = 0


def is_replica() -> bool:
    """True in a torchrun job's processes other than global rank 0 (which alone writes to the store).

    >>> is_replica()
    False
    """
    env = distributed_env()
    return env is not None and env.world_size > 1 and not env.is_global_zero


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or "@" in name:
        raise ConfigError(f"a model name must be a non-empty string without '@' (e.g. 'iris-mlp'); got {name!r}")
    return name.strip()


def resolve_config(project: Project, config: TrainConfig | Mapping[str, Any]) -> TrainConfig:
    """``config`` as a TrainConfig with ``device`` / ``precision`` / ``seed`` filled from the project's
    ``tesla.yaml`` defaults (then auto / fp32 / 0) and its ``iterations`` applied (:func:`apply_iterations`).

    >>> import tempfile
    >>> resolve_config(Project.init(tempfile.mkdtemp(), defaults={"seed": 7}), {"epochs": 2}).seed
    7
    """
    cfg = apply_iterations(config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config))
    defaults = project.defaults
    return cfg.replace(device=cfg.device or defaults.get("device") or "auto",
                       precision=cfg.precision or defaults.get("precision") or "fp32",
                       seed=cfg.seed if cfg.seed is not None else int(defaults.get("seed") or 0))


def _build(cfg: TrainConfig, source: DataSource, prep: PreparedData) -> tuple[str, Estimator]:
    family = cfg.family or default_family(cfg.framework, prep.task)
    hparams = dict(cfg.model)
    if family == "cnn" and "image_shape" not in hparams and source.image_shape:
        hparams["image_shape"] = list(source.image_shape)  # e.g. digits: 8x8
    set_seed(int(cfg.seed or 0))  # the initial weights are part of the run
    return family, make_model(family, len(prep.encoded_features), prep.n_outputs, prep.task, **hparams)


_LOOP_OPTIONS = ("epochs", "batch_size", "optimizer", "lr", "loss", "precision")  # torch's training loop only


def _params(cfg: TrainConfig) -> dict[str, Any]:
    keys = ("framework", "family", "task", "target", "iterations", "epochs", "batch_size", "optimizer", "lr", "loss",
            "seed", "test_size", "val_size", "precision")
    if cfg.framework == "scikit-learn":  # fitted in one go: its iterations are in the model options (max_iter, ...)
        keys = tuple(k for k in keys if k not in _LOOP_OPTIONS)
    params = {k: getattr(cfg, k) for k in keys if getattr(cfg, k) is not None}
    params.update({f"model.{k}": v for k, v in cfg.model.items()})
    return params


def train_model(
    project: Project,
    config: TrainConfig | Mapping[str, Any],
    *,
    name: str,
    data: pd.DataFrame | None = None,
    callbacks: Sequence[Any] = (),
    progress: bool = False,
    register: bool = True,
    run: Run | str | None = None,
    resume: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train a model as configured and record everything in ``project``; returns a :class:`TrainResult`.

    Args:
        project: the project whose store receives the dataset version, the run, the artifacts and the model.
        config: a :class:`TrainConfig` or its dict form.
        name: the model name in the registry (also the run's name).
        data: a DataFrame to train on instead of ``config.dataset`` (snapshotted as dataset ``config.dataset`` or
            ``name``).
        callbacks: extra trainer callbacks (torch families), e.g. a UI's live view.
        progress: a tqdm bar over epochs.
        register: add the model to the registry (stage ``none``) if the run finishes (not when it is stopped), once
            per run.
        run: a queued run (or its id) to train into, e.g. one a background launcher created; by default a new run.
        resume: a checkpoint (``run.latest_checkpoint()``) to continue from; torch families only.

    Bad data or options raise before anything is stored. A failure during training leaves a ``failed`` run;
    a stop request (``run.request_stop()``) ends training early, and the run ends ``stopped`` with its model
    still evaluated and saved (not registered: resume it, or promote it by hand).
    """
    name = _check_name(name)
    cfg = resolve_config(project, config)
    replica = is_replica()  # another rank of a torchrun job: trains its share, rank 0 records everything
    if run is not None and not replica:
        run = project.get_run(run)
        if run.status in FINAL_STATUSES:
            raise ConfigError(f"run {run.id[:8]} ({run.name}) has already ended ({run.status}); train into a queued "
                              "run or leave run= out for a new one")
    if data is not None:
        source = frame_source(data, cfg.dataset, name, option="the config's dataset")
    else:
        source = resolve_data(project, cfg.dataset)
    target = cfg.target or source.target or str(source.frame.columns[-1])
    prep = prepare(source.frame, target, cfg.features, task=cfg.task, preprocessing=cfg.preprocessing,
                   max_categories=cfg.max_categories, test_size=cfg.test_size, val_size=cfg.val_size,
                   scale_target=cfg.scale_target, seed=int(cfg.seed or 0))
    family, estimator = _build(cfg, source, prep)
    if resume is not None and estimator.framework != "torch":
        raise ConfigError(f"resume= continues a torch training from a checkpoint; {family} models are fitted in one "
                          "go, so train again without resume")

    env = distributed_env()
    if env is not None and env.world_size > 1 and estimator.framework != "torch":
        raise ConfigError(f"{family} is a {estimator.framework} model, fitted in one go by one process; several "
                          "processes (--nproc/--nodes, torchrun) train torch and tt models data-parallel only")
    if replica:
        return _train_replica(cfg, name, source, prep, family, target, estimator, callbacks, resume)

    # -- every check passed: from here on the store changes
    source = snapshot_source(project, source)
    resolved = cfg.replace(dataset=source.ref, target=target, task=prep.task, family=family,
                           features=prep.features, model=estimator.hparams)
    if run is None:
        run = project.start_run(name=name, config=resolved.to_dict(), params=_params(resolved),
                                dataset=(source.name, source.version))
    else:
        _adopt(project, run, resolved, source)
    try:
        history, stopped = _fit(run, estimator, prep, resolved, callbacks, progress, resume)
        bundle = ModelBundle(estimator, features=prep.features, target=target, task=prep.task, classes=prep.classes,
                             preprocessing=prep.pipeline, encoded_features=prep.encoded_features,
                             target_scaling=prep.target_scaling, train_config=resolved.to_dict())
        report = bundle.evaluate(prep.test_frame)
        bundle.metrics = report["summary"]
        last_epoch = max(len(history.get("loss", [])) - 1, 0)  # test metrics sit at the final epoch's step
        run.log_metrics({f"test_{k}": v for k, v in bundle.metrics.items()}, step=last_epoch)
        run.log_artifact("test_report.json", json.dumps(report, indent=2, default=str).encode(), kind="report")
        manifest = save_bundle(bundle, run)
        version = None
        status = "stopped" if stopped else "finished"
        if register and status == "finished" and not _registered(project, run.id):
            payload = run.artifact_sha(estimator.payload_name) if estimator.framework == "torch" else manifest
            version = project.registry.register_model(
                name, run_id=run.id, artifact=payload, description=f"{family} on {source.ref}",
                metadata={"bundle": manifest, "family": family, "framework": estimator.framework, "task": prep.task,
                          "target": target, "dataset": source.ref, "metrics": bundle.metrics, "status": status},
            ).version
        run.finish(status)
    except BaseException as exc:
        cause = lost_peer_cause(exc, run.id)
        if run.status not in FINAL_STATUSES:
            interrupted = isinstance(exc, KeyboardInterrupt)
            run.finish("stopped" if interrupted else "failed", error="KeyboardInterrupt" if interrupted
                       else (f"{cause}\n\n" if cause else "") + format_error(exc))
        if cause:
            raise PeerLostError(f"run {run.id[:8]}: {cause}") from exc
        raise
    logger.info("trained %s (run %s, %s, %s): %s", name, run.id[:8], status,
                f"registered as v{version}" if version is not None else "not registered", bundle.metrics)
    return TrainResult(run_id=run.id, name=name, version=version, status=status, bundle=bundle,
                       metrics=dict(bundle.metrics), report=report, dataset=source.ref, config=resolved,
                       n_train=len(prep.X_train), n_test=len(prep.test_frame), history=history)


def _registered(project: Project, run_id: str) -> bool:
    versions = project.registry.list_models()
    return bool(len(versions)) and bool((versions["run_id"] == run_id).any())


def resume_model(project: Project, run: Run | str, *, epochs: int | None = None, callbacks: Sequence[Any] = (),
                 progress: bool = False) -> TrainResult:
    """Continue a stopped, failed or crashed ``run`` in this process, in place: the same run id, the epochs
    continuing from its latest checkpoint (from scratch without one), ``resumed`` + 1; a finished resumed run is
    registered under the run's name like :func:`train_model` would have. ``epochs`` raises the total epoch count.

    >>> import tempfile
    >>> project = Project.init(tempfile.mkdtemp())
    >>> first = train_model(project, {"dataset": "iris", "epochs": 4, "checkpoint_every": 2}, name="iris")
    >>> resume_model(project, first.run_id)
    Traceback (most recent call last):
    ...
    tesla_lab.store.resume.ResumeError: run ... (iris) is finished; it trained all its epochs; start a new run ...
    """
    from tesla_lab.store.resume import plan_resume, reopen_for_resume

    found = project.get_run(run)
    check = lambda c: TrainConfig.from_dict(c).to_dict()  # noqa: E731
    # under torchrun only rank 0 reopens the run; the others read the same plan (checkpoint, config)
    reopen = plan_resume if is_replica() else reopen_for_resume
    plan = reopen(found, epochs=epochs, check=check)
    return train_model(project, plan.config, name=found.name, run=found, callbacks=callbacks, progress=progress,
                       resume=plan.checkpoint)


def _adopt(project: Project, run: Run, cfg: TrainConfig, source: DataSource) -> None:
    """Give a queued run what :meth:`Project.start_run` would have: the resolved config, params, dataset version."""
    with project.db.transaction() as conn:  # the store has no setter for these columns of an existing run yet
        conn.execute("UPDATE runs SET config = ?, dataset_name = ?, dataset_version = ? WHERE id = ?",
                     (to_json(cfg.to_dict(), "config"), source.name, source.version, run.id))
    run.log_params(_params(cfg))
    run.start()


def _train_replica(cfg: TrainConfig, name: str, source: DataSource, prep: PreparedData, family: str, target: str,
                   estimator: Estimator, callbacks: Sequence[Any],
                   resume: str | os.PathLike[str] | None) -> TrainResult:
    """Rank > 0 of a torchrun job: train the same model on its share of each batch (DDP), without touching the
    store (rank 0 snapshots the data, records the run, checkpoints, evaluates and registers)."""
    resolved = cfg.replace(target=target, task=prep.task, family=family, features=prep.features,
                           model=estimator.hparams)
    estimator.fit(prep.X_train, prep.y_train, callbacks=list(callbacks), progress=False, resume=resume,
                  **_fit_options(resolved, prep))
    history = dict(estimator.history_.history)  # type: ignore[attr-defined]
    env = distributed_env()
    logger.info("rank %s trained %s; rank 0 records the run", env.rank if env else "?", name)
    bundle = ModelBundle(estimator, features=prep.features, target=target, task=prep.task, classes=prep.classes,
                         preprocessing=prep.pipeline, encoded_features=prep.encoded_features,
                         target_scaling=prep.target_scaling, train_config=resolved.to_dict())
    return TrainResult(run_id="", name=name, version=None, status="finished", bundle=bundle, metrics={}, report={},
                       dataset=source.ref, config=resolved, n_train=len(prep.X_train), n_test=len(prep.test_frame),
                       history=history, rank=env.rank if env else 0)


def _fit_options(cfg: TrainConfig, prep: PreparedData) -> dict[str, Any]:
    """The keyword arguments of a torch estimator's ``fit`` every rank passes alike."""
    val = (prep.X_val, prep.y_val) if prep.X_val is not None else None
    return dict(validation_data=val, epochs=cfg.epochs, batch_size=cfg.batch_size, optimizer=cfg.optimizer, lr=cfg.lr,
                loss=cfg.loss, device=cfg.device or "auto", precision=cfg.precision or "fp32", seed=cfg.seed,
                grad_clip=cfg.grad_clip)


def _fit(run: Run, estimator: Estimator, prep: PreparedData, cfg: TrainConfig, callbacks: Sequence[Any],
         progress: bool, resume: str | os.PathLike[str] | None) -> tuple[dict[str, list[float]], bool]:
    """Train ``estimator``; returns the per-epoch history and whether a stop request ended it."""
    if estimator.framework != "torch":
        run.start()
        estimator.fit(prep.X_train, prep.y_train, seed=cfg.seed)
        fit = estimator.evaluate(prep.X_train, prep.y_train)  # R² and accuracy do not care about target scaling
        key = "accuracy" if prep.task == "classification" else "r2"
        if key in fit:
            run.log_metrics({f"train_{key}": fit[key]}, step=0)
        return {}, False
    # a checkpoint every tenth of the epochs by default, so a crashed run loses at most a tenth of its training
    every = cfg.checkpoint_every or max(1, -(-cfg.epochs // 10))
    store = StoreCallback(run, log_model=False, checkpoint_every=every, finish=False,
                          keep_checkpoints=cfg.keep_checkpoints, stop_on_signal=True)
    estimator.fit(prep.X_train, prep.y_train, callbacks=[store, *callbacks], progress=progress, resume=resume,
                  **_fit_options(cfg, prep))
    stopped = store.stopped_by_flag or store.stopped_by_signal
    return dict(estimator.history_.history), stopped  # type: ignore[attr-defined]
