"""The score a search optimises: the metric for the task, which way is better, and its value on validation rows.

Regression models may learn a standardized target; errors (RMSE, MAE, MSE) are reported in the target's own units.

>>> resolve_metric(None, "classification"), resolve_metric("RMSE", "regression"), maximize("rmse")
('accuracy', 'rmse', False)
>>> resolve_metric("r2", "classification")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: metric 'r2' does not score classification; choose one of: accuracy, f1, precision, \
recall, roc_auc
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.metrics import get_metric, greater_is_better
from tesla_lab.models import Estimator

__all__ = ["TASK_METRICS", "resolve_metric", "maximize", "validation_score"]

# the first metric of each task is the default
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1", "precision", "recall", "roc_auc"),
    "regression": ("r2", "rmse", "mae", "mse"),
}
_ALIASES = {"auc": "roc_auc", "f1_macro": "f1", "f1_score": "f1", "precision_macro": "precision",
            "recall_macro": "recall"}


def resolve_metric(metric: str | None, task: str) -> str:
    """The canonical metric name for ``task`` (``None``: accuracy for classification, R² for regression)."""
    if task not in TASK_METRICS:
        raise ConfigError(f"task must be one of: {', '.join(TASK_METRICS)}; got {task!r}")
    if metric is None:
        return TASK_METRICS[task][0]
    if not isinstance(metric, str):
        raise ConfigError(f"metric must be a name such as 'accuracy' or 'r2'; got {metric!r}")
    key = metric.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in TASK_METRICS[task]:
        known = {m for ms in TASK_METRICS.values() for m in ms}
        what = f"does not score {task}" if key in known else "is not a metric AutoML knows"
        raise ConfigError(f"metric {metric!r} {what}; choose one of: {', '.join(TASK_METRICS[task])}")
    return key


def maximize(metric: str) -> bool:
    """True when a larger value of ``metric`` is better (accuracy, F1, R², ...).

    >>> maximize("r2"), maximize("mae")
    (True, False)
    """
    return greater_is_better(metric)


def validation_score(estimator: Estimator, X: Any, y: Any, metric: str, *,
                     target_scaling: dict[str, float] | None = None) -> float:
    """``metric`` of a fitted ``estimator`` on prepared rows ``X`` (N, F) with targets ``y`` (class indices, or
    values scaled by ``target_scaling`` when it is given).

    >>> from tesla_lab.models import make_model
    >>> X = np.arange(20, dtype="float32").reshape(10, 2); y = X[:, 0] * 0.5
    >>> model = make_model("sklearn:linear", 2, 1, "regression").fit(X, y)
    >>> round(validation_score(model, X, y, "rmse", target_scaling={"mean": 3.0, "std": 2.0}), 6)
    0.0
    """
    if estimator.task == "classification":
        proba = _finite(estimator.predict_proba(X))  # (N, C)
        y = np.asarray(y, dtype=np.int64)
        if metric == "roc_auc":
            value = get_metric(metric)(y, proba)
        elif metric == "accuracy":
            value = get_metric(metric)(y, proba.argmax(axis=1))
        else:  # macro averages over every class, also one the validation rows lack
            value = get_metric(metric)(y, proba.argmax(axis=1), average="macro",
                                       labels=list(range(estimator.n_outputs)))
    else:
        pred = _finite(np.asarray(estimator.predict(X), dtype=np.float64))
        truth = np.asarray(y, dtype=np.float64)
        if target_scaling is not None:  # back to the target's units
            pred = pred * target_scaling["std"] + target_scaling["mean"]
            truth = truth * target_scaling["std"] + target_scaling["mean"]
        value = get_metric(metric)(truth, pred)
    return float(value)


def _finite(outputs: np.ndarray) -> np.ndarray:
    if not np.isfinite(outputs).all():
        raise DataError("the model's outputs on the validation rows are NaN/inf (training diverged: a smaller lr "
                        "helps); this trial is discarded")
    return outputs
