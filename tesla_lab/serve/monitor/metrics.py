"""What ``GET /metrics`` reports: :class:`Monitor` counts requests and errors per endpoint and feeds the latency
windows, the drift window and the request log; :meth:`Monitor.snapshot` is the JSON body.

>>> m = Monitor(); m.record("/health", 200, 0.001); m.snapshot()["endpoints"]["/health"]["requests"]
1
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from tesla_lab.errors import DataError
from tesla_lab.serve.monitor._checks import _positive_int
from tesla_lab.serve.monitor.drift import DriftMonitor
from tesla_lab.serve.monitor.latency import LatencyWindow
from tesla_lab.serve.monitor.psi import PSI_ALERT, PSI_WARN
from tesla_lab.serve.monitor.request_log import RequestLog

__all__ = ["Monitor"]

log = logging.getLogger(__name__)


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
