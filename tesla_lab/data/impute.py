"""Filling missing values: :class:`FillMissing` learns a per-column statistic (mean, median, most frequent or a
constant) on the training data; :func:`fill_missing` is the one-shot version for exploring data.

>>> import pandas as pd
>>> FillMissing().fit(pd.DataFrame({"a": [1.0, 3.0]})).transform(pd.DataFrame({"a": [None, 5.0]}))["a"].tolist()
[2.0, 5.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from tesla_lab.data.transform import Column, Data, _Columnwise, _encode, _is_numeric, _restore
from tesla_lab.errors import ConfigError, DataError

__all__ = ["FillMissing", "fill_missing"]


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
