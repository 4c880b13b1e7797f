"""A bounded load test for a running server: ``concurrency`` threads send ``POST /predict`` until ``requests`` were
sent or ``seconds`` passed, whichever comes first, and report throughput and client-side latency percentiles.

>>> LoadTestResult(requests=4, errors=0, seconds=2.0, concurrency=2,
...                latencies_ms=np.array([1.0, 2.0, 3.0, 4.0])).summary()
'4 requests (0 errors) in 2.00 s with 2 threads: 2.0 req/s, latency p50 2.50 ms, p90 3.70 ms, p99 3.97 ms'
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tesla_lab.errors import ConfigError

__all__ = ["LoadTestResult", "load_test"]


@dataclass(frozen=True)
class LoadTestResult:
    """Outcome of :func:`load_test`: counts, wall time and every request's latency (ms).

    >>> LoadTestResult(0, 0, 1.0, 1, np.array([])).p50 is None
    True
    """

    requests: int
    errors: int
    seconds: float
    concurrency: int
    latencies_ms: np.ndarray = field(repr=False)
    status_counts: dict[int, int] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        """Completed requests (errors included) per second of wall time."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def _pct(self, q: float) -> float | None:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms.size else None

    @property
    def p50(self) -> float | None:
        """Median latency in ms."""
        return self._pct(50)

    @property
    def p90(self) -> float | None:
        """90th percentile latency in ms."""
        return self._pct(90)

    @property
    def p99(self) -> float | None:
        """99th percentile latency in ms."""
        return self._pct(99)

    def summary(self) -> str:
        """One line for a log or a README."""
        if not self.latencies_ms.size:
            return f"0 requests in {self.seconds:.2f} s"
        return (f"{self.requests} requests ({self.errors} errors) in {self.seconds:.2f} s with {self.concurrency} "
                f"threads: {self.requests_per_s:.1f} req/s, latency p50 {self.p50:.2f} ms, p90 {self.p90:.2f} ms, "
                f"p99 {self.p99:.2f} ms")


def load_test(
    url: str,
    payload: dict[str, Any],
    *,
    requests: int = 2000,
    seconds: float = 20.0,
    concurrency: int = 4,
    token: str | None = None,
    timeout: float = 10.0,
    endpoint: str = "/predict",
) -> LoadTestResult:
    """POST ``payload`` to ``url + endpoint`` from ``concurrency`` threads (one keep-alive ``http.client``
    connection each), at most ``requests`` times and for at most ``seconds``. Non-2xx answers and connection
    failures count as errors. The client runs in this process: on a small machine it competes with the server for
    the CPU, so the numbers are a lower bound.

    >>> load_test("http://127.0.0.1:1", {}, requests=0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: requests must be a positive integer; got 0
    """
    for name, value in (("requests", requests), ("concurrency", concurrency)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    if not seconds > 0:
        raise ConfigError(f"seconds must be > 0; got {seconds!r}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigError(f"url must be http://host:port of a running server; got {url!r}")
    path = parts.path.rstrip("/") + endpoint
    body = json.dumps(payload).encode()  # encoded once: the test measures the server, not the client's JSON
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    start = time.perf_counter()
    deadline = start + seconds

    def worker() -> None:
        nonlocal issued, errors
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)  # kept alive
        try:
            while True:
                with lock:
                    if issued >= requests or time.perf_counter() >= deadline:
                        return
                    issued += 1
                t0 = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    status = 0  # refused, reset or timed out: counted as an error, the next request reconnects
                    conn.close()
                elapsed = (time.perf_counter() - t0) * 1000.0
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
                    errors += not 200 <= status < 300
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 5)
    wall = time.perf_counter() - start
    return LoadTestResult(requests=len(latencies), errors=errors, seconds=wall, concurrency=concurrency,
                          latencies_ms=np.asarray(latencies), status_counts=dict(sorted(statuses.items())))
