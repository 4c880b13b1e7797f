"""Monitoring for a served model: a rotating JSON-lines request log, latency percentiles over a sliding window, and
input drift measured as the PSI (population stability index) of each feature against the training data.

At export, :func:`reference_profile` bins every training feature (quantile edges for numbers, the most frequent
values for text) and the profile is stored in ``metadata.json``. While serving, :class:`DriftMonitor` keeps the
last ``window`` scored rows and compares their distribution over the same bins:
``PSI = sum_i (q_i - p_i) * ln(q_i / p_i)`` with ``p`` the training and ``q`` the recent fractions. The usual reading
is PSI < 0.1 stable (``ok``), 0.1-0.25 some shift (``warn``), >= 0.25 a real shift (``alert``).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> profile = reference_profile(rng.normal(size=(5000, 1)), ["x"])
>>> drift = DriftMonitor(profile)
>>> drift.update(rng.normal(loc=1.0, size=(2000, 1)))   # requests shifted by one standard deviation
>>> drift.report()[["feature", "status"]].to_dict("records")
[{'feature': 'x', 'status': 'alert'}]
"""

from __future__ import annotations

import collections
import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.errors import ConfigError, DataError

__all__ = [
    "PSI_WARN",
    "PSI_ALERT",
    "psi",
    "drift_status",
    "reference_profile",
    "bin_fractions",
    "DriftMonitor",
    "LatencyWindow",
    "RequestLog",
    "Monitor",
]

log = logging.getLogger(__name__)

PSI_WARN = 0.1
PSI_ALERT = 0.25
_EPS = 1e-4  # floor for empty bins: ln(q/p) stays finite and one empty bin adds at most ~0.001 * ln(1/eps)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return value


# ----------------------------------------------------------------------------------------------------- PSI
def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, *, eps: float = _EPS) -> float:
    """Population stability index of ``actual`` against ``expected``, two histograms over the same bins (counts or
    fractions; each is normalised). Bins empty on either side are floored at ``eps`` so the value stays finite.

    >>> psi([0.5, 0.5], [0.5, 0.5])
    0.0
    >>> round(psi([0.5, 0.5], [0.9, 0.1]), 3)
    0.879
    >>> psi([1, 2], [1, 2, 3])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: psi needs two histograms over the same bins; got 2 and 3 bins
    """
    p = np.asarray(expected, dtype=np.float64)
    q = np.asarray(actual, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise DataError(f"psi needs two histograms over the same bins; got {p.size} and {q.size} bins")
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise DataError("psi needs non-negative histograms with a positive total; got "
                        f"{p.tolist()[:6]} and {q.tolist()[:6]}")
    p = np.clip(p / p.sum(), eps, None)
    q = np.clip(q / q.sum(), eps, None)
    return float(np.sum((q - p) * np.log(q / p)))


def drift_status(value: float, *, warn: float = PSI_WARN, alert: float = PSI_ALERT) -> str:
    """``'ok'`` below ``warn``, ``'warn'`` below ``alert``, else ``'alert'``; NaN (too little data) is ``'n/a'``.

    >>> [drift_status(v) for v in (0.02, 0.1, 0.3, float("nan"))]
    ['ok', 'warn', 'alert', 'n/a']
    """
    if value is None or math.isnan(value):
        return "n/a"
    return "ok" if value < warn else "warn" if value < alert else "alert"


# ---------------------------------------------------------------------------------------- reference profile
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


# -------------------------------------------------------------------------------------------------- drift
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


# ------------------------------------------------------------------------------------------------ latency
class LatencyWindow:
    """The last ``size`` latencies (seconds) and their percentiles in milliseconds (thread-safe).

    >>> w = LatencyWindow(size=3)
    >>> for s in (0.010, 0.020, 0.030, 0.040):
    ...     w.add(s)
    >>> w.percentiles()   # the first one dropped out
    {'p50': 30.0, 'p90': 38.0, 'p99': 39.8, 'mean': 30.0, 'n': 3}
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = _positive_int(size, "size")
        self._values: collections.deque[float] = collections.deque(maxlen=self.size)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        """Record one latency in seconds."""
        with self._lock:
            self._values.append(float(seconds))

    def values(self) -> np.ndarray:
        """The latencies in the window, seconds, oldest first."""
        with self._lock:
            return np.fromiter(self._values, dtype=np.float64, count=len(self._values))

    def percentiles(self, qs: Iterable[float] = (50, 90, 99)) -> dict[str, float | int | None]:
        """``{'p50': ms, 'p90': ms, 'p99': ms, 'mean': ms, 'n': count}`` (``numpy.percentile``, linear); None
        when no request was recorded yet."""
        qs = list(qs)
        ms = self.values() * 1000.0
        out: dict[str, float | int | None] = {}
        points = np.percentile(ms, qs) if ms.size else [None] * len(qs)
        for q, v in zip(qs, points):
            out[f"p{q:g}"] = None if v is None else round(float(v), 4)
        out["mean"] = round(float(ms.mean()), 4) if ms.size else None
        out["n"] = int(ms.size)
        return out


# -------------------------------------------------------------------------------------------- request log
class RequestLog:
    """Append-only JSON-lines file, one record per request, rotated by size (``path`` → ``path.1`` → ... →
    ``path.<backups>``, the oldest deleted). Writes from many threads are serialised by a lock, each record is one
    ``write`` of one line, flushed at once. One process per file (uvicorn with one worker).

    >>> import tempfile, os
    >>> logfile = RequestLog(os.path.join(tempfile.mkdtemp(), "requests.jsonl"))
    >>> logfile.write({"endpoint": "/predict", "status": 200})
    >>> logfile.read()[0]["status"]
    200
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = 10 * 2**20, backups: int = 3) -> None:
        self.path = Path(path)
        self.max_bytes = _positive_int(max_bytes, "max_bytes")
        if isinstance(backups, bool) or not isinstance(backups, int) or backups < 0:
            raise ConfigError(f"backups must be an integer >= 0; got {backups!r}")
        self.backups = backups
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open; closed by close()

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` (JSON-able; a ``ts`` in UTC ISO format is added when missing)."""
        rec = dict(record)
        rec.setdefault("ts", datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
        line = json.dumps(rec, default=str, allow_nan=False) + "\n"  # non-finite numbers must not reach the log
        with self._lock:
            if self._fh.closed:
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            if self._fh.tell() + len(line) > self.max_bytes and self._fh.tell() > 0:
                self._rotate()
            self._fh.write(line)
            self._fh.flush()

    def _rotate(self) -> None:
        self._fh.close()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        else:
            for i in range(self.backups - 1, 0, -1):
                src = self.path.with_name(f"{self.path.name}.{i}")
                if src.exists():
                    os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def files(self) -> list[Path]:
        """The log files, oldest first (rotated ones, then the current one)."""
        rotated = [self.path.with_name(f"{self.path.name}.{i}") for i in range(self.backups, 0, -1)]
        return [p for p in [*rotated, self.path] if p.exists()]

    def read(self) -> list[dict[str, Any]]:
        """Every record still on disk, oldest first (a torn last line from a crash is skipped)."""
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
            out = []
            for path in self.files():
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            out.append(json.loads(line))
                        except json.JSONDecodeError:
                            continue
            return out

    def close(self) -> None:
        """Close the file (a later :meth:`write` reopens it)."""
        with self._lock:
            self._fh.close()

    def __repr__(self) -> str:
        return f"RequestLog({str(self.path)!r}, max_bytes={self.max_bytes}, backups={self.backups})"


# ---------------------------------------------------------------------------------------------- the monitor
class Monitor:
    """Everything ``GET /metrics`` reports: request and error counts per endpoint, latency percentiles over the last
    ``latency_window`` requests of each endpoint, input drift over the last ``drift_window`` scored rows, and an
    optional :class:`RequestLog`. Thread-safe.

    >>> m = Monitor()
    >>> m.record("/predict", 200, 0.004, rows=2)
    >>> m.record("/predict", 422, 0.001, error="bad row")
    >>> snap = m.snapshot()
    >>> snap["requests"], snap["errors"], snap["latency_ms"]["n"]
    (2, 1, 2)
    """

    def __init__(
        self,
        profile: Mapping[str, Any] | None = None,
        *,
        log_path: str | os.PathLike[str] | None = None,
        latency_window: int = 10_000,
        drift_window: int = 5000,
        min_drift_samples: int = 100,
        log_max_bytes: int = 10 * 2**20,
        log_backups: int = 3,
    ) -> None:
        self.latency_window = _positive_int(latency_window, "latency_window")
        self.drift = DriftMonitor(profile, window=drift_window, min_samples=min_drift_samples) if profile else None
        self.log = RequestLog(log_path, max_bytes=log_max_bytes, backups=log_backups) if log_path else None
        self.started = time.time()
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}  # endpoint -> [requests, errors, rows]
        self._status: collections.Counter[int] = collections.Counter()
        self._latency: dict[str, LatencyWindow] = {}

    def record(
        self,
        endpoint: str,
        status: int,
        latency_s: float,
        *,
        rows: int = 0,
        features: Any = None,
        error: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Count one request; ``features`` (the raw rows it scored) feed the drift window."""
        with self._lock:
            counts = self._counts.setdefault(endpoint, [0, 0, 0])
            counts[0] += 1
            counts[1] += status >= 400
            counts[2] += rows
            self._status[int(status)] += 1
            window = self._latency.get(endpoint)
            if window is None:
                window = self._latency[endpoint] = LatencyWindow(self.latency_window)
        window.add(latency_s)
        if features is not None and self.drift is not None:
            try:
                self.drift.update(features)
            except DataError as exc:  # monitoring must never fail a request that was already answered
                log.warning("drift window not updated: %s", exc)
        if self.log is not None:
            rec: dict[str, Any] = {"endpoint": endpoint, "status": int(status), "latency_ms": round(latency_s * 1e3, 3),
                                   "rows": rows}
            if request_id:
                rec["request_id"] = request_id
            if error:
                rec["error"] = error[:500]
            try:
                self.log.write(rec)
            except OSError as exc:  # a full disk must not take inference down
                log.warning("request log %s not written: %s", self.log.path, exc)

    def latency(self, endpoint: str = "/predict") -> dict[str, float | int | None]:
        """Latency percentiles (ms) of ``endpoint`` over its window."""
        window = self._latency.get(endpoint)
        return (window or LatencyWindow(1)).percentiles()

    def drift_report(self) -> pd.DataFrame:
        """PSI and status per feature (empty when the export has no training profile)."""
        if self.drift is None:
            return pd.DataFrame(columns=["feature", "psi", "status", "n", "mean_recent", "mean_train"])
        return self.drift.report()

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able summary (the body of ``GET /metrics``)."""
        with self._lock:
            counts = {k: list(v) for k, v in self._counts.items()}
            status = dict(sorted(self._status.items()))
        endpoints = {
            ep: {"requests": c[0], "errors": c[1], "rows": c[2], "latency_ms": self.latency(ep)}
            for ep, c in sorted(counts.items())
        }
        drift: dict[str, Any] = {"available": self.drift is not None}
        if self.drift is not None:
            report = self.drift_report()
            records = [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
                for rec in report.to_dict("records")
            ]
            order = {"n/a": -1, "ok": 0, "warn": 1, "alert": 2}
            worst = max((r["status"] for r in records), key=order.__getitem__, default="n/a")
            drift.update({"window": self.drift.window, "n_recent": self.drift.n_recent, "status": worst,
                          "thresholds": {"warn": PSI_WARN, "alert": PSI_ALERT}, "features": records})
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "requests": sum(c[0] for c in counts.values()),
            "errors": sum(c[1] for c in counts.values()),
            "by_status": {str(k): v for k, v in status.items()},
            "latency_ms": self.latency("/predict"),
            "endpoints": endpoints,
            "drift": drift,
        }

    def close(self) -> None:
        """Close the request log."""
        if self.log is not None:
            self.log.close()
