"""What the three model stages share: the project they work in (resolved on first use), the check that the input
is the pipeline's DataFrame, and the look-up of the model a stage is given (a :class:`TrainedModel`, or a
registered ``'NAME'`` / ``'NAME@VERSION'``) with the check that it suits the method called.

>>> _check_frame([1, 2], "evaluate.linear_regression")
Traceback (most recent call last):
...
tesla_lab.errors.DataError: evaluate.linear_regression takes the pipeline's pandas DataFrame (e.g. \
DataIngestion().load_csv(...)); got list
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models import ModelBundle
from tesla_lab.store import Project
from tesla_lab.workflow.datasets import parse_ref
from tesla_lab.workflow.stages.project import open_stage_project
from tesla_lab.workflow.stages.trained_model import TrainedModel

__all__: list[str] = []  # the base of ModelTraining, ModelEvaluation and ModelDeployment

# the families each method trains
_FAMILIES = {"linear_regression": ("linear",), "logistic_regression": ("logistic",),
             "neural_network": ("mlp", "tt_mlp")}


class _Stage:
    """A stage's project, resolved on first use (so a stage made before ``os.chdir`` follows it)."""

    def __init__(self, project: Project | str | os.PathLike[str] | None = None) -> None:
        if project is not None and not isinstance(project, (Project, str, os.PathLike)):
            open_stage_project(project)  # raises the ConfigError now, not at first use
        self._project_arg = project
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        """The project this stage stores runs in (see :func:`open_stage_project`)."""
        if self._project is None:
            self._project = open_stage_project(self._project_arg)
        return self._project

    def _registered(self, model: Any, method: str) -> tuple[Project, str, int, ModelBundle | None]:
        """``model`` (a :class:`TrainedModel`, or ``'NAME'`` / ``'NAME@VERSION'`` registered in this stage's
        project) as (project, name, version, bundle if at hand), after checking it is a ``method`` model."""
        if isinstance(model, TrainedModel):
            # ModelTraining always registers, so the version is set
            project, name, version, family, bundle = model.project, model.name, int(model.version or 0), \
                model.family, model.bundle
        elif isinstance(model, str) and model.strip():
            project, bundle = self.project, None
            name, wanted = parse_ref(model.strip())
            mv = project.registry.get_model(name, version=wanted)  # NotFoundError listing the models
            version, family = mv.version, str(mv.metadata.get("family"))
        else:
            raise ConfigError(f"model must be what ModelTraining returned, or a registered model name ('NAME' or "
                              f"'NAME@VERSION'); got {type(model).__name__} {model!r}")
        if family not in _FAMILIES[method]:
            right = next((m for m, fams in _FAMILIES.items() if family in fams), None)
            fix = f"call .{right}(data, model)" if right else "train it with ModelTraining"
            raise ConfigError(f".{method}() takes a {method} model ({', '.join(_FAMILIES[method])}); model {name!r} "
                              f"v{version} is a {family} model; {fix}")
        return project, name, version, bundle


def _check_frame(data: Any, who: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{who} takes the pipeline's pandas DataFrame (e.g. DataIngestion().load_csv(...)); got "
                        f"{type(data).__name__}")
    return data
