"""From a DataFrame to training arrays: :func:`prepare_xy` splits it into ``X`` and ``y`` (refusing data that would
train silently wrong) and :class:`XYInfo` records what it produced.

The fitted preprocessing transforms it points to live in their own modules and are re-exported here, so
``from tesla_lab.data.prepare import Standardize`` keeps working: the :class:`Transform` base in
:mod:`~tesla_lab.data.transform`, scaling in :mod:`~tesla_lab.data.scalers`, missing values in
:mod:`~tesla_lab.data.impute`, categorical encoding in :mod:`~tesla_lab.data.encoding`, and the :class:`Pipeline`
with its JSON registry in :mod:`~tesla_lab.data.pipeline`.

Transforms follow scikit-learn: ``__init__`` stores keyword options, ``fit(X_train)`` learns state into attributes
ending in ``_`` and returns ``self``, ``transform`` only applies it, so test data never leaks into the statistics.
They take DataFrames (column names kept) or NumPy arrays (columns by position) and return the same kind.

>>> import pandas as pd
>>> train, test = pd.DataFrame({"x": [0.0, 2.0]}), pd.DataFrame({"x": [4.0]})
>>> Standardize().fit(train).transform(test)["x"].tolist()  # train mean 1, train std 1
[3.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from tesla_lab.data.encoding import LabelEncode, OneHot, _sorted_categories, one_hot
from tesla_lab.data.impute import FillMissing, fill_missing
from tesla_lab.data.pipeline import TRANSFORMS, Pipeline, transform_from_dict
from tesla_lab.data.scalers import MinMaxScale, Normalize, PixelScale, Standardize
from tesla_lab.data.sources import select_columns
from tesla_lab.data.transform import Transform, _encode, _first_value, _is_numeric
from tesla_lab.errors import ConfigError, DataError

__all__ = [
    "Transform",
    "Standardize",
    "MinMaxScale",
    "Normalize",
    "PixelScale",
    "FillMissing",
    "OneHot",
    "LabelEncode",
    "Pipeline",
    "TRANSFORMS",
    "transform_from_dict",
    "fill_missing",
    "one_hot",
    "prepare_xy",
    "XYInfo",
]


# ------------------------------------------------------------------------------------------- prepare_xy
@dataclass(frozen=True)
class XYInfo:
    """What :func:`prepare_xy` produced: feature names, target, task and (classification) the class values.

    >>> XYInfo(["a"], "y", "regression", None, 3).n_features
    1
    """

    features: list[str]
    target: str
    task: Literal["classification", "regression"]
    classes: list[Any] | None
    n_samples: int

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict.

        >>> XYInfo(["a"], "y", "classification", ["no", "yes"], 2).to_dict()["classes"]
        ['no', 'yes']
        """
        return _encode(asdict(self))


def prepare_xy(
    df: pd.DataFrame,
    target: str,
    features: Sequence[str] | None = None,
    *,
    task: Literal["classification", "regression"] | None = None,
) -> tuple[np.ndarray, np.ndarray, XYInfo]:
    """Split a DataFrame into ``X`` float32 (N, F) and ``y``, refusing data that would train silently wrong.

    ``task=None`` infers it: text, bool or integer targets are classification (``y`` int64 codes 0..K-1 of the
    sorted classes), float targets regression (``y`` float32).

    >>> df = pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, 0.1], "label": ["no", "yes"]})
    >>> X, y, info = prepare_xy(df, "label")
    >>> X.dtype, y.tolist(), info.classes
    (dtype('float32'), [0, 1], ['no', 'yes'])
    >>> prepare_xy(df, "price")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: target column 'price' not found; columns are: a, b, label
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"prepare_xy takes a DataFrame; got {type(df).__name__}; wrap arrays in pandas.DataFrame")
    if task not in (None, "classification", "regression"):
        raise ConfigError(f"task must be 'classification', 'regression' or None (infer); got {task!r}")
    feats = [c for c in df.columns if c != target] if features is None else list(features)
    select_columns(df, feats, target)
    if target in feats:
        raise DataError(f"target column {target!r} is also listed as a feature; remove it from features")
    if not feats:
        raise DataError(f"no feature columns left besides target {target!r}; the DataFrame needs at least one more")
    if len(df) == 0:
        raise DataError("the DataFrame has 0 rows; pass at least one sample")
    text = [c for c in feats if not _is_numeric(df[c])]
    if text:
        example = _first_value(df[text[0]])
        raise DataError(
            f"feature column(s) {', '.join(map(repr, text))} are not numeric (e.g. {example!r}); encode them with "
            "OneHot or LabelEncode, or leave them out with features=[...]"
        )
    X = df[feats].to_numpy(dtype=np.float32)  # (N, F)
    bad = ~np.isfinite(X)
    if bad.any():
        cols = [feats[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise DataError(
            f"feature column(s) {', '.join(map(repr, cols))} contain {int(bad.sum())} NaN/inf value(s); use "
            "FillMissing or df.dropna() first"
        )
    y_col = df[target]
    n_missing = int(y_col.isna().sum())
    if n_missing:
        raise DataError(f"target column {target!r} has {n_missing} missing value(s); drop those rows first: "
                        f"df.dropna(subset=[{target!r}])")
    numeric = _is_numeric(y_col) and not pd.api.types.is_bool_dtype(y_col.dtype)
    if task is None:
        task = "regression" if numeric and pd.api.types.is_float_dtype(y_col.dtype) else "classification"
    if task == "regression":
        if not numeric:
            raise DataError(
                f"regression needs a numeric target; column {target!r} has dtype {y_col.dtype}; use "
                "task='classification'"
            )
        y = y_col.to_numpy(dtype=np.float32)
        classes = None
    else:
        classes = _sorted_categories(y_col.tolist())
        lookup = {v: i for i, v in enumerate(classes)}
        y = np.fromiter((lookup[v] for v in y_col.tolist()), dtype=np.int64, count=len(y_col))
        classes = _encode(classes)
    info = XYInfo(features=[str(c) for c in feats], target=target, task=task, classes=classes, n_samples=len(df))
    return X, y, info
