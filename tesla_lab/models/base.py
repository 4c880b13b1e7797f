"""The interface every model family shares: :class:`Estimator` (``fit`` / ``predict`` / ``predict_proba`` /
``evaluate`` / ``save``), whether a TESLA network trained by :class:`~tesla_lab.train.Trainer` or a scikit-learn
estimator.

Estimators work on prepared numbers: ``X`` float (N, n_features), ``y`` class indices 0..C-1 (classification) or
floats (regression). Turning raw tables into those numbers (and class indices back into labels) is the job of a
:class:`~tesla_lab.models.bundle.ModelBundle`.

>>> import numpy as np
>>> from tesla_lab.models import make_model
>>> X = np.random.default_rng(0).normal(size=(64, 3)).astype("float32"); y = (X[:, 0] > 0).astype("int64")
>>> model = make_model("logistic", n_features=3, n_outputs=2, task="classification")
>>> model.fit(X, y, epochs=30, lr=0.1, seed=0).evaluate(X, y)["accuracy"] > 0.9
True
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

import numpy as np

from tesla_lab.errors import ConfigError, DataError, NotFittedError
from tesla_lab.metrics import classification_report, regression_report
from tesla_lab.models.storage import is_folder, put

__all__ = ["Estimator", "TASKS", "FRAMEWORKS", "check_task", "as_features", "MODEL_FILE"]

logger = logging.getLogger(__name__)

TASKS = ("classification", "regression")
FRAMEWORKS = ("torch", "scikit-learn")
MODEL_FILE = "model.json"  # the estimator's config and payload reference, in a model folder


def check_task(task: Any) -> str:
    """Validate a task name.

    >>> check_task("regresion")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: task must be one of: classification, regression; got 'regresion'
    """
    if task not in TASKS:
        raise ConfigError(f"task must be one of: {', '.join(TASKS)}; got {task!r}")
    return str(task)


def as_features(X: Any, n_features: int) -> np.ndarray:
    """``X`` as a float32 (N, n_features) array (images (N, H, W) are flattened), with a clear error otherwise.

    >>> as_features([[1, 2], [3, 4]], 2).dtype
    dtype('float32')
    >>> as_features([[1.0, 2.0]], 3)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: the model takes 3 feature(s) per sample; got X of shape (1, 2)
    """
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must be numeric (encode text columns first, or predict through a ModelBundle); {exc}") \
            from exc
    if arr.ndim > 2:
        arr = arr.reshape(len(arr), -1)  # (N, H, W) images -> (N, H*W)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise DataError(f"the model takes {n_features} feature(s) per sample; got X of shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError("X contains NaN/inf values; fill them first (a ModelBundle's preprocessing does that)")
    return arr


class Estimator:
    """Base of the model families: a model for one ``task`` taking ``n_features`` inputs, with ``n_outputs``
    classes (classification) or targets (regression).

    Subclasses set ``framework`` and implement ``fit``, ``_scores`` (raw outputs), ``get_config``, ``to_bytes``
    and ``from_bytes``; the shared methods below turn scores into labels, probabilities and reports.
    """

    framework: ClassVar[str] = ""
    payload_name: ClassVar[str] = ""  # file / artifact name of the learned state
    payload_kind: ClassVar[str] = ""  # artifact kind in a run
    payload_format: ClassVar[str] = ""

    def __init__(self, *, family: str, task: str, n_features: int, n_outputs: int,
                 hparams: dict[str, Any] | None = None) -> None:
        self.family = family
        self.task = check_task(task)
        for name, value in (("n_features", n_features), ("n_outputs", n_outputs)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer; got {value!r}")
        if task == "classification" and n_outputs < 2:
            raise ConfigError(f"classification needs n_outputs >= 2 (the number of classes); got {n_outputs}. "
                              "A target with a single class cannot be learned")
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.hparams = dict(hparams or {})
        self.is_fitted = False

    # -- to implement ----------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, **options: Any) -> Estimator:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _scores(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - every subclass overrides
        """Class probabilities (N, C) or regression values (N, n_outputs) for prepared ``X``."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_bytes(self) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {self.family} model is not fitted yet; call fit(X, y) first")

    def _checked(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return as_features(X, self.n_features)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (N, n_classes); classification only."""
        if self.task != "classification":
            raise ConfigError(f"predict_proba is for classification; this {self.family} model does regression "
                              "(use predict)")
        return self._scores(self._checked(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class indices (N,) int64 for classification; values (N,) (or (N, k) for k targets) for regression."""
        scores = self._scores(self._checked(X))
        if self.task == "classification":
            return scores.argmax(axis=1).astype(np.int64)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def evaluate(self, X: Any, y: Any) -> dict[str, Any]:
        """A :func:`~tesla_lab.metrics.classification_report` or :func:`~tesla_lab.metrics.regression_report`."""
        if self.task == "classification":
            return classification_report(y, self.predict_proba(X), labels=list(range(self.n_outputs)))
        return regression_report(y, self.predict(X))

    def save(self, dest: Any) -> dict[str, Any]:
        """Write the learned state to ``dest`` (a folder, or an artifact store / Project / Run) and return the
        entry :func:`~tesla_lab.models.load_estimator` needs: ``{"config", "payload", "format"}``. In a folder the
        entry is also written as ``model.json``. scikit-learn models are pickles and only go into a store.
        """
        self._check_fitted()
        if is_folder(dest) and self.payload_format == "pickle":
            raise ConfigError(
                f"a {self.framework} model is saved as a pickle, which TESLA Lab only writes into a project's "
                "artifact store (loading a pickle runs code); pass project / project.artifacts / a run instead of a "
                f"folder ({dest})"
            )
        ref = put(dest, self.payload_name, self.to_bytes(), kind=self.payload_kind)
        entry = {"config": self.get_config(), "payload": ref, "format": self.payload_format}
        if is_folder(dest):
            put(dest, MODEL_FILE, json.dumps(entry, indent=2).encode())
        return entry

    def __repr__(self) -> str:
        fitted = "fitted" if self.is_fitted else "not fitted"
        return (f"{type(self).__name__}(family={self.family!r}, task={self.task!r}, n_features={self.n_features}, "
                f"n_outputs={self.n_outputs}, {fitted})")
