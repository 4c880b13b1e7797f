"""The training side of drift checks: :func:`reference_profile` bins every training feature at export (quantile
edges for numbers, the most frequent values for text; stored in the export's ``metadata.json``), and
:func:`bin_fractions` puts served values into the same bins.

>>> import numpy as np
>>> prof = reference_profile(np.array([[1.0, "a"], [2.0, "b"], [3.0, "a"]], dtype=object), ["x", "kind"], bins=2)
>>> [f["kind"] for f in prof["features"]], prof["features"][1]["categories"]
(['numeric', 'categorical'], ['a', 'b'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.errors import DataError
from tesla_lab.serve.monitor._checks import _positive_int

__all__ = ["reference_profile", "bin_fractions"]


def _columns(data: Any, feature_names: Sequence[str] | None) -> tuple[list[str], list[np.ndarray]]:
    """Feature names and one 1-D array per feature of a 2-D table (DataFrame, array, tensor or nested list)."""
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns] if feature_names is None else [str(n) for n in feature_names]
        if len(names) != data.shape[1]:
            raise DataError(f"got {len(names)} feature names for a table of {data.shape[1]} columns; pass one name "
                            "per column")
        return names, [data.iloc[:, j].to_numpy() for j in range(data.shape[1])]
    if hasattr(data, "detach"):  # torch tensor
        data = data.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise DataError(f"drift statistics need a table (samples, features); got shape {arr.shape}")
    names = [str(j) for j in range(arr.shape[1])] if feature_names is None else [str(n) for n in feature_names]
    if len(names) != arr.shape[1]:
        raise DataError(f"got {len(names)} feature names for a table of {arr.shape[1]} columns; pass one name per "
                        "column")
    return names, [arr[:, j] for j in range(arr.shape[1])]


def _numeric(col: np.ndarray) -> np.ndarray | None:
    """``col`` as float64 when every value is a number (bool counts), else None."""
    if col.dtype.kind in "biuf":
        return col.astype(np.float64)
    try:
        return np.asarray(pd.to_numeric(pd.Series(col), errors="raise"), dtype=np.float64)
    except (ValueError, TypeError):
        return None


def reference_profile(
    data: Any, feature_names: Sequence[str] | None = None, *, bins: int = 10, max_categories: int = 20
) -> dict[str, Any]:
    """Summarise training features for drift checks: per feature its quantile bin edges and the fraction of rows
    in each bin (numbers), or its most frequent values and their fractions (text), plus mean/std/min/max.

    ``data``: the *raw* training features, as requests will send them (before any preprocessing pipeline):
    a DataFrame, or a (samples, features) array. The result is plain JSON.

    >>> prof = reference_profile(np.arange(100.0).reshape(-1, 1), ["age"], bins=4)
    >>> prof["features"][0]["edges"], prof["features"][0]["fractions"]
    ([24.75, 49.5, 74.25], [0.25, 0.25, 0.25, 0.25])
    """
    bins = _positive_int(bins, "bins")
    names, cols = _columns(data, feature_names)
    if not cols or len(cols[0]) == 0:
        raise DataError("drift statistics need at least one training row and one feature; got an empty table")
    features = []
    for name, col in zip(names, cols):
        values = _numeric(col)
        if values is not None:
            finite = values[np.isfinite(values)]
            if finite.size == 0:
                raise DataError(f"feature {name!r} has no finite training values; drop it or fill it before export")
            qs = np.quantile(finite, np.arange(1, bins) / bins) if bins > 1 else np.empty(0)
            edges = np.unique(qs)
            counts = np.bincount(np.searchsorted(edges, finite, side="left"), minlength=edges.size + 1)
            features.append({
                "name": name, "kind": "numeric", "edges": edges.tolist(),
                "fractions": (counts / counts.sum()).tolist(),
                "mean": float(finite.mean()), "std": float(finite.std()),
                "min": float(finite.min()), "max": float(finite.max()),
                "missing_fraction": float(1.0 - finite.size / values.size),
            })
        else:
            text = pd.Series(col).dropna().astype(str)
            top = text.value_counts().head(max_categories)
            cats = [str(c) for c in top.index]
            other = len(text) - int(top.sum())
            counts = np.array([*top.to_numpy().tolist(), other], dtype=np.float64)
            features.append({
                "name": name, "kind": "categorical", "categories": cats,
                "fractions": (counts / max(counts.sum(), 1.0)).tolist(),
            })
    return {"n_samples": int(len(cols[0])), "bins": bins, "features": features}


def bin_fractions(values: np.ndarray, feature: Mapping[str, Any]) -> np.ndarray:
    """Fractions of ``values`` in the bins of one feature of a :func:`reference_profile` (NaN/None ignored).

    >>> prof = reference_profile(np.arange(100.0).reshape(-1, 1), bins=4)
    >>> bin_fractions(np.array([0.0, 99.0]), prof["features"][0]).tolist()
    [0.5, 0.0, 0.0, 0.5]
    """
    if feature["kind"] == "numeric":
        nums = _numeric(np.asarray(values))
        if nums is None:
            raise DataError(f"feature {feature['name']!r} was numeric in the training data but got text values")
        nums = nums[np.isfinite(nums)]
        edges = np.asarray(feature["edges"], dtype=np.float64)
        counts = np.bincount(np.searchsorted(edges, nums, side="left"), minlength=edges.size + 1)
    else:
        lookup = {c: i for i, c in enumerate(feature["categories"])}
        other = len(lookup)
        idx = [lookup.get(str(v), other) for v in values if v is not None and not (isinstance(v, float) and v != v)]
        counts = np.bincount(np.asarray(idx, dtype=np.int64), minlength=other + 1)
    total = counts.sum()
    return counts / total if total else counts.astype(np.float64)
