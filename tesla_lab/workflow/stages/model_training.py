"""The training stage (``from tesla.model import ModelTraining``): :class:`ModelTraining` trains a model family on a
pipeline DataFrame through :func:`~tesla_lab.workflow.train_model`, the code path of ``tesla train``.

>>> ModelTraining(family="mlp")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: option(s) family are set by the method itself; pick the method (linear_regression, \
logistic_regression, neural_network) and pass target= or task= as its own arguments
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab.data.stages import frame_target
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store import Project
from tesla_lab.workflow.config import TrainConfig
from tesla_lab.workflow.preprocess import detect_task
from tesla_lab.workflow.stages.stage import _check_frame, _Stage
from tesla_lab.workflow.stages.trained_model import TrainedModel, _fingerprint
from tesla_lab.workflow.training import train_model

__all__ = ["ModelTraining"]

logger = logging.getLogger(__name__)

# training settings that suit each family (options passed in win)
_FIT_DEFAULTS: dict[str, dict[str, Any]] = {
    "linear": {"epochs": 40, "lr": 0.05, "batch_size": 64},  # one layer on standardized data: big steps converge
    "logistic": {"epochs": 40, "lr": 0.05, "batch_size": 64},
    "mlp": {"epochs": 30, "lr": 0.005},
    "tt_mlp": {"epochs": 30, "lr": 0.005},
}


class ModelTraining(_Stage):
    """Trains models on a pipeline DataFrame into a project (:func:`~tesla_lab.workflow.train_model`): each call
    stores the data as a dataset version, records a run, registers the model and returns a :class:`TrainedModel`.

    Args:
        project: where runs go (see the module docs); default: the project around the current folder.
        target: the target column (default: ``data.attrs["target"]``, else the last column).
        name: the registry name (default: the method, e.g. ``'linear-regression'``).
        options: :class:`~tesla_lab.workflow.TrainConfig` options for every call (``epochs``, ``lr``, ``seed``,
            ``test_size``, ...); a method's own keyword options win.

    >>> ModelTraining(epoch=3)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown training option 'epoch' (did you mean 'epochs'?); valid options: ...
    """

    def __init__(self, project: Project | str | os.PathLike[str] | None = None, *, target: str | None = None,
                 name: str | None = None, **options: Any) -> None:
        super().__init__(project)
        self.target = target
        self.name = name
        self.options = dict(options)
        self._config({})  # unknown or bad options fail here, not at the first call

    def _config(self, call: Mapping[str, Any], family: str = "linear", task: str = "auto") -> TrainConfig:
        reserved = {"family", "framework", "target", "dataset", "task", "model"} & (set(self.options) | set(call))
        if reserved:
            raise ConfigError(f"option(s) {', '.join(sorted(reserved))} are set by the method itself; pick the method "
                              "(linear_regression, logistic_regression, neural_network) and pass target= or task= "
                              "as its own arguments")
        return TrainConfig.from_dict({**_FIT_DEFAULTS[family], **self.options, **call, "family": family,
                                      "task": task})

    def _train(self, method: str, data: Any, family: str, task: str, target: str | None, name: str | None,
               hparams: Mapping[str, Any], options: Mapping[str, Any]) -> TrainedModel:
        frame = _check_frame(data, f"train.{method}")
        target = frame_target(frame, target or self.target)
        name = name or self.name or method.replace("_", "-")
        if method == "logistic_regression" and detect_task(frame[target]) == "regression":
            raise DataError(f"logistic_regression classifies, but target {target!r} looks continuous "
                            f"({frame[target].nunique()} distinct numbers); use linear_regression, or name the class "
                            "column with target=")
        source = str(frame.attrs.get("source") or name)
        dataset = Path(source.removeprefix("sample:")).stem or name
        cfg = self._config(options, family, task).replace(target=target, dataset=dataset.replace("@", "_"),
                                                          model=dict(hparams))
        plain = frame.copy(deep=False)
        plain.attrs = {}  # pipeline metadata stays out of the stored dataset
        result = train_model(self.project, cfg, name=name, data=plain)
        logger.info("%s: trained %s v%s in %s (test %s)", method, result.name, result.version, self.project.path,
                    result.metrics)
        return TrainedModel(method=method, result=result, project=self.project, data_fingerprint=_fingerprint(plain))

    def linear_regression(self, data: pd.DataFrame, *, target: str | None = None, name: str | None = None,
                          **options: Any) -> TrainedModel:
        """Fit ``y = x W^T + b`` (family ``linear``, MSE) to predict the numeric target; ``options`` are
        :class:`~tesla_lab.workflow.TrainConfig` options (``epochs``, ``lr``, ``test_size``, ...).

        >>> ModelTraining().linear_regression([[1, 2]])
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: train.linear_regression takes the pipeline's pandas DataFrame (e.g. \
DataIngestion().load_csv(...)); got list
        """
        return self._train("linear_regression", data, "linear", "regression", target, name, {}, options)

    def logistic_regression(self, data: pd.DataFrame, *, target: str | None = None, name: str | None = None,
                            **options: Any) -> TrainedModel:
        """A linear classifier (family ``logistic``: sigmoid for two classes, softmax for more).

        >>> import pandas as pd
        >>> ModelTraining().logistic_regression(pd.DataFrame({"x": [0.1, 0.2, 0.3], "y": [1.5, 2.5, 3.7]}))
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: logistic_regression classifies, but target 'y' looks continuous (3 distinct \
numbers); use linear_regression, or name the class column with target=
        """
        return self._train("logistic_regression", data, "logistic", "classification", target, name, {}, options)

    def neural_network(self, data: pd.DataFrame, *, hidden_sizes: Sequence[int] = (64, 32), activation: str = "relu",
                       dropout: float = 0.0, tt_rank: int | None = None, task: str = "auto",
                       target: str | None = None, name: str | None = None, **options: Any) -> TrainedModel:
        """A multi-layer perceptron (family ``mlp``), or with ``tt_rank`` one whose hidden layers are tensor-train
        layers (family ``tt_mlp``); classification or regression from the target (``task='auto'``).

        >>> import pandas as pd
        >>> ModelTraining().neural_network(pd.DataFrame({"x": [1.0], "y": [2.0]}), task="clasification")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: task must be one of: auto, classification, regression; got 'clasification'
        """
        hparams: dict[str, Any] = {"hidden_sizes": list(hidden_sizes), "activation": activation, "dropout": dropout}
        family = "mlp"
        if tt_rank is not None:
            family, hparams["tt_rank"] = "tt_mlp", tt_rank
        return self._train("neural_network", data, family, task, target, name, hparams, options)
