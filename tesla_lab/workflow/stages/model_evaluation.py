"""The evaluation stage (``from tesla.model import ModelEvaluation``): :class:`ModelEvaluation` scores a trained
model on a pipeline DataFrame through :func:`~tesla_lab.workflow.evaluate_model`, the code path of ``tesla evaluate``;
nothing is stored.

>>> ModelEvaluation().neural_network(None, None)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ...
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tesla_lab.workflow.deployment import evaluate_model
from tesla_lab.workflow.stages.stage import _check_frame, _Stage
from tesla_lab.workflow.stages.trained_model import TrainedModel, _fingerprint

__all__ = ["ModelEvaluation"]

logger = logging.getLogger(__name__)


class ModelEvaluation(_Stage):
    """Scores a trained model on a pipeline DataFrame (:func:`~tesla_lab.workflow.evaluate_model`, nothing stored):
    a dict of ``r2``, ``mse``, ``rmse``, ``mae`` (regression) or ``accuracy``, ``precision_macro``,
    ``recall_macro``, ``f1_macro`` (+ ``roc_auc``) (classification).

    ``model`` is what :class:`ModelTraining` returned (its own project is used) or a registered name (``'NAME'``,
    ``'NAME@VERSION'``) in this stage's project. Scoring the rows the model was trained on (as the TESLA document
    does) flatters it; a warning says so, and ``model.metrics`` holds the score on the rows held out from training.

    >>> ModelEvaluation().linear_regression(None, 42)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ('NAME' or \
'NAME@VERSION'); got int 42
    """

    def _evaluate(self, method: str, data: Any, model: Any) -> dict[str, float]:
        project, name, version, _ = self._registered(model, method)
        frame = _check_frame(data, f"evaluate.{method}")
        if isinstance(model, TrainedModel) and model.data_fingerprint and _fingerprint(frame) == \
                model.data_fingerprint:
            logger.warning("evaluating %s on the data it was trained on: most rows are training rows, so the score "
                           "is optimistic; model.metrics holds the score on the held-out rows", name)
        result = evaluate_model(project, name, frame, version=version)
        return dict(result.metrics)

    def linear_regression(self, data: pd.DataFrame, model: Any) -> dict[str, float]:
        """``{'mse', 'rmse', 'mae', 'r2'}`` of a ``linear_regression`` model on ``data``'s rows.

        >>> ModelEvaluation().linear_regression(None, "")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ...
        """
        return self._evaluate("linear_regression", data, model)

    def logistic_regression(self, data: pd.DataFrame, model: Any) -> dict[str, float]:
        """``{'accuracy', 'precision_macro', 'recall_macro', 'f1_macro', ('roc_auc')}`` of a
        ``logistic_regression`` model on ``data``'s rows.

        >>> ModelEvaluation().logistic_regression(None, None)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ...
        """
        return self._evaluate("logistic_regression", data, model)

    def neural_network(self, data: pd.DataFrame, model: Any) -> dict[str, float]:
        """The regression or classification metrics of a ``neural_network`` model on ``data``'s rows.

        >>> ModelEvaluation().neural_network(None, 1.5)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ...
        """
        return self._evaluate("neural_network", data, model)
