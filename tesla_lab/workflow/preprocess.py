"""From a raw table to training arrays: task detection, column kinds, the preprocessing pipeline and the split.

The pipeline is fitted on the training rows only. Text (or bool) columns with few distinct values are one-hot
encoded automatically; text with many distinct values is refused as free text. Missing values are filled with
training statistics (mean for numbers, most frequent value for categories), then the configured steps run
(``standardize`` by default) on the numeric columns.

>>> import pandas as pd
>>> df = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0] * 5, "color": ["red", "blue"] * 10, "y": [0, 1] * 10})
>>> data = prepare(df, "y", test_size=0.2, seed=0)
>>> data.task, data.classes, data.encoded_features, data.X_train.shape
('classification', [0, 1], ['size', 'color_blue', 'color_red'], (16, 3))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.data import FillMissing, OneHot, Pipeline, Transform, split_indices
from tesla_lab.data.pipeline import TRANSFORMS
from tesla_lab.data.sources import select_columns
from tesla_lab.errors import ConfigError, DataError

__all__ = ["detect_task", "column_kinds", "parse_steps", "build_pipeline", "sorted_labels", "PreparedData",
           "prepare", "STEP_CHOICES"]

logger = logging.getLogger(__name__)

# preprocessing steps a config may name; OneHot and the default FillMissing are added automatically
STEP_CHOICES = ("standardize", "minmaxscale", "normalize", "pixelscale", "fillmissing")
_STEP_ALIASES = {"minmax": "minmaxscale", "min_max": "minmaxscale", "pixel": "pixelscale", "zscore": "standardize",
                 "fill": "fillmissing", "impute": "fillmissing"}
_COLUMNWISE = ("standardize", "minmaxscale", "fillmissing")  # they take columns=: the numeric features by default


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def detect_task(y: pd.Series, *, max_classes: int = 20) -> str:
    """``'classification'`` for text / bool / category targets and for whole-number targets with at most
    ``max_classes`` distinct values; ``'regression'`` otherwise.

    >>> detect_task(pd.Series(["a", "b"])), detect_task(pd.Series([0, 1, 2] * 5)), detect_task(pd.Series([0.5, 1.7]))
    ('classification', 'classification', 'regression')
    >>> detect_task(pd.Series(range(100)))
    'regression'
    """
    if not _is_numeric(y):
        return "classification"
    values = y.dropna().to_numpy(dtype=np.float64)
    whole = bool(np.all(np.mod(values, 1) == 0))
    return "classification" if whole and len(np.unique(values)) <= max_classes else "regression"


def column_kinds(df: pd.DataFrame, features: Sequence[str], *, max_categories: int = 20) -> tuple[list[str], list[str]]:
    """Split ``features`` into numeric columns and categorical ones (text, bool or category with at most
    ``max_categories`` distinct values); free text and dates are refused.

    >>> column_kinds(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [True, False]}), ["a", "b", "c"])
    (['a'], ['b', 'c'])
    >>> column_kinds(pd.DataFrame({"note": [f"text {i}" for i in range(30)]}), ["note"])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: feature column 'note' looks like free text (30 distinct values, e.g. 'text 0'); \
only text columns with at most 20 distinct values are one-hot encoded. Leave it out with features=[...] \
(tesla train --features), encode it yourself, or raise max_categories
    """
    numeric, categorical = [], []
    for col in features:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_timedelta64_dtype(s.dtype):
            raise DataError(f"feature column {col!r} holds dates/times ({s.dtype}); turn them into numbers first (e.g. "
                            "df[col].dt.year, or seconds since a start), or leave the column out with features=[...]")
        if _is_numeric(s):
            numeric.append(col)
            continue
        distinct = s.dropna().unique()
        if len(distinct) > max_categories:
            raise DataError(
                f"feature column {col!r} looks like free text ({len(distinct)} distinct values, e.g. {distinct[0]!r}); "
                f"only text columns with at most {max_categories} distinct values are one-hot encoded. Leave it out "
                "with features=[...] (tesla train --features), encode it yourself, or raise max_categories"
            )
        if len(distinct) == 0:
            raise DataError(f"feature column {col!r} holds no values (all missing); leave it out with features=[...]")
        categorical.append(col)
    return numeric, categorical


def parse_steps(steps: Any) -> list[tuple[str, dict[str, Any]]]:
    """Normalise a preprocessing spec — names or ``{"type": name, **options}`` dicts — to ``(name, options)``.

    >>> parse_steps(["standardize", {"type": "MinMaxScale", "feature_range": [-1, 1]}])
    [('standardize', {}), ('minmaxscale', {'feature_range': [-1, 1]})]
    >>> parse_steps(["onehot"])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown preprocessing step 'onehot'; choose from: standardize, minmaxscale, \
normalize, pixelscale, fillmissing (text columns are one-hot encoded automatically)
    """
    if isinstance(steps, (str, dict)):
        steps = [steps]
    if not isinstance(steps, (list, tuple)):
        raise ConfigError(f"preprocessing must be a list of step names or {{'type': ...}} dicts; got {steps!r}")
    out = []
    for step in steps:
        if isinstance(step, dict):
            options = dict(step)
            name = options.pop("type", None)
        else:
            name, options = step, {}
        if not isinstance(name, str):
            raise ConfigError(f"a preprocessing step is a name (e.g. 'standardize') or a dict with a 'type'; got "
                              f"{step!r}")
        key = name.strip().lower().replace("-", "_")
        key = _STEP_ALIASES.get(key, key).replace("_", "")
        if key not in STEP_CHOICES:
            raise ConfigError(f"unknown preprocessing step {name!r}; choose from: {', '.join(STEP_CHOICES)} (text "
                              "columns are one-hot encoded automatically)")
        out.append((key, options))
    return out


def _make(name: str, options: dict[str, Any]) -> Transform:
    cls = TRANSFORMS.get(name)()
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for preprocessing step {name!r}: {exc}; got {options!r}") from exc


def build_pipeline(numeric: Sequence[str], categorical: Sequence[str], steps: Any = ("standardize",)) -> Pipeline:
    """The (unfitted) pipeline: fill missing values, one-hot encode ``categorical``, then ``steps`` (column-wise
    steps act on ``numeric`` only, so indicator columns stay 0/1).

    >>> build_pipeline(["a"], ["b"])
    Pipeline([FillMissing(columns=['a']), FillMissing(strategy='most_frequent', columns=['b']), \
OneHot(columns=['b'], handle_unknown='ignore'), Standardize(columns=['a'])])
    """
    parsed = parse_steps(list(steps))
    transforms: list[Transform] = []
    if numeric and not any(name == "fillmissing" for name, _ in parsed):
        transforms.append(FillMissing("mean", columns=list(numeric)))
    if categorical:
        transforms.append(FillMissing("most_frequent", columns=list(categorical)))
        # unseen categories at prediction time become all-zero rows instead of failing a live request
        transforms.append(OneHot(list(categorical), handle_unknown="ignore"))
    for name, options in parsed:
        if name in _COLUMNWISE:
            if not numeric:
                continue
            options = {"columns": list(numeric), **options}
        transforms.append(_make(name, options))
    return Pipeline(transforms)


def sorted_labels(values: Any) -> list[Any]:
    """Distinct labels sorted (mixed types by type name, then text), as plain Python values.

    >>> sorted_labels(["b", "a", "b"]), sorted_labels([2, 0, 1])
    (['a', 'b'], [0, 1, 2])
    """
    unique = list(dict.fromkeys(v.item() if isinstance(v, np.generic) else v for v in values))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=lambda v: (type(v).__name__, str(v)))


@dataclass
class PreparedData:
    """Training arrays and what is needed to rebuild them: the fitted pipeline, the classes, the raw test rows."""

    task: str
    target: str
    features: list[str]
    encoded_features: list[str]
    classes: list[Any] | None
    pipeline: Pipeline
    X_train: np.ndarray  # (N_train, F) float32
    y_train: np.ndarray  # (N_train,) int64 class indices, or float32 (scaled when target_scaling is set)
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    test_frame: pd.DataFrame  # raw rows held out for the final evaluation
    target_scaling: dict[str, float] | None
    n_rows: int

    @property
    def n_outputs(self) -> int:
        """Classes (classification) or 1 (regression)."""
        return len(self.classes) if self.classes is not None else 1


def _to_array(frame: Any) -> np.ndarray:
    return np.asarray(frame.to_numpy() if hasattr(frame, "to_numpy") else frame, dtype=np.float32)


def _refuse_infinities(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Infinite feature values cannot be scaled or trained on; missing values (NaN) are filled by the pipeline."""
    bad = {}
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        count = int(np.isinf(values).sum())
        if count:
            bad[col] = count
    if bad:
        listed = ", ".join(f"{c!r} ({n})" for c, n in bad.items())
        raise DataError(f"feature column(s) {listed} hold infinite values, which cannot be trained on; fix them in "
                        "the file, or treat them as missing values (filled like the others): in Python "
                        "df.replace([np.inf, -np.inf], np.nan); from the command line reload with "
                        "`tesla load -d FILE -o NAME --inf-as-missing`")


def prepare(
    df: pd.DataFrame,
    target: str,
    features: Sequence[str] | None = None,
    *,
    task: str = "auto",
    preprocessing: Any = ("standardize",),
    max_categories: int = 20,
    test_size: float | int = 0.2,
    val_size: float | int = 0.0,
    scale_target: bool = True,
    seed: int = 0,
) -> PreparedData:
    """Check ``df``, detect the task, split (stratified for classification), fit the preprocessing on the training
    rows and return the arrays. Nothing is stored; every problem raises before anything is trained.

    >>> prepare(pd.DataFrame({"a": [1, 2]}), "label")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: target column 'label' not found; columns are: a
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"training data must be a pandas DataFrame; got {type(df).__name__}")
    feats = [c for c in df.columns if c != target] if features is None else list(features)
    select_columns(df, feats, target)  # raises, naming the columns, for a missing target or feature
    if target in feats:
        raise DataError(f"target column {target!r} is also listed as a feature; remove it from features")
    if not feats:
        raise DataError(f"no feature columns left besides the target {target!r}; the data needs at least one more")
    y_raw = df[target]
    n_missing = int(y_raw.isna().sum())
    if n_missing:
        raise DataError(f"target column {target!r} has {n_missing} missing value(s); drop those rows first, e.g. "
                        f"df.dropna(subset=[{target!r}])")
    if task == "auto":
        task = detect_task(y_raw)
        logger.info("task detected from target %r: %s", target, task)
    elif task not in ("classification", "regression"):
        raise ConfigError(f"task must be 'auto', 'classification' or 'regression'; got {task!r}")
    numeric, categorical = column_kinds(df, feats, max_categories=max_categories)
    _refuse_infinities(df, numeric)

    classes: list[Any] | None = None
    if task == "classification":
        classes = sorted_labels(y_raw.tolist())
        if len(classes) < 2:
            raise DataError(f"target column {target!r} has a single class ({classes[0]!r}); a classifier needs at "
                            "least two")
        lookup = {c: i for i, c in enumerate(classes)}
        y = np.fromiter((lookup[v.item() if isinstance(v, np.generic) else v] for v in y_raw.tolist()),
                        dtype=np.int64, count=len(y_raw))
    else:
        if not _is_numeric(y_raw):
            raise DataError(f"regression needs a numeric target; column {target!r} has dtype {y_raw.dtype} (e.g. "
                            f"{y_raw.iloc[0]!r}); use task='classification'")
        y = y_raw.to_numpy(dtype=np.float32)

    train_idx, val_idx, test_idx = split_indices(len(df), test_size=test_size, val_size=val_size, seed=seed,
                                                 stratify=y if task == "classification" else None)
    pipeline = build_pipeline(numeric, categorical, preprocessing)
    train_frame = df.iloc[train_idx][feats]
    encoded = pipeline.fit_transform(train_frame)  # fitted on the training rows only
    encoded_features = [str(c) for c in encoded.columns] if hasattr(encoded, "columns") else list(map(str, feats))
    X_train = _to_array(encoded)
    scaling = None
    y_train, y_val = y[train_idx], (y[val_idx] if len(val_idx) else None)
    if task == "regression" and scale_target:
        mean, std = float(y_train.mean()), float(y_train.std())
        scaling = {"mean": mean, "std": std if std > 0 else 1.0}
        y_train = ((y_train - mean) / scaling["std"]).astype(np.float32)
        if y_val is not None:
            y_val = ((y_val - mean) / scaling["std"]).astype(np.float32)
    X_val = _to_array(pipeline.transform(df.iloc[val_idx][feats])) if len(val_idx) else None
    return PreparedData(task=task, target=target, features=[str(f) for f in feats], encoded_features=encoded_features,
                        classes=classes, pipeline=pipeline, X_train=X_train, y_train=y_train, X_val=X_val,
                        y_val=y_val, test_frame=df.iloc[test_idx], target_scaling=scaling, n_rows=len(df))
