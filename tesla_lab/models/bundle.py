"""``ModelBundle``: everything needed to use a trained model later, saved as JSON plus weights.

A bundle holds the fitted model (its config and learned state), the fitted preprocessing
:class:`~tesla_lab.data.Pipeline`, the raw feature columns it reads, the target name, the class labels, the task,
the input shape and the test metrics. :meth:`ModelBundle.predict` takes raw rows (a DataFrame, records, or an array
in feature order), applies the preprocessing, runs the model and maps class indices back to the original labels.
This is the unit ``tesla evaluate``, ``tesla deploy`` and the serving layer work with.

On disk (a folder) a bundle is ``bundle.json`` (the manifest: everything but the weights, as JSON), ``model.json``
and ``weights.pt`` (``torch.save`` of the ``state_dict``, read back with ``torch.load(weights_only=True)``). In a
project's artifact store the same pieces are content-addressed artifacts and the manifest refers to the weights by
their SHA-256; scikit-learn estimators (pickles) are only ever written there (see :mod:`tesla_lab.models.sklearn`).

>>> import tempfile, numpy as np, pandas as pd
>>> from tesla_lab.data import Pipeline, Standardize
>>> from tesla_lab.models import make_model
>>> df = pd.DataFrame({"x": np.linspace(-1, 1, 40), "label": ["neg"] * 20 + ["pos"] * 20})
>>> pipe = Pipeline([Standardize()]).fit(df[["x"]])
>>> model = make_model("logistic", 1, 2, "classification")
>>> _ = model.fit(pipe.transform(df[["x"]]), (df["label"] == "pos").astype(int), epochs=40, lr=0.2, seed=0)
>>> bundle = ModelBundle(model, features=["x"], target="label", task="classification", classes=["neg", "pos"],
...                      preprocessing=pipe)
>>> folder = tempfile.mkdtemp()
>>> save_bundle(bundle, folder)
'bundle.json'
>>> load_bundle(folder).predict(pd.DataFrame({"x": [-0.9, 0.9]})).tolist()
['neg', 'pos']
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.data import Pipeline, transform_from_dict
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.metrics import classification_report, regression_report
from tesla_lab.models.base import Estimator, check_task
from tesla_lab.models.registry import load_estimator
from tesla_lab.models.storage import get, is_folder, put

__all__ = ["ModelBundle", "save_bundle", "load_bundle", "summary_metrics", "BUNDLE_FILE", "BUNDLE_FORMAT"]

_PLOTTED_ROWS = 2000  # (true, predicted) pairs a regression report keeps for its plot

logger = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.json"
BUNDLE_FORMAT = "tesla_lab.bundle/1"


def _plain(value: Any) -> Any:
    """NumPy scalars → Python scalars, so labels survive JSON unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def summary_metrics(report: Mapping[str, Any], task: str) -> dict[str, float]:
    """The headline numbers of a classification / regression report, flat (for run metrics and tables).

    >>> summary_metrics({"accuracy": 0.9, "macro": {"precision": 0.8, "recall": 0.7, "f1": 0.75}}, "classification")
    {'accuracy': 0.9, 'f1_macro': 0.75, 'precision_macro': 0.8, 'recall_macro': 0.7}
    >>> summary_metrics({"mse": 4.0, "rmse": 2.0, "mae": 1.5, "r2": 0.5, "n_samples": 9}, "regression")
    {'mse': 4.0, 'rmse': 2.0, 'mae': 1.5, 'r2': 0.5}
    """
    if task == "classification":
        out = {"accuracy": float(report["accuracy"])}
        for key in ("f1", "precision", "recall"):
            out[f"{key}_macro"] = float(report["macro"][key])
        if "roc_auc" in report:
            out["roc_auc"] = float(report["roc_auc"])
    else:
        out = {k: float(report[k]) for k in ("mse", "rmse", "mae", "r2") if k in report}
    return {k: v for k, v in out.items() if math.isfinite(v)}  # the manifest is strict JSON


@dataclass
class ModelBundle:
    """A trained model with what it needs to read raw data and to answer in the original labels.

    Args:
        estimator: the fitted model (:func:`~tesla_lab.models.make_model` family).
        features: the raw input columns, in order.
        target: the target column name.
        task: ``'classification'`` or ``'regression'``.
        classes: the class labels, index i ↔ model output i (classification).
        preprocessing: the fitted pipeline turning ``features`` into the model's inputs (None: used as they are).
        encoded_features: the model's input columns after preprocessing (default: ``features``).
        target_scaling: ``{"mean", "std"}`` when a regression model learned ``(y - mean) / std``.
        metrics: headline test metrics (:func:`summary_metrics`).
        train_config: the training configuration (``TrainConfig.to_dict()``), to reproduce the model.
    """

    estimator: Estimator
    features: list[str]
    target: str
    task: str
    classes: list[Any] | None = None
    preprocessing: Pipeline | None = None
    encoded_features: list[str] | None = None
    target_scaling: dict[str, float] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    train_config: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self.task = check_task(self.task)
        self.features = [str(f) for f in self.features]
        if not self.features:
            raise ConfigError("a ModelBundle needs at least one feature column")
        if self.encoded_features is None:
            self.encoded_features = list(self.features)
        if self.task == "classification":
            if not self.classes or len(self.classes) != self.estimator.n_outputs:
                raise ConfigError(f"a classification bundle needs one class label per model output "
                                  f"({self.estimator.n_outputs}); got classes={self.classes!r}")
            self.classes = [_plain(c) for c in self.classes]
        if len(self.encoded_features) != self.estimator.n_features:
            raise ConfigError(f"the model takes {self.estimator.n_features} inputs but encoded_features names "
                              f"{len(self.encoded_features)}")

    # ------------------------------------------------------------------------------------------ reading data
    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one prepared sample, ``(n_inputs,)``."""
        return (self.estimator.n_features,)

    def _frame(self, data: Any) -> pd.DataFrame:
        if isinstance(data, pd.DataFrame):
            frame = data
        elif isinstance(data, Mapping):  # one record {"col": value}, or columns {"col": [values]}
            scalar = all(np.ndim(v) == 0 for v in data.values())
            frame = pd.DataFrame([dict(data)]) if scalar else pd.DataFrame(dict(data))
        elif isinstance(data, Sequence) and data and all(isinstance(r, Mapping) for r in data):
            frame = pd.DataFrame(list(data))  # records
        else:
            arr = np.asarray(data.detach().cpu().numpy() if hasattr(data, "detach") else data, dtype=object)
            if arr.ndim == 1:
                arr = arr.reshape(1, -1)
            if arr.ndim != 2 or arr.shape[1] != len(self.features):
                raise DataError(f"an array passed to the model must hold one row per sample with the "
                                f"{len(self.features)} feature columns ({', '.join(self.features)}) in order; got "
                                f"shape {arr.shape}. Pass a DataFrame to give columns by name")
            frame = pd.DataFrame(arr, columns=self.features).infer_objects()
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise DataError(f"missing feature column(s) {', '.join(map(repr, missing))}; the model reads: "
                            f"{', '.join(self.features)}")
        if len(frame) == 0:
            raise DataError("no rows to predict; pass at least one sample")
        return frame

    def transform(self, data: Any) -> np.ndarray:
        """Raw rows → the model's inputs, float32 (N, n_inputs), through the fitted preprocessing."""
        frame = self._frame(data)[self.features]
        out = self.preprocessing.transform(frame) if self.preprocessing is not None else frame
        values = out.to_numpy() if hasattr(out, "to_numpy") else np.asarray(out)
        try:
            X = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataError(f"after preprocessing the features are not all numeric ({exc}); text columns need the "
                            "one-hot encoding the workflow adds when it trains") from exc
        bad = ~np.isfinite(X)
        if bad.any():
            cols = [self.encoded_features[j] for j in np.flatnonzero(bad.any(axis=0))]  # type: ignore[index]
            raise DataError(f"input column(s) {', '.join(map(repr, cols[:5]))} hold NaN/inf after preprocessing; "
                            "fill or drop those rows")
        return X

    # ------------------------------------------------------------------------------------------- answers
    def labels(self, indices: Any) -> np.ndarray:
        """Class indices → class labels.

        >>> from tesla_lab.models import make_model
        >>> ModelBundle(make_model("logistic", 1, 2, "classification"), ["x"], "y", "classification",
        ...             classes=["no", "yes"]).labels([1, 0]).tolist()
        ['yes', 'no']
        """
        return np.asarray(self.classes)[np.asarray(indices, dtype=np.int64)]

    def predict(self, data: Any) -> np.ndarray:
        """Class labels (classification) or values in the target's units (regression) for raw rows."""
        out = self.estimator.predict(self.transform(data))
        if self.task == "classification":
            return self.labels(out)
        if self.target_scaling is not None:
            out = out * self.target_scaling["std"] + self.target_scaling["mean"]
        return out

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities (N, n_classes), columns in the order of ``classes``."""
        return self.estimator.predict_proba(self.transform(data))

    def encode_target(self, values: Any) -> np.ndarray:
        """Target values → class indices (classification) or floats (regression), refusing unknown labels."""
        series = pd.Series(np.asarray(values, dtype=object))
        n_missing = int(series.isna().sum())
        if n_missing:
            raise DataError(f"target column {self.target!r} has {n_missing} missing value(s); drop those rows first")
        if self.task == "regression":
            try:
                return series.to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise DataError(f"target column {self.target!r} must be numeric for this regression model; {exc}") \
                    from exc
        lookup = {c: i for i, c in enumerate(self.classes)}  # type: ignore[arg-type]
        codes = np.fromiter((lookup.get(_plain(v), -1) for v in series), dtype=np.int64, count=len(series))
        if (codes < 0).any():
            unknown = sorted({str(v) for v, k in zip(series, codes) if k < 0})
            raise DataError(f"target column {self.target!r} has value(s) the model was not trained on: "
                            f"{', '.join(unknown[:5])}; the model knows: {', '.join(map(str, self.classes))}")
        return codes

    def evaluate(self, data: Any, target: str | None = None) -> dict[str, Any]:
        """Score the model on raw rows holding the target column: a classification or regression report (see
        :mod:`tesla_lab.metrics`), plus ``'summary'`` (:func:`summary_metrics`)."""
        target = target or self.target
        frame = self._frame(data)
        if target not in frame.columns:
            raise DataError(f"the evaluation data has no target column {target!r}; columns are: "
                            f"{', '.join(map(str, frame.columns))}")
        y = self.encode_target(frame[target].to_numpy())
        if self.task == "classification":
            report = classification_report(y, self.predict_proba(frame), labels=list(range(len(self.classes or []))),
                                           target_names=[str(c) for c in self.classes or []])
        else:
            predicted = self.predict(frame)
            report = regression_report(y, predicted)
            # the first rows' (true, predicted) pairs, for the predicted-vs-true plot of a run's page and --plot
            first = np.asarray(predicted, dtype=np.float64).reshape(len(y), -1)[:_PLOTTED_ROWS, 0]
            report["predictions"] = {"true": y[:_PLOTTED_ROWS].tolist(), "predicted": first.tolist()}
        report["summary"] = summary_metrics(report, self.task)
        return report

    # ----------------------------------------------------------------------------------------------- saving
    def manifest(self, estimator_entry: dict[str, Any]) -> dict[str, Any]:
        """The JSON manifest, given the estimator's saved entry."""
        return {
            "format": BUNDLE_FORMAT, "created": self.created, "task": self.task, "target": self.target,
            "features": self.features, "encoded_features": self.encoded_features, "classes": self.classes,
            "input_shape": list(self.input_shape), "target_scaling": self.target_scaling,
            "preprocessing": self.preprocessing.to_dict() if self.preprocessing is not None else None,
            "metrics": self.metrics, "train_config": self.train_config, "estimator": estimator_entry,
        }

    def save(self, dest: Any) -> str:
        """Same as :func:`save_bundle`."""
        return save_bundle(self, dest)

    def __repr__(self) -> str:
        extra = f", classes={self.classes!r}" if self.classes is not None else ""
        return (f"ModelBundle(family={self.estimator.family!r}, task={self.task!r}, target={self.target!r}, "
                f"features={len(self.features)}{extra})")


def save_bundle(bundle: ModelBundle, dest: Any) -> str:
    """Write ``bundle`` to ``dest``: a folder, or an artifact store / Project / Run (in a Run the pieces are also
    recorded as its artifacts: ``bundle.json``, and ``weights.pt`` of kind ``model`` or ``estimator.pkl``).
    Returns the manifest's reference: ``'bundle.json'`` in a folder, its artifact id in a store.
    """
    entry = bundle.estimator.save(dest)
    data = json.dumps(bundle.manifest(entry), indent=2, allow_nan=False).encode()
    return put(dest, BUNDLE_FILE, data, kind="bundle")


def load_bundle(source: Any, ref: str | None = None, *, trust: bool = False) -> ModelBundle:
    """Read a bundle back from a folder, a Run (its ``bundle.json`` artifact), or an artifact store / Project given
    the manifest's artifact id ``ref``. ``trust=True`` is needed for scikit-learn models (pickles).

    >>> import tempfile
    >>> load_bundle(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: .../bundle.json is missing; the model folder ... is incomplete (save it again)
    """
    if ref is None:
        if is_folder(source):
            ref = BUNDLE_FILE
        elif hasattr(source, "artifact_sha"):  # a Run
            ref = source.artifact_sha(BUNDLE_FILE)
        else:
            raise ConfigError("load_bundle from an artifact store or project needs ref= (the manifest's artifact id, "
                              "e.g. a registered model's metadata['bundle'])")
    try:
        manifest = json.loads(get(source, ref))  # type: ignore[arg-type]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"the bundle manifest {ref} is not valid JSON ({exc}); save the model again") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise DataError(f"{ref} is not a TESLA Lab model bundle (format {found!r}, expected {BUNDLE_FORMAT!r})")
    estimator = load_estimator(source, manifest["estimator"], trust=trust)
    pipe = manifest.get("preprocessing")
    return ModelBundle(
        estimator, features=manifest["features"], target=manifest["target"], task=manifest["task"],
        classes=manifest.get("classes"), preprocessing=transform_from_dict(pipe) if pipe else None,  # type: ignore[arg-type]
        encoded_features=manifest.get("encoded_features"), target_scaling=manifest.get("target_scaling"),
        metrics=manifest.get("metrics") or {}, train_config=manifest.get("train_config") or {},
        created=manifest.get("created") or "",
    )
