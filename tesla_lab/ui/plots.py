"""Plotly figures of the workbench: data exploration (histogram, scatter matrix, correlation, class balance, image
grid), training curves and served-model drift. Pure functions of a DataFrame; the views only display what they return.

>>> import pandas as pd
>>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 1.0, 4.0, 3.0], "y": [0, 1, 0, 1]})
>>> fig = correlation_heatmap(df)
>>> fig.data[0].type, list(fig.data[0].x)
('heatmap', ['a', 'b', 'y'])
>>> histogram(df, "c")
Traceback (most recent call last):
...
tesla_lab.errors.DataError: column 'c' not found; columns are: a, b, y
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.errors import DataError
from tesla_lab.ui._deps import require

__all__ = ["histogram", "scatter_matrix", "correlation_heatmap", "class_balance", "image_grid", "curves", "drift_bars",
           "numeric_columns"]

_MAX_POINTS = 2000  # rows drawn in a scatter matrix (a random sample beyond that keeps the browser fast)
_TEMPLATE = "plotly_white"


def _px() -> Any:
    return require("plotly.express")


def _column(df: pd.DataFrame, column: str | None) -> str:
    if column is None or column not in df.columns:
        raise DataError(f"column {column!r} not found; columns are: {', '.join(map(str, df.columns))}")
    return column


def numeric_columns(df: pd.DataFrame) -> list[str]:
    """The numeric (not bool) columns.

    >>> numeric_columns(pd.DataFrame({"a": [1.0], "b": ["x"], "c": [True]}))
    ['a']
    """
    return [str(c) for c in df.columns
            if pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c].dtype)]


def _layout(fig: Any, title: str, height: int = 420) -> Any:
    fig.update_layout(title=title, template=_TEMPLATE, height=height, margin={"l": 40, "r": 20, "t": 50, "b": 40})
    return fig


def histogram(df: pd.DataFrame, column: str, color: str | None = None, bins: int = 40) -> Any:
    """Distribution of ``column`` (stacked by ``color``, e.g. the class, when given)."""
    column = _column(df, column)
    if color is not None:
        _column(df, color)
        df = df.assign(**{color: df[color].astype(str)})
    fig = _px().histogram(df, x=column, color=color, nbins=bins, barmode="stack")
    return _layout(fig, f"Distribution of {column}")


def scatter_matrix(df: pd.DataFrame, columns: Sequence[str] | None = None, color: str | None = None,
                   seed: int = 0) -> Any:
    """Pairwise scatter plots of ``columns`` (default: the first 4 numeric ones), coloured by ``color``."""
    columns = list(columns) if columns else [c for c in numeric_columns(df) if c != color][:4]
    if not columns:
        raise DataError("a scatter matrix needs numeric columns; this table has none")
    if len(columns) > 8:
        raise DataError(f"a scatter matrix of {len(columns)} columns is unreadable; pick at most 8")
    for c in columns:
        _column(df, c)
    if len(df) > _MAX_POINTS:
        df = df.sample(_MAX_POINTS, random_state=seed)
    if color is not None:
        _column(df, color)
        df = df.assign(**{color: df[color].astype(str)})
    fig = _px().scatter_matrix(df, dimensions=columns, color=color, opacity=0.6)
    fig.update_traces(diagonal_visible=False, marker={"size": 4})
    return _layout(fig, f"Scatter matrix ({len(df)} rows)", height=120 + 130 * len(columns))


def correlation_heatmap(df: pd.DataFrame, columns: Sequence[str] | None = None, max_columns: int = 40) -> Any:
    """Pearson correlation of the numeric columns (the first ``max_columns``) as a heat map."""
    columns = list(columns) if columns else numeric_columns(df)[:max_columns]
    if len(columns) < 2:
        raise DataError("a correlation heat map needs at least two numeric columns")
    corr = df[columns].corr().fillna(0.0)  # constant columns (all-zero pixels) have no correlation: show 0
    fig = _px().imshow(corr, x=columns, y=columns, zmin=-1, zmax=1, color_continuous_scale="RdBu_r",
                       aspect="auto")
    return _layout(fig, "Correlation", height=max(420, 14 * len(columns) + 120))


def class_balance(df: pd.DataFrame, target: str) -> Any:
    """Rows per class of ``target``."""
    target = _column(df, target)
    counts = df[target].astype(str).value_counts(dropna=False).sort_index()
    frame = pd.DataFrame({target: counts.index, "rows": counts.to_numpy()})
    fig = _px().bar(frame, x=target, y="rows", text="rows")
    fig.update_xaxes(type="category")
    return _layout(fig, f"Class balance of {target} ({len(counts)} classes)")


def image_grid(df: pd.DataFrame, image_shape: Sequence[int], target: str | None = None, n: int = 24,
               columns: int = 8) -> Any:
    """The first ``n`` rows drawn as ``image_shape`` (H, W) grey images, titled with their ``target``."""
    shape = tuple(int(d) for d in image_shape)
    pixels = [c for c in df.columns if c != target]
    if len(shape) != 2 or math.prod(shape) != len(pixels):
        raise DataError(f"rows of {len(pixels)} pixel columns cannot be drawn as {shape} images; the image shape "
                        "must be (height, width) with height * width = the number of feature columns")
    n = min(n, len(df))
    images = df[pixels].head(n).to_numpy(dtype=np.float32).reshape(n, *shape)  # (n, H, W)
    fig = _px().imshow(images, facet_col=0, facet_col_wrap=columns, binary_string=False,
                       color_continuous_scale="gray_r", facet_col_spacing=0.01, facet_row_spacing=0.06)
    labels = df[target].head(n).astype(str).tolist() if target is not None and target in df.columns else None
    for annotation in fig.layout.annotations:  # "facet_col=3" -> the row's label
        index = int(annotation.text.split("=")[1])
        annotation.text = labels[index] if labels else str(index)
    fig.update_xaxes(showticklabels=False).update_yaxes(showticklabels=False)
    fig.update_layout(coloraxis_showscale=False)
    rows = math.ceil(n / columns)
    return _layout(fig, f"First {n} images" + (f" (title: {target})" if labels else ""), height=110 * rows + 80)


def curves(history: pd.DataFrame, metrics: Sequence[str] | None = None, title: str = "Training curves") -> Any:
    """Lines of per-epoch metrics. ``history``: a long frame with ``step, key, value`` (and optionally ``run``,
    one line per run and key), e.g. :meth:`Run.metrics`."""
    frame = history
    if metrics is not None:
        frame = frame[frame["key"].isin(list(metrics))]
    frame = frame.rename(columns={"step": "epoch", "key": "metric"})
    color = "run" if "run" in frame.columns else "metric"
    dash = "metric" if color == "run" and frame["metric"].nunique() > 1 else None
    fig = _px().line(frame, x="epoch", y="value", color=color, line_dash=dash, markers=True)
    fig.update_xaxes(dtick=1 if frame["epoch"].nunique() <= 20 else None)
    return _layout(fig, title, height=380)


_DRIFT_COLORS = {"ok": "#2e7d32", "warn": "#f9a825", "alert": "#c62828", "n/a": "#9e9e9e"}


def drift_bars(drift: pd.DataFrame, title: str = "Input drift (PSI per feature)") -> Any:
    """Bars of the PSI of each feature against the training data, colored by status (ok / warn / alert / n/a).
    ``drift``: a frame with ``feature, psi, status`` (what ``GET /metrics`` of a model server reports).

    >>> fig = drift_bars(pd.DataFrame({"feature": ["a", "b"], "psi": [0.02, 0.4], "status": ["ok", "alert"]}))
    >>> [(t.name, list(t.x)) for t in fig.data]
    [('ok', ['a']), ('alert', ['b'])]
    """
    frame = drift.copy()
    frame["psi"] = pd.to_numeric(frame["psi"], errors="coerce").fillna(0.0)  # n/a (too few rows) drawn at 0
    fig = _px().bar(frame, x="feature", y="psi", color="status", color_discrete_map=_DRIFT_COLORS,
                    category_orders={"status": list(_DRIFT_COLORS)})
    fig.update_yaxes(title="PSI", rangemode="tozero")
    return _layout(fig, title, height=360)
