"""Input drift while serving: :class:`DriftMonitor` keeps the last ``window`` scored rows and reports, per
feature, the PSI of their distribution against the training :func:`~tesla_lab.serve.monitor.reference_profile`.

>>> import numpy as np
>>> from tesla_lab.serve.monitor import reference_profile
>>> drift = DriftMonitor(reference_profile(np.arange(200.0).reshape(-1, 1), ["x"]), min_samples=10)
>>> drift.update(np.arange(200.0).reshape(-1, 1)); drift.report()["status"].tolist()
['ok']
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.errors import DataError
from tesla_lab.serve.monitor._checks import _positive_int
from tesla_lab.serve.monitor.psi import drift_status, psi
from tesla_lab.serve.monitor.reference import _numeric, bin_fractions

__all__ = ["DriftMonitor"]


class DriftMonitor:
    """PSI per feature between the training profile and the last ``window`` rows seen (thread-safe).

    Args:
        profile: a :func:`reference_profile` (``metadata["reference"]`` of an export).
        window: recent rows kept (older ones drop out).
        min_samples: below this many recent rows the PSI is reported as NaN with status ``'n/a'`` (small samples
            inflate PSI: about ``(bins - 1) / n`` even without any shift).

    >>> DriftMonitor({"features": []}, window=0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: window must be a positive integer; got 0
    """

    def __init__(self, profile: Mapping[str, Any], *, window: int = 5000, min_samples: int = 100) -> None:
        self.profile = profile
        self.window = _positive_int(window, "window")
        self.min_samples = _positive_int(min_samples, "min_samples")
        self.features: list[Mapping[str, Any]] = list(profile.get("features", []))
        self._names = [f["name"] for f in self.features]
        # One ring buffer (window, n_features) of objects: numbers and text share it; converted per column at report.
        self._buf = np.empty((self.window, len(self.features)), dtype=object)
        self._next = 0  # index of the next row to write
        self._count = 0  # rows held (<= window)
        self._lock = threading.Lock()

    @property
    def n_recent(self) -> int:
        """Rows currently in the window."""
        return self._count

    def update(self, rows: Any) -> None:
        """Add scored rows: a DataFrame with the profile's feature names as columns, or a (N, F) array in the
        profile's feature order."""
        if not self.features:
            return
        if isinstance(rows, pd.DataFrame):
            missing = [n for n in self._names if n not in map(str, rows.columns)]
            if missing:
                raise DataError(f"drift update is missing feature(s) {', '.join(map(repr, missing))}")
            rows = rows.rename(columns=str)[self._names].to_numpy(dtype=object)
        else:
            rows = np.asarray(rows.detach().cpu().numpy() if hasattr(rows, "detach") else rows, dtype=object)
            if rows.ndim != 2 or rows.shape[1] != len(self.features):
                raise DataError(f"drift update needs rows of {len(self.features)} features; got shape {rows.shape}")
        rows = rows[-self.window :]  # (n, F): only the newest rows can stay in the window
        n = len(rows)
        with self._lock:
            first = min(n, self.window - self._next)
            self._buf[self._next : self._next + first] = rows[:first]
            self._buf[: n - first] = rows[first:]
            self._next = (self._next + n) % self.window
            self._count = min(self._count + n, self.window)

    def reset(self) -> None:
        """Forget the recent rows (e.g. after a deliberate change of the input population)."""
        with self._lock:
            self._next = self._count = 0

    def report(self) -> pd.DataFrame:
        """One row per feature: ``feature``, ``psi``, ``status`` (ok / warn / alert / n/a), ``n`` (rows compared)
        and, for numbers, the recent and training means."""
        with self._lock:
            recent = self._buf[: self._count].copy()  # (n, F) in no particular order; order does not matter
        out = []
        for j, feature in enumerate(self.features):
            col = recent[:, j]
            value = float("nan")
            n = len(col)
            if n >= self.min_samples:
                value = psi(feature["fractions"], bin_fractions(col, feature))
            row: dict[str, Any] = {"feature": feature["name"], "psi": value, "status": drift_status(value), "n": n}
            if feature["kind"] == "numeric":
                nums = _numeric(col) if n else None
                row["mean_recent"] = float(np.nanmean(nums)) if nums is not None and nums.size else float("nan")
                row["mean_train"] = feature["mean"]
            out.append(row)
        return pd.DataFrame(out, columns=["feature", "psi", "status", "n", "mean_recent", "mean_train"])
