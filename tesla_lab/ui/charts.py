"""Plotly figures of runs: one chart per metric (train and validation together, TensorBoard-like smoothing and log
scale), accuracy against parameter count, parallel coordinates of an AutoML study, the confusion matrix and the
predicted-vs-true scatter of a test report. Pure functions; the views only display what they return.

>>> import pandas as pd
>>> history = pd.DataFrame({"key": ["loss", "loss", "val_loss", "val_loss", "accuracy", "accuracy"],
...                         "step": [0, 1, 0, 1, 0, 1], "value": [1.0, 0.5, 1.2, 0.7, 0.6, 0.8]})
>>> fig = metric_charts(history)
>>> [a.text for a in fig.layout.annotations], [(t.name, t.yaxis) for t in fig.data]
(['loss', 'accuracy'], [('train', 'y'), ('validation', 'y'), ('train', 'y2')])
>>> smooth([1.0, 0.0, 0.0], 0.5).round(3).tolist()
[1.0, 0.333, 0.143]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.errors import DataError
from tesla_lab.ui._deps import require

__all__ = ["smooth", "metric_groups", "metric_charts", "params_scatter", "parallel_coordinates",
           "confusion_matrix_figure", "predicted_vs_true", "SYSTEM_METRICS"]

_TEMPLATE = "plotly_white"
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22"]
#: the per-epoch system metrics StoreCallback records (charted on their own, not with the training curves)
SYSTEM_METRICS = ("sys_cpu_percent", "sys_rss_mb", "sys_gpu_mem_mb")
_LAST = ("lr", "epoch_time", "samples_per_sec", "fit_time")
_SYSTEM_TITLES = {"sys_cpu_percent": "CPU % (100 = one core)", "sys_rss_mb": "memory (RSS, MiB)",
                  "sys_gpu_mem_mb": "GPU memory (peak, MiB)"}


def _go() -> Any:
    return require("plotly.graph_objects")


def smooth(values: Sequence[float], weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with ``weight`` in [0, 1) (0 = raw), debiased so the
    first points are not pulled towards 0. NaNs are skipped (they stay NaN)."""
    if not 0.0 <= weight < 1.0:
        raise DataError(f"smoothing must be in [0, 1) (0 = none, 0.9 = strong); got {weight!r}")
    data = np.asarray(values, dtype=np.float64)
    out = np.full_like(data, np.nan)
    last, n = 0.0, 0
    for i, v in enumerate(data):
        if math.isfinite(v):
            last = last * weight + (1.0 - weight) * v
            n += 1
            out[i] = last / (1.0 - weight**n) if weight > 0 else v
    return out


def metric_groups(keys: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{chart: {"train": key, "validation": "val_" + key}}``: one chart per metric, its validation curve in the
    same chart (``val_loss`` joins ``loss``; a ``val_x`` without ``x`` gets its own chart).

    >>> metric_groups(["loss", "val_loss", "accuracy", "val_f1", "lr"])
    {'loss': {'train': 'loss', 'validation': 'val_loss'}, 'accuracy': {'train': 'accuracy'}, \
'f1': {'validation': 'val_f1'}, 'lr': {'train': 'lr'}}
    """
    groups: dict[str, dict[str, str]] = {}
    for key in keys:
        base = key[4:] if key.startswith("val_") else key
        groups.setdefault(base, {})["validation" if key.startswith("val_") else "train"] = key
    return {k: dict(sorted(v.items(), key=lambda kv: kv[0] != "train")) for k, v in groups.items()}


def metric_charts(history: pd.DataFrame, *, smoothing: float = 0.0, log_y: bool = False,
                  keys: Sequence[str] | None = None, title: str = "", columns: int = 2) -> Any:
    """One chart per metric (each its own y axis: loss and accuracy never share one), train and validation in the
    same chart. ``history``: a long frame ``key, step, value`` with an optional ``run`` column (one colour per run;
    train solid, validation dashed). ``smoothing`` draws the smoothed line over a faint raw one; ``log_y`` puts
    every y axis on a log scale."""
    go = _go()
    from plotly.subplots import make_subplots

    frame = history if keys is None else history[history["key"].isin(list(keys))]
    if frame.empty:
        raise DataError("there are no metric values to chart yet")
    order = list(dict.fromkeys(frame["key"]))
    groups = metric_groups(order)
    # the loss first, then the other model metrics, the bookkeeping ones (lr, epoch time, speed) last
    names = sorted(groups, key=lambda n: (0 if n == "loss" else 2 if n in _LAST else 1, order.index(
        next(iter(groups[n].values())))))
    cols = max(1, min(columns, len(names)))
    rows = math.ceil(len(names) / cols)
    titles = [_SYSTEM_TITLES.get(n, n) for n in names]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.08,
                        vertical_spacing=min(0.12, 0.5 / max(rows, 1)))
    runs = list(dict.fromkeys(frame["run"])) if "run" in frame.columns else [None]
    multi = len(runs) > 1
    in_legend: set[str] = set()
    for i, name in enumerate(names):
        r, c = i // cols + 1, i % cols + 1
        for j, run in enumerate(runs):
            color = _COLORS[j % len(_COLORS)] if multi else None
            for kind, key in groups[name].items():
                part = frame[frame["key"] == key] if run is None else frame[(frame["key"] == key)
                                                                              & (frame["run"] == run)]
                if part.empty:
                    continue
                part = part.sort_values("step")
                line_color = color or ("#1f77b4" if kind == "train" else "#ff7f0e")
                label = f"{run}: {kind}" if multi else kind
                dash = "dash" if kind == "validation" and multi else None
                values = part["value"].to_numpy(dtype=np.float64)
                if smoothing > 0:
                    fig.add_trace(go.Scatter(x=part["step"], y=values, mode="lines", opacity=0.25,
                                             line={"color": line_color, "dash": dash}, showlegend=False,
                                             hoverinfo="skip", legendgroup=label), row=r, col=c)
                    values = smooth(values, smoothing)
                fig.add_trace(go.Scatter(x=part["step"], y=values, mode="lines+markers", name=label,
                                         line={"color": line_color, "dash": dash}, marker={"size": 4},
                                         legendgroup=label, showlegend=label not in in_legend), row=r, col=c)
                in_legend.add(label)
    fig.update_xaxes(title_text="epoch", rangemode="tozero", dtick=1 if frame["step"].nunique() <= 20 else None)
    if log_y:
        fig.update_yaxes(type="log")
    if not multi and all(list(g) == ["train"] for g in groups.values()):
        fig.update_layout(showlegend=False)  # one line per chart: a legend saying "train" tells nothing
    fig.update_layout(title=title or None, template=_TEMPLATE, height=max(300, 280 * rows + 60),
                      margin={"l": 50, "r": 20, "t": 60 if title else 40, "b": 40},
                      legend={"orientation": "h", "y": -0.08 if rows == 1 else -0.04})
    return fig


def params_scatter(runs: pd.DataFrame, metric: str, *, selected: Sequence[str] = (), title: str = "") -> Any:
    """Each run at (parameter count, ``metric``) with a log x axis: what a tensor-train user looks at first (how
    much accuracy each parameter buys). ``runs``: a frame with ``name, n_params, <metric>`` and optionally
    ``compression`` and ``id`` (``selected`` ids are drawn larger).

    >>> fig = params_scatter(pd.DataFrame({"name": ["tt", "dense"], "n_params": [1200, 52000],
    ...                                    "accuracy": [0.95, 0.97]}), "accuracy")
    >>> fig.layout.xaxis.type, list(fig.data[0].x)
    ('log', [1200, 52000])
    """
    go = _go()
    frame = runs.dropna(subset=["n_params", metric]) if {"n_params", metric} <= set(runs.columns) else runs.iloc[:0]
    if frame.empty:
        raise DataError(f"no run has both a parameter count and {metric!r} yet; train a model to see this plot")
    compression = frame["compression"] if "compression" in frame.columns else pd.Series(np.nan, index=frame.index)
    chosen = frame["id"].isin(list(selected)) if "id" in frame.columns else pd.Series(False, index=frame.index)
    text = [f"{n}<br>{int(p):,} params" + (f", {c:.1f}x" if c == c else "")
            for n, p, c in zip(frame["name"], frame["n_params"], compression)]
    fig = go.Figure(go.Scatter(
        x=frame["n_params"].tolist(), y=frame[metric].tolist(), mode="markers+text", text=list(frame["name"]),
        textposition="top center", hovertext=text, hoverinfo="text+y",
        marker={"size": [14 if c else 9 for c in chosen], "color": ["#d62728" if c else "#1f77b4" for c in chosen],
                "line": {"width": 1, "color": "white"}}))
    lo, hi = math.log10(float(frame["n_params"].min())), math.log10(float(frame["n_params"].max()))
    pad = max(0.25, (hi - lo) * 0.12)  # room for the run names written beside the points
    fig.update_xaxes(type="log", title_text="parameters (log scale)", range=[lo - pad, hi + pad])
    ys = frame[metric].astype(float)
    span = max(float(ys.max() - ys.min()), abs(float(ys.max())) * 0.02, 1e-9)
    fig.update_yaxes(title_text=metric, range=[float(ys.min()) - 0.15 * span, float(ys.max()) + 0.25 * span])
    count = f"{len(frame)} run" + ("s" if len(frame) != 1 else "")
    fig.update_layout(title=title or f"{metric} vs parameters ({count})", template=_TEMPLATE, height=380,
                      margin={"l": 50, "r": 20, "t": 50, "b": 40})
    return fig


def parallel_coordinates(trials: pd.DataFrame, score: str, params: Sequence[str] | None = None) -> Any:
    """An AutoML study as parallel coordinates: one axis per hyper-parameter, the last one the ``score``, lines
    coloured by score. Text parameters become numbered categories.

    >>> fig = parallel_coordinates(pd.DataFrame({"lr": [0.1, 0.01], "opt": ["adam", "sgd"], "accuracy": [0.9, 0.8]}),
    ...                            "accuracy")
    >>> [d.label for d in fig.data[0].dimensions]
    ['lr', 'opt', 'accuracy']
    """
    go = _go()
    if score not in trials.columns:
        raise DataError(f"the study has no score column {score!r}; columns are: {', '.join(map(str, trials.columns))}")
    params = [p for p in (params or [c for c in trials.columns if c != score]) if p in trials.columns]
    frame = trials.dropna(subset=[score])
    if frame.empty:
        raise DataError("no finished trial has a score yet")
    dims = []
    for p in [*params, score]:
        col = frame[p]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            dims.append({"label": p, "values": col.astype(float).tolist()})
        else:
            cats = sorted(map(str, col.dropna().unique()))
            dims.append({"label": p, "values": [cats.index(str(v)) if v == v else -1 for v in col],
                         "tickvals": list(range(len(cats))), "ticktext": cats})
    fig = go.Figure(go.Parcoords(line={"color": frame[score].astype(float).tolist(), "colorscale": "Viridis",
                                       "showscale": True}, dimensions=dims))
    fig.update_layout(title=f"{len(frame)} trials: hyper-parameters → {score}", template=_TEMPLATE, height=380,
                      margin={"l": 60, "r": 40, "t": 70, "b": 30})
    return fig


def confusion_matrix_figure(matrix: Sequence[Sequence[int]], labels: Sequence[Any], title: str = "") -> Any:
    """The confusion matrix as a heat map: rows are the true classes, columns the predicted ones, counts printed.

    >>> fig = confusion_matrix_figure([[5, 1], [0, 4]], ["no", "yes"])
    >>> fig.data[0].type, fig.layout.yaxis.title.text
    ('heatmap', 'true class')
    """
    go = _go()
    z = np.asarray(matrix, dtype=np.int64)
    names = [str(v) for v in labels]
    if z.shape != (len(names), len(names)):
        raise DataError(f"a confusion matrix of {len(names)} classes is {len(names)} x {len(names)}; got {z.shape}")
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", text=z, texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_xaxes(title_text="predicted class", type="category", side="bottom")
    fig.update_yaxes(title_text="true class", type="category", autorange="reversed")
    fig.update_layout(title=title or f"Confusion matrix ({int(z.sum())} test rows)", template=_TEMPLATE,
                      height=max(360, 32 * len(names) + 140), margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def predicted_vs_true(y_true: Sequence[float], y_pred: Sequence[float], title: str = "") -> Any:
    """Predicted against true values with the ``y = x`` line (points on it are exact).

    >>> fig = predicted_vs_true([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    >>> [t.name for t in fig.data]
    ['test rows', 'y = x']
    """
    go = _go()
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape or t.size == 0:
        raise DataError(f"true and predicted values must be two non-empty lists of one length; got {t.size} and "
                        f"{p.size}")
    lo, hi = float(np.nanmin([t.min(), p.min()])), float(np.nanmax([t.max(), p.max()]))
    fig = go.Figure([go.Scatter(x=t, y=p, mode="markers", name="test rows", marker={"size": 5, "opacity": 0.6}),
                     go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                                line={"dash": "dash", "color": "#888"})])
    fig.update_xaxes(title_text="true value")
    fig.update_yaxes(title_text="predicted value")
    fig.update_layout(title=title or f"Predicted vs true ({t.size} test rows)", template=_TEMPLATE, height=400,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig
