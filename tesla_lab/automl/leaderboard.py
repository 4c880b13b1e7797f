"""The leaderboard: one :class:`TrialRecord` per trial, as a DataFrame sorted best first (failed trials last).

>>> rows = [TrialRecord(0, "mlp", {"lr": 0.01}, "ok", 0.91, 1.2, 1234, None),
...         TrialRecord(1, "sklearn:svm", {"C": 1e3}, "failed", None, 0.1, None, None, "ValueError: ..."),
...         TrialRecord(2, "tt_mlp", {"tt_rank": 4}, "ok", 0.95, 2.0, 456, None)]
>>> leaderboard(rows, metric="accuracy")[["trial", "family", "val_score", "status"]]
   trial       family  val_score  status
0      2       tt_mlp       0.95      ok
1      0          mlp       0.91      ok
2      1  sklearn:svm        NaN  failed
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.models import Estimator

__all__ = ["TrialRecord", "TRIAL_STATUSES", "COLUMNS", "leaderboard", "count_params"]

# ok: trained and scored; stopped: a torch trial the time budget cut short, scored on the epochs it ran;
# pruned: a torch trial stopped early because its validation loss was worse than the other trials' (not scored)
TRIAL_STATUSES = ("ok", "stopped", "pruned", "failed")
COLUMNS = ["trial", "family", "params", "val_score", "fit_time", "n_params", "status", "run_id", "error", "worker"]


@dataclass
class TrialRecord:
    """One trial: the family and parameters tried (model hparams and training options), its validation score
    (None when it failed or was pruned), the fit time in seconds, the model's parameter count, its run in the store,
    the error of a failed trial and the ``host:pid`` of the worker process that ran it."""

    trial: int
    family: str
    params: dict[str, Any]
    status: str
    val_score: float | None
    fit_time: float
    n_params: int | None
    run_id: str | None
    error: str | None = None
    worker: str | None = None

    @property
    def scored(self) -> bool:
        """True when the trial has a validation score (status ok or stopped).

        >>> TrialRecord(0, "mlp", {}, "failed", None, 0.0, None, None).scored
        False
        """
        return self.val_score is not None and math.isfinite(self.val_score)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data (JSON-able)."""
        return asdict(self)


def leaderboard(records: Iterable[TrialRecord], *, metric: str | None = None, maximize: bool = True) -> pd.DataFrame:
    """The trials as a DataFrame with :data:`COLUMNS`: scored ones best first (ties: faster first), then pruned,
    then failed ones; ``attrs`` holds ``metric`` and ``maximize``.

    >>> rows = [TrialRecord(0, "linear", {}, "ok", 40.0, 0.1, 11, None), TrialRecord(1, "mlp", {}, "ok", 35.5, 0.5,
    ...         900, None)]
    >>> leaderboard(rows, metric="rmse", maximize=False)["trial"].tolist()
    [1, 0]
    """
    items = list(records)
    scored = sorted((r for r in items if r.scored),
                    key=lambda r: (-r.val_score if maximize else r.val_score, r.fit_time, r.trial))  # type: ignore[operator]
    failed = sorted((r for r in items if not r.scored), key=lambda r: (r.status != "pruned", r.trial))
    frame = pd.DataFrame([r.to_dict() for r in scored + failed], columns=COLUMNS)
    frame["val_score"] = frame["val_score"].astype("float64")
    frame["fit_time"] = frame["fit_time"].astype("float64")
    frame["n_params"] = frame["n_params"].astype("Int64")  # missing for failed trials
    frame.attrs.update(metric=metric, maximize=maximize)
    return frame


def _size(value: Any) -> int:
    return int(value.size) if isinstance(value, np.ndarray) and value.dtype.kind in "fiub" else 0


def count_params(estimator: Estimator) -> int | None:
    """How many numbers a fitted model keeps: a network's stored parameters (TT cores, not the dense equivalent);
    a scikit-learn model's coefficients, tree nodes, support vectors or stored samples. None when unknown.

    >>> from tesla_lab.models import make_model
    >>> count_params(make_model("logistic", 4, 3, "classification"))
    15
    """
    module = getattr(estimator, "module", None)
    if module is not None:
        from tesla_lab.nn import count_params as stored_and_dense

        return stored_and_dense(module)[0]
    est = getattr(estimator, "estimator_", None)
    return None if est is None else _sklearn_size(est)


def _sklearn_size(est: Any) -> int | None:
    calibrated = getattr(est, "calibrated_classifiers_", None)
    if calibrated is not None:  # CalibratedClassifierCV: its fitted estimator(s) and a sigmoid (a, b) per class
        inner = [n for n in (_sklearn_size(c.estimator) for c in calibrated) if n is not None]
        sigmoids = sum(len(c.calibrators) for c in calibrated)
        return sum(inner) + 2 * sigmoids if len(inner) == len(calibrated) else None
    if hasattr(est, "estimators_") and hasattr(est.estimators_[0], "tree_"):  # random forest: tree nodes
        return int(sum(tree.tree_.node_count for tree in est.estimators_))
    if hasattr(est, "_predictors"):  # histogram gradient boosting: nodes of every tree
        return int(sum(len(p.nodes) for stage in est._predictors for p in stage))
    if hasattr(est, "support_vectors_"):  # SVM: support vectors and their weights
        return _size(est.support_vectors_) + _size(est.dual_coef_) + _size(getattr(est, "intercept_", None))
    if hasattr(est, "_fit_X"):  # k nearest neighbours keep the training rows
        return _size(est._fit_X)
    if hasattr(est, "coef_"):  # linear models
        return _size(np.asarray(est.coef_)) + _size(np.atleast_1d(np.asarray(getattr(est, "intercept_", 0.0))))
    return None
