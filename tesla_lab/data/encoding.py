"""Categorical encoding: :class:`OneHot` (0/1 indicator columns) and :class:`LabelEncode` (integer codes), with
categories learned in fit in sorted order; :func:`one_hot` is the one-shot version.

>>> LabelEncode().fit_transform(np.array(["b", "a", "b"])).tolist()
[1, 0, 1]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from tesla_lab.data.transform import Column, Data, _as_input, _Columnwise, _encode, _is_numeric, _restore
from tesla_lab.errors import ConfigError, DataError

__all__ = ["OneHot", "LabelEncode", "one_hot"]


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


def one_hot(
    X: Data, columns: Sequence[Column] | None = None, *, handle_unknown: Literal["error", "ignore"] = "error"
) -> Data:
    """One-shot :class:`OneHot` fitted on ``X`` itself (for a train/test split, fit ``OneHot`` on the training part).

    >>> one_hot(np.array([1, 0, 1])).tolist()
    [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    """
    return OneHot(columns, handle_unknown=handle_unknown).fit_transform(X)
