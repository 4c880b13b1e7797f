"""Using registered models: :func:`load_registered`, :func:`evaluate_model`, :func:`deploy_model`.

Bundles are read from the project's own artifact store with ``trust=True``: the store is local state this library
wrote (content-addressed and hash-checked), which is what allows the pickled scikit-learn estimators in it to load.
Do not open a project whose ``.tesla/`` folder came from someone you do not trust.

``deploy_model`` promotes a version to ``staging`` / ``production`` in the registry, after checking its bundle
loads. Exporting and serving are the serving layer's (:func:`tesla_lab.serve.deploy.deploy_registered` checks and
exports before it calls ``deploy_model``); a deploy hook (:func:`add_deploy_hook`) also runs before the promotion.
Whatever raises before the promotion leaves every stage unchanged.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> from tesla_lab.workflow import train_model
>>> project = Project.init(tempfile.mkdtemp())
>>> _ = train_model(project, {"dataset": "iris", "framework": "scikit-learn"}, name="iris-rf")
>>> deploy_model(project, "iris-rf").stage
'production'
>>> evaluate_model(project, "iris-rf", "iris", stage="production").metrics["accuracy"] > 0.9
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, NotFoundError
from tesla_lab.models import ModelBundle, load_bundle
from tesla_lab.store import ModelVersion, Project
from tesla_lab.workflow.datasets import resolve_data

__all__ = ["EvaluationResult", "DeployResult", "load_registered", "evaluate_model", "deploy_model",
           "add_deploy_hook", "remove_deploy_hook", "DEPLOY_STAGES"]

logger = logging.getLogger(__name__)

DEPLOY_STAGES = ("staging", "production")
DeployHook = Callable[[Project, ModelVersion, str], None]
_DEPLOY_HOOKS: list[DeployHook] = []


def add_deploy_hook(hook: DeployHook) -> DeployHook:
    """Run ``hook(project, model_version, stage)`` on every :func:`deploy_model`, before the stage changes (the
    serving layer exports and serves here). Returns ``hook``, so it works as a decorator.

    >>> calls = []
    >>> hook = add_deploy_hook(lambda project, mv, stage: calls.append(stage))
    >>> remove_deploy_hook(hook)
    """
    if not callable(hook):
        raise ConfigError(f"a deploy hook must be callable(project, model_version, stage); got {hook!r}")
    _DEPLOY_HOOKS.append(hook)
    return hook


def remove_deploy_hook(hook: DeployHook) -> None:
    """Stop running ``hook`` (no error if it was not added)."""
    if hook in _DEPLOY_HOOKS:
        _DEPLOY_HOOKS.remove(hook)


def _version(project: Project, name: str, stage: str | None, version: int | None) -> ModelVersion:
    mv = project.registry.get_model(name, stage=stage, version=version)
    if "bundle" not in mv.metadata:
        raise NotFoundError(f"model {name!r} v{mv.version} has no bundle (it was registered by hand, not trained "
                            "with train_model / `tesla train`), so it cannot be evaluated or deployed; train it with "
                            "`tesla train -m NAME`")
    return mv


def _registered(project: Project, name: str, stage: str | None, version: int | None) -> tuple[ModelVersion,
                                                                                               ModelBundle]:
    mv = _version(project, name, stage, version)
    return mv, load_bundle(project.artifacts, mv.metadata["bundle"], trust=True)  # the project's own store


def load_registered(project: Project, name: str, *, stage: str | None = None,
                    version: int | None = None) -> ModelBundle:
    """The :class:`~tesla_lab.models.ModelBundle` of a registered model: by ``version``, by ``stage`` (its newest
    version there), or the newest version."""
    return _registered(project, name, stage, version)[1]


@dataclass
class EvaluationResult:
    """A registered model scored on data: the full ``report`` and its headline ``metrics``."""

    name: str
    version: int
    stage: str
    data: str
    n_samples: int
    metrics: dict[str, float]
    report: dict[str, Any]


def evaluate_model(project: Project, name: str, data: str | pd.DataFrame | None = None, *,
                   stage: str | None = None, version: int | None = None) -> EvaluationResult:
    """Score model ``name`` (the version chosen as in :func:`load_registered`) on ``data``: a file, a sample, a
    dataset of the store (``NAME[@VERSION]``) or a DataFrame holding the target column. Nothing is stored.

    >>> import tempfile
    >>> evaluate_model(Project.init(tempfile.mkdtemp()), "nope", "iris")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.NotFoundError: no model named 'nope'; registered models: (none yet)
    """
    mv, bundle = _registered(project, name, stage, version)
    if isinstance(data, pd.DataFrame):
        frame, origin = data, "DataFrame"
    else:
        source = resolve_data(project, data)
        frame, origin = source.frame, source.ref
    report = bundle.evaluate(frame)
    return EvaluationResult(name=mv.name, version=mv.version, stage=mv.stage, data=origin,
                            n_samples=int(report["n_samples"]), metrics=dict(report["summary"]), report=report)


@dataclass
class DeployResult:
    """The version now in ``stage`` and, for production, the version it replaced (now archived), if any."""

    name: str
    version: int
    stage: str
    previous: int | None

    def __str__(self) -> str:
        replaced = f" (v{self.previous} archived)" if self.previous is not None else ""
        return f"{self.name} v{self.version} → {self.stage}{replaced}"


def deploy_model(project: Project, name: str, stage: str = "production", *,
                 version: int | None = None) -> DeployResult:
    """Promote ``name`` (``version``, default the newest) to ``stage`` (``'production'`` or ``'staging'``); the
    previous version in that stage is archived. The bundle is loaded and deploy hooks run first: if either fails,
    no stage changes.

    >>> import tempfile
    >>> deploy_model(Project.init(tempfile.mkdtemp()), "m", stage="live")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: deploy stage must be one of: staging, production; got 'live'
    """
    if stage not in DEPLOY_STAGES:
        raise ConfigError(f"deploy stage must be one of: {', '.join(DEPLOY_STAGES)}; got {stage!r}")
    mv, _ = _registered(project, name, None, version)  # a bundle that does not load is not promoted
    previous = None
    if stage == "production":  # the registry archives the production version being replaced
        try:
            current = project.registry.get_model(name, stage=stage)
            previous = current.version if current.version != mv.version else None
        except NotFoundError:
            pass
    for hook in list(_DEPLOY_HOOKS):
        hook(project, mv, stage)
    promoted = project.registry.set_stage(name, mv.version, stage)
    logger.info("deployed %s v%d to %s", name, promoted.version, stage)
    return DeployResult(name=promoted.name, version=promoted.version, stage=promoted.stage, previous=previous)
