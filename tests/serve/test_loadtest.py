"""The bounded load test: stops at the request count or the time limit, whichever comes first."""

import numpy as np
import pytest

pytest.importorskip("uvicorn")

from tesla_lab.errors import ConfigError  # noqa: E402
from tesla_lab.serve.loadtest import LoadTestResult, load_test  # noqa: E402
from tesla_lab.serve.server import background_server  # noqa: E402

from .conftest import make_frame  # noqa: E402


def test_load_test_sends_exactly_the_requested_count(tabular_dir):
    payload = {"rows": make_frame(1).to_dict("records")}
    with background_server(tabular_dir) as url:
        result = load_test(url, payload, requests=30, seconds=30, concurrency=3)
    assert result.requests == 30 and result.errors == 0 and result.status_counts == {200: 30}
    assert result.latencies_ms.shape == (30,)
    assert result.p50 <= result.p90 <= result.p99
    assert "30 requests (0 errors)" in result.summary()


def test_load_test_stops_at_the_time_limit(tabular_dir):
    with background_server(tabular_dir) as url:
        result = load_test(url, {"rows": make_frame(1).to_dict("records")}, requests=10**6, seconds=0.3,
                           concurrency=2)
    assert 0 < result.requests < 10**6
    assert result.seconds < 15


def test_refused_requests_and_dead_servers_count_as_errors(tabular_dir):
    with background_server(tabular_dir) as url:
        refused = load_test(url, {"rows": [{"a": 1}]}, requests=5, concurrency=1)
    assert refused.errors == 5 and refused.status_counts == {422: 5}
    dead = load_test(url, {"inputs": [[0]]}, requests=3, seconds=5, concurrency=1, timeout=1)
    assert dead.errors == 3 and dead.status_counts == {0: 3}


def test_result_statistics():
    result = LoadTestResult(requests=4, errors=1, seconds=2.0, concurrency=2, latencies_ms=np.array([1.0, 2, 3, 4]))
    assert result.requests_per_s == 2.0
    assert result.p50 == pytest.approx(2.5) and result.p99 == pytest.approx(3.97)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requests": 0}, "requests must be a positive integer; got 0"),
        ({"concurrency": -1}, "concurrency must be a positive integer; got -1"),
        ({"seconds": 0}, "seconds must be > 0; got 0"),
        ({"url": "ftp://x"}, r"url must be http://host:port of a running server; got 'ftp://x'"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    args = {"url": "http://127.0.0.1:1", "payload": {}, **kwargs}
    with pytest.raises(ConfigError, match=message):
        load_test(**args)
