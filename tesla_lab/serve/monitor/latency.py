"""Latency percentiles over a sliding window of requests: :class:`LatencyWindow`.

>>> w = LatencyWindow(size=2); w.add(0.001); w.percentiles(qs=(50,))
{'p50': 1.0, 'mean': 1.0, 'n': 1}
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable

import numpy as np

from tesla_lab.serve.monitor._checks import _positive_int

__all__ = ["LatencyWindow"]


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
