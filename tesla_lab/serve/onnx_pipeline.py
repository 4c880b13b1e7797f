"""Which steps of a fitted preprocessing pipeline an ONNX graph can hold, and exactly what they compute.

:func:`split_pipeline` cuts a pipeline's JSON into the head the server keeps applying (one-hot encoding of text
columns and everything before it) and the numeric tail (``FillMissing``, ``Standardize``, ``MinMaxScale``,
``PixelScale``) that becomes graph operations. Each operation is checked bit for bit against its step on probe
rows (:func:`emulate` is what the nodes compute), so the model behind the graph sees the very values the bundle
gives it; a step that does not match stays with the server.

>>> ops = [("fill", np.array([9.0]), np.zeros(1), np.array([False])),
...        ("scale", np.array([1.0]), np.array([4.0]), np.array([False]))]
>>> emulate(ops, np.array([[np.nan], [5.0]])).tolist()
[[2.0], [1.0]]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.data.pipeline import transform_from_dict
from tesla_lab.errors import TeslaError

__all__ = ["Op", "GRAPH_STEPS", "split_pipeline", "emulate"]

#: pipeline steps that can become ONNX nodes (numeric, column count unchanged)
GRAPH_STEPS = ("FillMissing", "Standardize", "MinMaxScale", "PixelScale")
#: one preprocessing node: ('fill', values, _, f32) or ('scale', offset, scale, f32); f32: columns rounded to float32
Op = tuple[str, np.ndarray, np.ndarray, np.ndarray]


def _flat_steps(data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not data:
        return []
    if data.get("type") == "Pipeline":
        return [s for step in data.get("steps", []) for s in _flat_steps(step)]
    return [dict(data)]


def _frame_of(values: np.ndarray, names: list[str], f32: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({n: values[:, j].astype(np.float32 if f32[j] else np.float64) for j, n in enumerate(names)},
                        columns=names)


def emulate(ops: list[Op], x: np.ndarray) -> np.ndarray:
    """What the graph's preprocessing nodes compute, in NumPy (float64 with float32 rounding where the pipeline
    rounds): the check that each node does exactly what its pipeline step does.

    >>> emulate([("scale", np.array([1.0]), np.array([2.0]), np.array([False]))], np.array([[5.0]])).tolist()
    [[2.0]]
    """
    for kind, p, q, f32 in ops:
        y = np.where(np.isnan(x), p, x) if kind == "fill" else (x - p) / q
        x = np.where(f32, y.astype(np.float32).astype(np.float64), y)
    return x


def _graph_step(step: dict[str, Any], names: list[str], f32: np.ndarray) -> Op | None:
    """The graph operation doing exactly what ``step`` does to columns ``names`` (``f32``: which are float32), or
    None when the graph cannot: ``('fill', values, _, f32_out)`` or ``('scale', offset, scale, f32_out)`` for
    ``y = (x - offset) / scale``, checked bit for bit on probe rows through the step itself."""
    if step.get("type") not in GRAPH_STEPS:
        return None
    transform = transform_from_dict(step)
    fitted = step.get("state", {}).get("feature_names_in_")
    if fitted is not None and [str(c) for c in fitted] != names:
        return None
    width = len(names)
    rng = np.random.default_rng(0)
    probe = rng.normal(scale=3.0, size=(8, width))
    probe[::3, :] = np.nan  # the fill steps must see missing values; the scalers keep them
    probe = _frame_of(probe, names, f32).to_numpy(np.float64)  # float32 columns hold float32 values

    def run(values: np.ndarray) -> np.ndarray | None:
        try:
            out = transform.transform(_frame_of(values, names, f32))
        except (TeslaError, TypeError, ValueError):
            return None
        if not isinstance(out, pd.DataFrame) or [str(c) for c in out.columns] != names:
            return None
        if any(out[c].dtype.kind != "f" for c in out.columns):
            return None
        return out

    out = run(probe)
    if out is None:
        return None
    f32_out = np.array([out[c].dtype == np.float32 for c in out.columns])
    if step["type"] == "FillMissing":
        filled = run(np.full((1, width), np.nan))
        if filled is None:
            return None
        op: Op = ("fill", filled.to_numpy(np.float64)[0], np.zeros(width), f32_out)
    else:
        offset, scale = np.zeros(width), np.ones(width)
        if step["type"] == "PixelScale":
            scale[:] = float(transform.max_value_)  # type: ignore[attr-defined]
        else:  # Standardize / MinMaxScale: (x - offset) / scale on their columns (the data layer's own numbers)
            off, sc = transform._affine()  # type: ignore[attr-defined]
            cols = transform.columns_  # type: ignore[attr-defined]
            where = [names.index(str(c)) for c in cols] if fitted is not None else [int(c) for c in cols]
            offset[where], scale[where] = off, sc
        op = ("scale", offset, scale, f32_out)
    if not np.array_equal(emulate([op], probe), out.to_numpy(np.float64), equal_nan=True):
        return None  # not exactly what the step does: leave it to the server
    return op


def split_pipeline(preprocessing: Mapping[str, Any] | None, rows: pd.DataFrame
                   ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[Op]]:
    """Split a pipeline's JSON into the head the server applies and the numeric tail the ONNX graph holds,
    given raw example ``rows`` (the features, to learn the columns and dtypes the tail sees).

    Returns ``(head or None, tail steps as JSON, tail as graph operations)``.

    >>> from tesla_lab.data import OneHot, Pipeline, Standardize
    >>> df = pd.DataFrame({"x": [1.0, 3.0], "c": ["a", "b"]})
    >>> pipe = Pipeline([OneHot(columns=["c"]), Standardize(columns=["x"])]).fit(df)
    >>> head, tail, ops = split_pipeline(pipe.to_dict(), df)
    >>> [s["type"] for s in head["steps"]], [s["type"] for s in tail], ops[0][0], ops[0][1].tolist()
    (['OneHot'], ['Standardize'], 'scale', [2.0, 0.0, 0.0])
    """
    steps = _flat_steps(preprocessing)
    cut = len(steps)
    while cut > 0 and steps[cut - 1].get("type") in GRAPH_STEPS:
        cut -= 1
    while True:
        head = {"type": "Pipeline", "steps": steps[:cut]} if cut else None
        boundary = transform_from_dict(head).transform(rows) if head is not None else rows
        frame = boundary if isinstance(boundary, pd.DataFrame) else pd.DataFrame(np.asarray(boundary))
        names = [str(c) for c in frame.columns]
        f32 = np.array([frame[c].dtype == np.float32 for c in frame.columns])
        ops: list[Op] = []
        for step in steps[cut:]:
            op = _graph_step(step, names, f32)
            if op is None:
                break
            ops.append(op)
            f32 = op[3]
        if len(ops) == len(steps) - cut:
            return head, steps[cut:], ops
        cut += len(ops) + 1  # that step stays with the server, and so does everything before it
