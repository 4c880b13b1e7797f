"""Scaling transforms: per column (:class:`Standardize`, :class:`MinMaxScale`, learned on the training data) and
per sample (:class:`Normalize` to unit norm, :class:`PixelScale` for image pixels into [0, 1]).

>>> import pandas as pd
>>> train, test = pd.DataFrame({"x": [0.0, 2.0]}), pd.DataFrame({"x": [4.0]})
>>> Standardize().fit(train).transform(test)["x"].tolist()  # train mean 1, train std 1
[3.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from tesla_lab.data.transform import Column, Data, Transform, _as_input, _Columnwise, _restore
from tesla_lab.errors import ConfigError, DataError

__all__ = ["Standardize", "MinMaxScale", "Normalize", "PixelScale"]


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
