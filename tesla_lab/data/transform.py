"""The base of the fitted transforms: :class:`Transform` (options, fitted checks, inverse, JSON round trip) and the
column machinery the column-wise transforms share (pick columns at fit, check them at transform, map arrays by
position).

Transforms follow scikit-learn: ``__init__`` stores keyword options, ``fit(X_train)`` learns state into attributes
ending in ``_`` and returns ``self``, ``transform`` only applies it, so test data never leaks into the statistics.
They take DataFrames (column names kept) or NumPy arrays (columns by position) and return the same kind. The
transforms themselves live in :mod:`~tesla_lab.data.scalers`, :mod:`~tesla_lab.data.impute` and
:mod:`~tesla_lab.data.encoding`; :mod:`~tesla_lab.data.pipeline` chains them and rebuilds them from JSON.

>>> from tesla_lab.data import Standardize
>>> Standardize().fit([[0.0], [2.0]]).to_dict()["state"]
{'n_features_in_': 1, 'feature_names_in_': None, 'columns_': [0], 'mean_': [1.0], 'scale_': [1.0]}
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from tesla_lab.errors import ConfigError, DataError, NotFittedError

__all__ = ["Transform"]

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

    >>> from tesla_lab.data import Standardize
    >>> Standardize(columns=["a"])
    Standardize(columns=['a'])
    """

    def get_params(self) -> dict[str, Any]:
        """The constructor options, as given.

        >>> from tesla_lab.data import MinMaxScale
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

        >>> from tesla_lab.data import Standardize
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

        >>> from tesla_lab.data import MinMaxScale
        >>> MinMaxScale().fit_transform(np.array([[1.0], [3.0]])).ravel().tolist()
        [0.0, 1.0]
        """
        return self.fit(X, y).transform(X)

    def inverse_transform(self, X: Data) -> Data:
        """Undo :meth:`transform` (where the transform keeps enough state to do so).

        >>> from tesla_lab.data import Normalize
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

        >>> from tesla_lab.data import Standardize
        >>> Standardize().fit(np.array([[1.0], [3.0]])).to_dict()["state"]["mean_"]
        [2.0]
        """
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        return {"type": type(self).__name__, "params": _encode(self.get_params()), "state": _encode(state)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transform:
        """Rebuild a transform saved with :meth:`to_dict`.

        >>> from tesla_lab.data import Standardize
        >>> s = Standardize().fit(np.array([[1.0], [3.0]]))
        >>> Standardize.from_dict(s.to_dict()).transform(np.array([[3.0]])).tolist()
        [[1.0]]
        """
        from tesla_lab.data.pipeline import transform_from_dict  # the registry knows every transform class

        return transform_from_dict(data)


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
