"""scikit-learn estimators behind the :class:`~tesla_lab.models.base.Estimator` interface (families
``sklearn:logistic``, ``sklearn:random_forest``, ``sklearn:ridge``, ...).

Fitted estimators are saved with :mod:`pickle` — the only format scikit-learn offers without extra packages. Because
unpickling runs code chosen by whoever wrote the file, TESLA Lab writes these pickles **only into a project's
artifact store** (content-addressed, hash-checked, written by this library) and reads them back only with an
explicit ``trust=True`` (the workflow passes it for the project it was opened on). Never load a store you did not
create yourself.

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(60, 3)).astype("float32"); y = (X[:, 1] > 0).astype("int64")
>>> model = build("random_forest", n_features=3, n_outputs=2, task="classification", n_estimators=10)
>>> model.fit(X, y, seed=0).predict_proba(X).shape, model.get_config()["estimator"]
((60, 2), 'sklearn.ensemble.RandomForestClassifier')
"""

from __future__ import annotations

import importlib
import logging
import pickle
from typing import Any

import numpy as np

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models.base import Estimator, as_features

__all__ = ["SklearnModel", "build", "ESTIMATORS", "kinds"]

logger = logging.getLogger(__name__)

# family kind -> task -> estimator class path; imported lazily (sklearn takes a while to import)
ESTIMATORS: dict[str, dict[str, str]] = {
    "logistic": {"classification": "sklearn.linear_model.LogisticRegression"},
    "random_forest": {"classification": "sklearn.ensemble.RandomForestClassifier",
                      "regression": "sklearn.ensemble.RandomForestRegressor"},
    "gradient_boosting": {"classification": "sklearn.ensemble.HistGradientBoostingClassifier",
                          "regression": "sklearn.ensemble.HistGradientBoostingRegressor"},
    "knn": {"classification": "sklearn.neighbors.KNeighborsClassifier",
            "regression": "sklearn.neighbors.KNeighborsRegressor"},
    "svm": {"classification": "sklearn.svm.SVC", "regression": "sklearn.svm.SVR"},
    "ridge": {"regression": "sklearn.linear_model.Ridge"},
    "linear": {"regression": "sklearn.linear_model.LinearRegression"},
}
# TESLA Lab's defaults where scikit-learn's would warn
_DEFAULTS: dict[str, dict[str, Any]] = {
    "sklearn.linear_model.LogisticRegression": {"max_iter": 1000},
}
# Classifiers without predict_proba of their own: wrapped in CalibratedClassifierCV(estimator, ensemble=False), the
# replacement scikit-learn 1.9 names for the deprecated SVC(probability=True) (Platt scaling fitted on 5-fold
# cross-validated decision values, then the estimator refit on all the data). An explicit `probability` option (in
# the configs of models saved before) keeps the plain estimator, with scikit-learn's deprecation warning.
_CALIBRATED = frozenset({"sklearn.svm.SVC"})
_CALIBRATION_FOLDS = 5


def kinds() -> list[str]:
    """The estimator kinds (family ``sklearn:<kind>``).

    >>> kinds()[:3]
    ['gradient_boosting', 'knn', 'linear']
    """
    return sorted(ESTIMATORS)


def _class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class SklearnModel(Estimator):
    """A scikit-learn estimator (``estimator`` class path) with TESLA Lab's fit / predict / evaluate / save.

    ``fit`` takes the training-loop options of the torch families too (``epochs``, ``lr``, ...) so every family is
    driven the same way; they do not apply to scikit-learn and are ignored. ``seed`` sets ``random_state``.
    """

    framework = "scikit-learn"
    payload_name = "estimator.pkl"
    payload_kind = "estimator"
    payload_format = "pickle"

    def __init__(self, estimator: str, *, family: str, task: str, n_features: int, n_outputs: int,
                 hparams: dict[str, Any] | None = None) -> None:
        super().__init__(family=family, task=task, n_features=n_features, n_outputs=n_outputs, hparams=hparams)
        self.estimator = estimator
        cls = _class(estimator)
        valid = cls().get_params()
        params = {**_DEFAULTS.get(estimator, {}), **self.hparams}
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ConfigError(f"{family} ({cls.__name__}) has no parameter(s) {', '.join(map(repr, unknown))}; it "
                              f"takes: {', '.join(sorted(valid))}")
        self.hparams = params
        self.estimator_: Any = cls(**params)
        if estimator in _CALIBRATED and "probability" not in params:
            from sklearn.calibration import CalibratedClassifierCV

            self.estimator_ = CalibratedClassifierCV(self.estimator_, ensemble=False, cv=_CALIBRATION_FOLDS)

    def fit(self, X: Any, y: Any, *, seed: int | None = None, **options: Any) -> SklearnModel:
        """Fit on ``X`` (N, n_features) and ``y`` (class indices or values); returns ``self``."""
        X = as_features(X, self.n_features)
        y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if len(X) != len(y):
            raise DataError(f"X has {len(X)} samples but y has {len(y)}; pass one target per sample")
        if self.task == "classification":
            y = y.astype(np.int64)
        ignored = sorted(k for k, v in options.items() if v not in (None, (), False) and k != "validation_data")
        if ignored:
            logger.debug("%s ignores the training-loop options %s", self.family, ", ".join(ignored))
        from sklearn.calibration import CalibratedClassifierCV

        if isinstance(self.estimator_, CalibratedClassifierCV):
            self.estimator_.set_params(cv=self._calibration_folds(y))
        if seed is not None and "random_state" in self.estimator_.get_params() and "random_state" not in self.hparams:
            self.estimator_.set_params(random_state=seed)
        self.estimator_.fit(X, y)
        self.is_fitted = True
        return self

    def _calibration_folds(self, y: np.ndarray) -> int:
        """Cross-validation folds for the probability calibration: 5, or fewer when a class has fewer samples."""
        classes, counts = np.unique(y, return_counts=True)
        smallest = int(counts.min()) if len(counts) else 0
        if smallest < 2:
            rare = classes[np.argmin(counts)].item() if len(counts) else None
            raise DataError(f"{self.family} calibrates its class probabilities by cross-validation and needs at least "
                            f"2 training samples of every class; class {rare!r} has {smallest}. Add samples of that "
                            "class, or choose another family")
        if smallest < _CALIBRATION_FOLDS:
            logger.info("%s: probability calibration on %d folds (the rarest class has %d samples)", self.family,
                        smallest, smallest)
        return min(_CALIBRATION_FOLDS, smallest)

    def _scores(self, X: np.ndarray) -> np.ndarray:
        est = self.estimator_
        if self.task == "regression":
            return np.asarray(est.predict(X), dtype=np.float64).reshape(len(X), -1)
        # (N, C) over every class 0..C-1, also those the training split happened to lack
        scores = np.zeros((len(X), self.n_outputs))
        columns = np.asarray(est.classes_, dtype=np.int64)
        if hasattr(est, "predict_proba"):
            scores[:, columns] = est.predict_proba(X)
        else:
            scores[np.arange(len(X)), np.asarray(est.predict(X), dtype=np.int64)] = 1.0
        return scores

    def get_config(self) -> dict[str, Any]:
        """Everything but the fitted state, as JSON-able data."""
        import sklearn

        return {"framework": self.framework, "family": self.family, "task": self.task, "n_features": self.n_features,
                "n_outputs": self.n_outputs, "hparams": dict(self.hparams), "estimator": self.estimator,
                "sklearn_version": sklearn.__version__}

    def to_bytes(self) -> bytes:
        """The fitted estimator as a pickle (see the module docstring for where it may be stored)."""
        return pickle.dumps(self.estimator_, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_config(cls, config: dict[str, Any], payload: bytes | None = None, *, trust: bool = False) -> SklearnModel:
        """Rebuild from :meth:`get_config`; with ``payload`` (a pickle) only when ``trust=True``."""
        model = cls(config["estimator"], family=config["family"], task=config["task"],
                    n_features=int(config["n_features"]), n_outputs=int(config["n_outputs"]),
                    hparams=config.get("hparams"))
        if payload is None:
            return model
        if not trust:
            raise ConfigError(
                f"refusing to unpickle the {config['family']} estimator: loading a pickle can execute arbitrary code. "
                "Pass trust=True only for a project store you created yourself"
            )
        import sklearn

        if config.get("sklearn_version") not in (None, sklearn.__version__):
            logger.warning("the %s estimator was saved with scikit-learn %s and is loaded with %s; predictions may "
                           "differ", config["family"], config["sklearn_version"], sklearn.__version__)
        try:
            estimator = pickle.loads(payload)  # trusted store only (checked above)
        except Exception as exc:  # a damaged pickle raises anything
            raise DataError(f"cannot unpickle the {config['family']} estimator: {type(exc).__name__}: {exc}") from exc
        if type(estimator) is not type(model.estimator_):
            raise DataError(f"the stored estimator is a {type(estimator).__name__}, not the "
                            f"{type(model.estimator_).__name__} its config names; the store is inconsistent")
        model.estimator_ = estimator
        model.is_fitted = True
        return model


def build(kind: str, n_features: int, n_outputs: int, task: str, **hparams: Any) -> SklearnModel:
    """The scikit-learn estimator for ``kind`` and ``task`` (family ``sklearn:<kind>``)."""
    family = f"sklearn:{kind}"
    by_task = ESTIMATORS[kind]
    if task not in by_task:
        other = [k for k in kinds() if task in ESTIMATORS[k]]
        raise ConfigError(f"family {family!r} does {' and '.join(by_task)} only, not {task}; for {task} choose one "
                          f"of: {', '.join(f'sklearn:{k}' for k in other)}")
    return SklearnModel(by_task[task], family=family, task=task, n_features=n_features, n_outputs=n_outputs,
                        hparams=hparams)
