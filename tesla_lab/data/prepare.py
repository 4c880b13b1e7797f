"""Fitted preprocessing transforms, a JSON-serializable :class:`Pipeline`, and :func:`prepare_xy`.

Transforms follow scikit-learn: ``__init__`` stores keyword options, ``fit(X_train)`` learns state into attributes
ending in ``_`` and returns ``self``, ``transform`` only applies it, so test data never leaks into the statistics.
They take DataFrames (column names kept) or NumPy arrays (columns by position) and return the same kind.

>>> import pandas as pd
>>> train, test = pd.DataFrame({"x": [0.0, 2.0]}), pd.DataFrame({"x": [4.0]})
>>> Standardize().fit(train).transform(test)["x"].tolist()  # train mean 1, train std 1
[3.0]
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from tesla_lab._registry import Registry
from tesla_lab.data.ingest import select_columns
from tesla_lab.errors import ConfigError, DataError, NotFittedError

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

logger = logging.getLogger(__name__)

Column = str | int
Data = Any  # pandas.DataFrame | pandas.Series | numpy.ndarray | torch.Tensor | nested lists


# ------------------------------------------------------------------------------------------- JSON state
def _encode(value: Any) -> Any:
    """Turn learned state into plain JSON values (arrays tagged so they come back as arrays)."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _encode(value.tolist()), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise DataError(
        f"cannot save a value of type {type(value).__name__} ({value!r}) in a transform's JSON state; "
        "convert that column to str or numbers before fitting"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.asarray(value["__ndarray__"], dtype=value["dtype"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------- table views
def _as_input(X: Data, who: str) -> pd.DataFrame | pd.Series | np.ndarray:
    if isinstance(X, (pd.DataFrame, pd.Series, np.ndarray)):
        return X
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    try:
        return np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{who} takes a DataFrame or a rectangular array; got {type(X).__name__} ({exc})") from exc


def _frame(X: Data, who: str) -> tuple[pd.DataFrame, str]:
    """A DataFrame view of ``X`` and its kind: 'frame', 'series', 'array1' (N,) or 'array2' (N, F)."""
    X = _as_input(X, who)
    if isinstance(X, pd.DataFrame):
        return X, "frame"
    if isinstance(X, pd.Series):
        return X.to_frame(), "series"
    if X.ndim == 1:
        return pd.DataFrame({0: X}), "array1"
    if X.ndim == 2:
        return pd.DataFrame(X), "array2"
    raise DataError(
        f"{who} works on tables: a DataFrame, (N,) or (N, features) array; got shape {X.shape}. "
        "For images use PixelScale or Normalize, or flatten with X.reshape(len(X), -1)"
    )


def _restore(df: pd.DataFrame, kind: str) -> Data:
    if kind == "frame":
        return df
    if kind == "series":
        return df.iloc[:, 0] if df.shape[1] == 1 else df
    values = df.to_numpy()
    if values.dtype == object:  # let pandas find a common dtype (ints stay ints, text stays object)
        values = df.infer_objects().to_numpy()
    return values[:, 0] if kind == "array1" and values.shape[1] == 1 else values


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)


def _first_value(s: pd.Series) -> Any:
    nonnull = s.dropna()
    return nonnull.iloc[0] if len(nonnull) else None


class Transform:
    """Base of the fitted transforms: parameter handling, fitted checks, JSON round trip.

    >>> Standardize(columns=["a"])
    Standardize(columns=['a'])
    """

    def get_params(self) -> dict[str, Any]:
        """The constructor options, as given.

        >>> MinMaxScale(feature_range=(-1, 1)).get_params()
        {'feature_range': (-1, 1), 'columns': None}
        """
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        defaults = {
            k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items() if k != "self"
        }
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults.get(k))
        return f"{type(self).__name__}({shown})"

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` has run.

        >>> Standardize().is_fitted
        False
        """
        return hasattr(self, "n_features_in_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(X_train) first")

    def fit(self, X: Data, y: Any = None) -> Transform:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def transform(self, X: Data) -> Data:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def fit_transform(self, X: Data, y: Any = None) -> Data:
        """``fit(X).transform(X)``.

        >>> MinMaxScale().fit_transform(np.array([[1.0], [3.0]])).ravel().tolist()
        [0.0, 1.0]
        """
        return self.fit(X, y).transform(X)

    def inverse_transform(self, X: Data) -> Data:
        """Undo :meth:`transform` (where the transform keeps enough state to do so).

        >>> Normalize().fit([[3.0, 4.0]]).inverse_transform([[0.6, 0.8]])
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: Normalize cannot be inverted (per-sample norms are not kept); invert the \
steps after it yourself or leave it out of the pipeline you invert
        """
        raise ConfigError(
            f"{type(self).__name__} cannot be inverted ({self._no_inverse}); invert the steps after it yourself "
            "or leave it out of the pipeline you invert"
        )

    _no_inverse = "it keeps no state to undo it"

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict of the options and learned state (saved next to a model; no pickle).

        >>> Standardize().fit(np.array([[1.0], [3.0]])).to_dict()["state"]["mean_"]
        [2.0]
        """
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        return {"type": type(self).__name__, "params": _encode(self.get_params()), "state": _encode(state)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transform:
        """Rebuild a transform saved with :meth:`to_dict`.

        >>> s = Standardize().fit(np.array([[1.0], [3.0]]))
        >>> Standardize.from_dict(s.to_dict()).transform(np.array([[3.0]])).tolist()
        [[1.0]]
        """
        return transform_from_dict(data)


def transform_from_dict(data: dict[str, Any]) -> Transform:
    """Rebuild any transform (or :class:`Pipeline`) from its :meth:`Transform.to_dict` form.

    >>> transform_from_dict({"type": "Whiten"})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown transform 'Whiten'; choose one of: fillmissing, labelencode, minmaxscale, \
normalize, onehot, pipeline, pixelscale, standardize
    """
    if not isinstance(data, dict) or "type" not in data:
        raise ConfigError(f"a saved transform is a dict with a 'type' key (from to_dict()); got {data!r:.80}")
    cls = TRANSFORMS.get(data["type"])()
    if cls is Pipeline:
        return Pipeline([transform_from_dict(step) for step in data.get("steps", [])])
    obj = cls(**{k: _decode(v) for k, v in data.get("params", {}).items()})
    for key, value in data.get("state", {}).items():
        setattr(obj, key, _decode(value))
    return obj


class _Columnwise(Transform):
    """Shared machinery: pick columns at fit, check them again at transform, map arrays by position."""

    columns: Sequence[Column] | None

    def _default_columns(self, df: pd.DataFrame, kind: str) -> list[Column]:
        return list(df.columns)

    def _fit_frame(self, X: Data) -> tuple[pd.DataFrame, list[Column]]:
        df, kind = _frame(X, type(self).__name__)
        if len(df) == 0:
            raise DataError(f"{type(self).__name__}.fit got 0 rows; fit on at least one sample")
        self.n_features_in_ = df.shape[1]
        self.feature_names_in_ = list(df.columns) if kind in ("frame", "series") else None
        if self.columns is None:
            cols = self._default_columns(df, kind)
        else:
            cols = [self.columns] if isinstance(self.columns, (str, int)) else list(self.columns)
            self._check_columns(df, cols)
        self.columns_ = cols
        return df, cols

    def _check_columns(self, df: pd.DataFrame, cols: Sequence[Column]) -> None:
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(
                f"{type(self).__name__}: column(s) {', '.join(map(repr, missing))} not found; columns are: "
                f"{', '.join(map(str, df.columns))}"
            )

    def _apply_frame(self, X: Data) -> tuple[pd.DataFrame, str, list[Column]]:
        """A frame to transform, its kind, and the labels in it of the fitted ``columns_``."""
        self._check_fitted()
        df, kind = _frame(X, type(self).__name__)
        df = df.copy()
        names = self.feature_names_in_
        is_array = kind in ("array1", "array2")
        if is_array == (names is None):  # array after array, frame after frame: columns by label
            self._check_columns(df, self.columns_)
            return df, kind, list(self.columns_)
        # an array meets a frame: columns by position, so the same number of columns is required
        if df.shape[1] != self.n_features_in_:
            raise DataError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} column(s) but got {df.shape[1]}; "
                "transform data with the same columns as the training data"
            )
        if is_array:  # name the array's columns as in the fitted frame
            df = df.set_axis(names, axis=1)
            return df, kind, list(self.columns_)
        return df, kind, [df.columns[c] for c in self.columns_]  # fitted on an array: columns_ are positions

    def _numeric(self, df: pd.DataFrame, cols: Sequence[Column]) -> np.ndarray:
        for c in cols:
            if not _is_numeric(df[c]):
                raise DataError(
                    f"{type(self).__name__} needs numeric columns; column {c!r} has dtype {df[c].dtype} "
                    f"(e.g. {_first_value(df[c])!r}); encode it first with OneHot or LabelEncode, or leave it out "
                    "with columns=[...]"
                )
        return df[list(cols)].to_numpy(dtype=np.float64)  # (N, k)

    def _write(self, df: pd.DataFrame, cols: Sequence[Column], values: np.ndarray) -> pd.DataFrame:
        for j, c in enumerate(cols):
            keep32 = df[c].dtype == np.float32  # float32 stays float32 (network inputs); the rest becomes float64
            df[c] = values[:, j].astype(np.float32 if keep32 else np.float64)
        return df


class _Scaler(_Columnwise):
    """Column-wise affine scaling ``(x - offset) / scale``; subclasses learn the two from the training data."""

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def transform(self, X: Data) -> Data:
        df, kind, cols = self._apply_frame(X)
        offset, scale = self._affine()  # (k,), (k,)
        values = (self._numeric(df, cols) - offset) / scale
        return _restore(self._write(df, cols, values), kind)

    def inverse_transform(self, X: Data) -> Data:
        df, kind, cols = self._apply_frame(X)
        offset, scale = self._affine()
        values = self._numeric(df, cols) * scale + offset
        return _restore(self._write(df, cols, values), kind)

    def _stats(self, X: Data) -> np.ndarray:
        df, cols = self._fit_frame(X)
        values = self._numeric(df, cols)
        empty = [c for j, c in enumerate(cols) if np.isnan(values[:, j]).all()]
        if empty:
            raise DataError(
                f"{type(self).__name__}: column(s) {', '.join(map(repr, empty))} hold no values (all NaN); "
                "drop them or FillMissing(strategy='constant', fill_value=0) first"
            )
        return values


class Standardize(_Scaler):
    """Subtract the training mean and divide by the training standard deviation, per column.

    Constant columns get scale 1 (they become 0), NaNs are ignored in fit and stay NaN.

    >>> s = Standardize().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.mean_, s.scale_
    ([2.0, 5.0], [1.0, 1.0])
    >>> s.transform(np.array([[3.0, 6.0]])).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, *, columns: Sequence[Column] | None = None) -> None:
        self.columns = columns

    def fit(self, X: Data, y: Any = None) -> Standardize:
        values = self._stats(X)
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
        self.mean_ = mean.tolist()
        self.scale_ = np.where(std > 0, std, 1.0).tolist()
        return self

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.mean_), np.asarray(self.scale_)


class MinMaxScale(_Scaler):
    """Map each column's training range onto ``feature_range`` (constant columns go to its lower end).

    >>> MinMaxScale(feature_range=(-1, 1)).fit_transform(np.array([[0.0], [5.0], [10.0]])).ravel().tolist()
    [-1.0, 0.0, 1.0]
    >>> MinMaxScale(feature_range=(1, 0)).fit([[1.0]])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: feature_range must be (low, high) with low < high; got (1, 0)
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0), *, columns: Sequence[Column] | None = None):
        self.feature_range = feature_range
        self.columns = columns

    def fit(self, X: Data, y: Any = None) -> MinMaxScale:
        fr = self.feature_range
        if not (isinstance(fr, (tuple, list)) and len(fr) == 2 and float(fr[0]) < float(fr[1])):
            raise ConfigError(f"feature_range must be (low, high) with low < high; got {fr!r}")
        values = self._stats(X)
        self.data_min_ = np.nanmin(values, axis=0).tolist()
        self.data_max_ = np.nanmax(values, axis=0).tolist()
        return self

    def _affine(self) -> tuple[np.ndarray, np.ndarray]:
        # x' = (x - lo) / span * (b - a) + a  ==  (x - offset) / scale
        lo, hi = np.asarray(self.data_min_), np.asarray(self.data_max_)
        a, b = (float(v) for v in self.feature_range)
        scale = np.where(hi > lo, hi - lo, 1.0) / (b - a)
        return lo - a * scale, scale


class FillMissing(_Columnwise):
    """Replace NaN/None with a per-column statistic learned on the training data.

    ``strategy``: ``'mean'`` / ``'median'`` (numeric columns; the default picks every numeric column),
    ``'most_frequent'`` or ``'constant'`` (``fill_value``; any column; the default picks every column).

    >>> f = FillMissing(strategy="median").fit(pd.DataFrame({"a": [1.0, None, 3.0, 10.0]}))
    >>> f.statistics_, f.transform(pd.DataFrame({"a": [None]}))["a"].tolist()
    ([3.0], [3.0])
    """

    _no_inverse = "the filled positions are not remembered"
    _STRATEGIES = ("mean", "median", "most_frequent", "constant")

    def __init__(
        self,
        strategy: Literal["mean", "median", "most_frequent", "constant"] = "mean",
        *,
        fill_value: Any = None,
        columns: Sequence[Column] | None = None,
    ) -> None:
        self.strategy = strategy
        self.fill_value = fill_value
        self.columns = columns

    def _default_columns(self, df: pd.DataFrame, kind: str) -> list[Column]:
        if self.strategy in ("mean", "median"):
            return [c for c in df.columns if _is_numeric(df[c])]
        return list(df.columns)

    def fit(self, X: Data, y: Any = None) -> FillMissing:
        if self.strategy not in self._STRATEGIES:
            raise ConfigError(f"unknown FillMissing strategy {self.strategy!r}; choose one of: "
                              f"{', '.join(self._STRATEGIES)}")
        if self.strategy == "constant" and self.fill_value is None:
            raise ConfigError("FillMissing(strategy='constant') needs fill_value=..., e.g. 0 or 'unknown'")
        df, cols = self._fit_frame(X)
        stats: list[Any] = []
        for c in cols:
            col = df[c]
            if self.strategy == "constant":
                stats.append(self.fill_value)
                continue
            if self.strategy in ("mean", "median"):
                self._numeric(df, [c])
            if col.notna().sum() == 0:
                raise DataError(
                    f"FillMissing: column {c!r} is entirely missing, so it has no {self.strategy}; drop it or use "
                    "strategy='constant'"
                )
            if self.strategy == "mean":
                stats.append(float(col.mean()))
            elif self.strategy == "median":
                stats.append(float(col.median()))
            else:
                counts = col.value_counts(sort=False)
                stats.append(_encode(counts.index[int(np.argmax(counts.to_numpy()))]))  # first of the most common
        self.statistics_ = stats
        return self

    def transform(self, X: Data) -> Data:
        df, kind, cols = self._apply_frame(X)
        for c, value in zip(cols, self.statistics_):
            if df[c].isna().any():
                df[c] = df[c].fillna(value)
        return _restore(df, kind)


def _sorted_categories(values: Iterable[Any]) -> list[Any]:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)
    except TypeError:  # mixed types (1 and 'a'): order by type name, then value
        return sorted(unique, key=lambda v: (type(v).__name__, str(v)))


class _Categorical(_Columnwise):
    """Learn each column's categories (sorted) in fit; refuse missing values."""

    handle_unknown: str = "error"

    def _default_columns(self, df: pd.DataFrame, kind: str) -> list[Column]:
        if kind in ("array1", "array2"):  # an array: every column is categorical
            return list(df.columns)
        return [c for c in df.columns if not _is_numeric(df[c]) or pd.api.types.is_bool_dtype(df[c].dtype)]

    def _check_missing(self, df: pd.DataFrame, c: Column) -> None:
        n = int(df[c].isna().sum())
        if n:
            raise DataError(
                f"{type(self).__name__}: column {c!r} has {n} missing value(s); fill them first, e.g. "
                "FillMissing(strategy='most_frequent') or FillMissing(strategy='constant', fill_value='missing')"
            )

    def fit(self, X: Data, y: Any = None) -> _Categorical:
        df, cols = self._fit_frame(X)
        cats = []
        for c in cols:
            self._check_missing(df, c)
            cats.append(_encode(_sorted_categories(df[c].tolist())))
        self.categories_ = cats
        return self

    def _codes(self, df: pd.DataFrame, c: Column, categories: list[Any]) -> np.ndarray:
        """(N,) int64 category index per row; -1 for unseen categories (only with handle_unknown='ignore')."""
        self._check_missing(df, c)
        lookup = {v: i for i, v in enumerate(categories)}
        codes = np.fromiter((lookup.get(_encode(v), -1) for v in df[c].tolist()), dtype=np.int64, count=len(df))
        if (codes < 0).any() and self.handle_unknown != "ignore":
            unseen = _sorted_categories(v for v, k in zip(df[c].tolist(), codes) if k < 0)
            extra = (
                ", or OneHot(handle_unknown='ignore') to encode them as all zeros" if isinstance(self, OneHot) else ""
            )
            raise DataError(
                f"{type(self).__name__}: column {c!r} has value(s) not seen in fit: "
                f"{', '.join(map(repr, unseen[:5]))}{' ...' if len(unseen) > 5 else ''}; fit on data that contains "
                f"every category{extra}"
            )
        return codes


class OneHot(_Categorical):
    """Replace categorical columns by 0/1 indicator columns ``<column>_<category>`` (float32).

    ``columns=None`` encodes every non-numeric (or bool) column of a DataFrame and every column of an array; a 1-D
    label array becomes an (N, classes) matrix. Categories are learned in fit; unseen ones raise unless
    ``handle_unknown='ignore'`` (then the row is all zeros).

    >>> enc = OneHot().fit(pd.DataFrame({"city": ["Oslo", "Rome"], "n": [1, 2]}))
    >>> enc.transform(pd.DataFrame({"city": ["Rome"], "n": [5]})).columns.tolist()
    ['city_Oslo', 'city_Rome', 'n']
    >>> OneHot().fit_transform(np.array([2, 0])).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """

    def __init__(
        self, columns: Sequence[Column] | None = None, *, handle_unknown: Literal["error", "ignore"] = "error"
    ) -> None:
        self.columns = columns
        self.handle_unknown = handle_unknown

    def fit(self, X: Data, y: Any = None) -> OneHot:
        if self.handle_unknown not in ("error", "ignore"):
            raise ConfigError(f"handle_unknown must be 'error' or 'ignore'; got {self.handle_unknown!r}")
        super().fit(X)
        return self

    def transform(self, X: Data) -> Data:
        df, kind, cols = self._apply_frame(X)
        pieces: dict[Column, pd.DataFrame] = {}
        for c, cats in zip(cols, self.categories_):
            codes = self._codes(df, c, cats)
            onehot = np.zeros((len(df), len(cats)), dtype=np.float32)  # (N, K)
            known = codes >= 0
            onehot[np.flatnonzero(known), codes[known]] = 1.0
            pieces[c] = pd.DataFrame(onehot, columns=[f"{c}_{v}" for v in cats], index=df.index)
        parts = [pieces[c] if c in pieces else df[[c]] for c in df.columns]
        out = pd.concat(parts, axis=1) if parts else df
        if kind in ("array1", "array2"):
            return _restore(out.set_axis(range(out.shape[1]), axis=1), "array2")
        return out

    def inverse_transform(self, X: Data) -> Data:
        """Turn indicator columns back into one categorical column each (argmax; all-zero rows become None).

        >>> OneHot().fit(np.array(["a", "b"])).inverse_transform(np.array([[0.0, 1.0]])).tolist()
        ['b']
        """
        self._check_fitted()
        X = _as_input(X, "OneHot.inverse_transform")
        fitted = self.feature_names_in_ if self.feature_names_in_ is not None else list(range(self.n_features_in_))
        encoded = dict(zip(self.columns_, self.categories_))
        names = [n for c in fitted for n in ([f"{c}_{v}" for v in encoded[c]] if c in encoded else [c])]
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != len(names):
                raise DataError(
                    f"OneHot.inverse_transform takes the transform's output, {len(names)} column(s); got shape "
                    f"{X.shape}"
                )
            df, kind = pd.DataFrame(X, columns=names), ("array1" if len(fitted) == 1 else "array2")
        else:
            df, kind = (X if isinstance(X, pd.DataFrame) else X.to_frame()), "frame"
        for c, cats in encoded.items():
            block_names = [f"{c}_{v}" for v in cats]
            self._check_columns(df, block_names)
            block = df[block_names].to_numpy()  # (N, K)
            values = [cats[int(i)] if row.max() > 0 else None for i, row in zip(block.argmax(axis=1), block)]
            position = df.columns.get_loc(block_names[0])
            df = df.drop(columns=block_names)
            df.insert(position, c, pd.Series(values, index=df.index, dtype=object))
        return _restore(df, kind)


class LabelEncode(_Categorical):
    """Replace categories by integer codes 0..K-1 (sorted order, learned in fit); inverse maps codes back.

    ``columns=None`` encodes every non-numeric (or bool) column of a DataFrame, or a 1-D label array.

    >>> enc = LabelEncode().fit(np.array(["cat", "dog", "cat"]))
    >>> enc.categories_, enc.transform(np.array(["dog"])).tolist()
    ([['cat', 'dog']], [1])
    >>> enc.transform(np.array(["cow"]))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: LabelEncode: column 0 has value(s) not seen in fit: 'cow'; fit on data that \
contains every category
    """

    def __init__(self, columns: Sequence[Column] | None = None) -> None:
        self.columns = columns

    def fit(self, X: Data, y: Any = None) -> LabelEncode:
        super().fit(X)
        return self

    def transform(self, X: Data) -> Data:
        df, kind, cols = self._apply_frame(X)
        for c, cats in zip(cols, self.categories_):
            df[c] = self._codes(df, c, cats)
        return _restore(df, kind)

    def inverse_transform(self, X: Data) -> Data:
        df, kind, cols = self._apply_frame(X)
        for c, cats in zip(cols, self.categories_):
            codes = df[c].to_numpy()
            if codes.dtype.kind not in "iuf" or (codes.dtype.kind == "f" and not np.all(np.mod(codes, 1) == 0)):
                raise DataError(
                    f"LabelEncode.inverse_transform: column {c!r} must hold integer codes; got dtype {codes.dtype}"
                )
            codes = codes.astype(np.int64)
            bad = (codes < 0) | (codes >= len(cats))
            if bad.any():
                raise DataError(
                    f"LabelEncode.inverse_transform: column {c!r} has code(s) {sorted(set(codes[bad].tolist()))[:5]} "
                    f"outside 0..{len(cats) - 1}"
                )
            df[c] = np.asarray(cats, dtype=object)[codes] if kind in ("frame", "series") else np.asarray(cats)[codes]
        return _restore(df, kind)


class _SampleWise(Transform):
    """Transforms on whole samples of any shape (N, ...): tables, images, sequences."""

    def _array(self, X: Data) -> tuple[np.ndarray, Any]:
        if isinstance(X, pd.DataFrame):
            values = X.to_numpy()
            if values.dtype == object:
                raise DataError(f"{type(self).__name__} needs numeric data; encode text columns first")
            return values.astype(np.float64), X
        arr = np.asarray(_as_input(X, type(self).__name__))
        if arr.dtype.kind not in "biuf":
            raise DataError(f"{type(self).__name__} needs numeric data; got dtype {arr.dtype}")
        if arr.ndim < 2:
            raise DataError(f"{type(self).__name__} takes samples as rows (N, ...); got shape {arr.shape}")
        return arr, None

    @staticmethod
    def _like(values: np.ndarray, frame: pd.DataFrame | None, dtype: np.dtype) -> Data:
        out = values.astype(np.float32 if dtype == np.float32 else np.float64)
        return out if frame is None else pd.DataFrame(out, columns=frame.columns, index=frame.index)

    def _fit_shape(self, X: Data) -> np.ndarray:
        arr, _ = self._array(X)
        if len(arr) == 0:
            raise DataError(f"{type(self).__name__}.fit got 0 samples; fit on at least one")
        self.n_features_in_ = int(np.prod(arr.shape[1:]))
        return arr

    def _check_shape(self, arr: np.ndarray) -> None:
        if int(np.prod(arr.shape[1:])) != self.n_features_in_:
            raise DataError(
                f"{type(self).__name__} was fitted on samples of {self.n_features_in_} values; got shape "
                f"{arr.shape}"
            )


class Normalize(_SampleWise):
    """Scale each sample (row, or whole image) to unit norm: ``norm='l2'`` (default), ``'l1'`` or ``'max'``.

    Stateless apart from the sample size; all-zero samples stay zero. Not invertible.

    >>> Normalize().fit_transform(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """

    _no_inverse = "per-sample norms are not kept"

    def __init__(self, norm: Literal["l2", "l1", "max"] = "l2") -> None:
        self.norm = norm

    def fit(self, X: Data, y: Any = None) -> Normalize:
        if self.norm not in ("l2", "l1", "max"):
            raise ConfigError(f"unknown norm {self.norm!r}; choose one of: l2, l1, max")
        self._fit_shape(X)
        return self

    def transform(self, X: Data) -> Data:
        self._check_fitted()
        arr, frame = self._array(X)
        self._check_shape(arr)
        flat = arr.reshape(len(arr), -1).astype(np.float64)  # (N, F)
        if self.norm == "l2":
            norms = np.sqrt((flat**2).sum(axis=1))
        elif self.norm == "l1":
            norms = np.abs(flat).sum(axis=1)
        else:
            norms = np.abs(flat).max(axis=1) if flat.shape[1] else np.zeros(len(flat))
        norms = np.where(norms > 0, norms, 1.0)[:, None]  # (N, 1)
        return self._like((flat / norms).reshape(arr.shape), frame, arr.dtype)


class PixelScale(_SampleWise):
    """Scale image pixels into [0, 1]: divide by ``max_value`` (e.g. 255), or by the training maximum if None.

    One number for all pixels (per-pixel min-max would blow up the always-black border of MNIST). Keeps the
    input's shape; output is float32.

    >>> PixelScale(max_value=255).fit_transform(np.array([[0, 51, 255]], dtype=np.uint8)).tolist()
    [[0.0, 0.2, 1.0]]
    """

    def __init__(self, max_value: float | None = None) -> None:
        self.max_value = max_value

    def fit(self, X: Data, y: Any = None) -> PixelScale:
        arr = self._fit_shape(X)
        peak = float(np.nanmax(arr)) if self.max_value is None else float(self.max_value)
        if not peak > 0:
            raise DataError(f"PixelScale needs a positive maximum pixel value; got {peak}; pass max_value=255")
        self.max_value_ = peak
        return self

    def transform(self, X: Data) -> Data:
        self._check_fitted()
        arr, frame = self._array(X)
        self._check_shape(arr)
        return self._like(arr / self.max_value_, frame, np.dtype(np.float32))

    def inverse_transform(self, X: Data) -> Data:
        self._check_fitted()
        arr, frame = self._array(X)
        return self._like(arr * self.max_value_, frame, np.dtype(np.float32))


class Pipeline(Transform):
    """Transforms applied in order; fit fits each on the output of the ones before. Saves to a JSON-able dict.

    >>> import json
    >>> pipe = Pipeline([FillMissing(), Standardize()]).fit(pd.DataFrame({"a": [1.0, None, 3.0]}))
    >>> again = Pipeline.from_dict(json.loads(json.dumps(pipe.to_dict())))
    >>> again.transform(pd.DataFrame({"a": [3.0]}))["a"].round(4).tolist()
    [1.2247]
    """

    def __init__(self, steps: Sequence[Transform | tuple[str, Transform]]) -> None:
        self.steps = steps

    def _steps(self) -> list[Transform]:
        out = []
        for step in self.steps:
            t = step[1] if isinstance(step, tuple) else step
            if not isinstance(t, Transform):
                raise ConfigError(
                    f"Pipeline steps must be transforms (Standardize(), OneHot(), ...); got {type(t).__name__} {t!r}"
                )
            out.append(t)
        return out

    @property
    def is_fitted(self) -> bool:
        return all(t.is_fitted for t in self._steps())

    def _check_fitted(self) -> None:
        waiting = [type(t).__name__ for t in self._steps() if not t.is_fitted]
        if waiting:
            raise NotFittedError(
                f"Pipeline is not fitted yet (step(s) {', '.join(waiting)}); call fit(X_train) first"
            )

    def fit(self, X: Data, y: Any = None) -> Pipeline:
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Data, y: Any = None) -> Data:
        for t in self._steps():
            X = t.fit_transform(X)
        return X

    def transform(self, X: Data) -> Data:
        self._check_fitted()
        for t in self._steps():
            X = t.transform(X)
        return X

    def inverse_transform(self, X: Data) -> Data:
        self._check_fitted()
        for t in reversed(self._steps()):
            if not isinstance(t, FillMissing):  # filling is not undone; the values stay filled
                X = t.inverse_transform(X)
        return X

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Transform:
        return self._steps()[i]

    def __repr__(self) -> str:
        return f"Pipeline({self._steps()!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Pipeline", "steps": [t.to_dict() for t in self._steps()]}


def fill_missing(
    X: Data,
    strategy: Literal["mean", "median", "most_frequent", "constant"] = "mean",
    *,
    fill_value: Any = None,
    columns: Sequence[Column] | None = None,
) -> Data:
    """One-shot :class:`FillMissing` fitted on ``X`` itself (for exploring data; for a train/test split fit
    ``FillMissing`` on the training part and transform both).

    >>> fill_missing(pd.DataFrame({"a": [1.0, None, 3.0]}))["a"].tolist()
    [1.0, 2.0, 3.0]
    """
    return FillMissing(strategy, fill_value=fill_value, columns=columns).fit_transform(X)


def one_hot(
    X: Data, columns: Sequence[Column] | None = None, *, handle_unknown: Literal["error", "ignore"] = "error"
) -> Data:
    """One-shot :class:`OneHot` fitted on ``X`` itself (for a train/test split, fit ``OneHot`` on the training part).

    >>> one_hot(np.array([1, 0, 1])).tolist()
    [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    """
    return OneHot(columns, handle_unknown=handle_unknown).fit_transform(X)


TRANSFORMS: Registry[type[Transform]] = Registry("transform")
for _cls in (Standardize, MinMaxScale, Normalize, PixelScale, FillMissing, OneHot, LabelEncode, Pipeline):
    TRANSFORMS.register(_cls.__name__, lambda _c=_cls: _c)


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
