"""Monitoring: PSI, reference profiles, the drift window, latency percentiles and the rotating request log."""

import json
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.serve.monitor import (
    PSI_ALERT,
    DriftMonitor,
    LatencyWindow,
    Monitor,
    RequestLog,
    bin_fractions,
    drift_status,
    psi,
    reference_profile,
)

_hist = st.lists(st.floats(0.01, 100.0), min_size=2, max_size=12)


@settings(max_examples=100, deadline=None)
@given(_hist)
def test_psi_of_a_distribution_with_itself_is_zero(p):
    assert psi(p, p) == pytest.approx(0.0, abs=1e-12)
    assert psi(p, [2 * v for v in p]) == pytest.approx(0.0, abs=1e-12)  # counts or fractions alike


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 12).flatmap(lambda k: st.tuples(*[st.lists(st.floats(0.0, 100.0), min_size=k, max_size=k)] * 2)))
def test_psi_is_symmetric_and_non_negative(pq):
    p, q = pq
    if sum(p) <= 0 or sum(q) <= 0:
        return
    assert psi(p, q) >= -1e-12
    assert psi(p, q) == pytest.approx(psi(q, p), rel=1e-9, abs=1e-12)


def test_psi_of_identical_samples_is_about_zero_and_of_shifted_ones_above_alert():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(20_000, 1))
    profile = reference_profile(train, ["x"])
    same = DriftMonitor(profile, window=10_000)
    same.update(rng.normal(size=(10_000, 1)))
    shifted = DriftMonitor(profile, window=10_000)
    shifted.update(rng.normal(loc=0.8, size=(10_000, 1)))
    assert same.report()["psi"][0] < 0.01
    assert shifted.report()["psi"][0] > PSI_ALERT
    assert shifted.report()["status"][0] == "alert"


def test_psi_of_mismatched_histograms_is_refused():
    with pytest.raises(DataError, match="same bins; got 2 and 3 bins"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="non-negative histograms with a positive total"):
        psi([0, 0], [1, 1])


def test_drift_status_thresholds():
    assert [drift_status(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == ["ok", "ok", "warn", "warn", "alert",
                                                                             "alert"]
    assert drift_status(float("nan")) == "n/a"


def test_reference_profile_bins_hold_equal_shares_of_continuous_data():
    x = np.random.default_rng(1).uniform(size=(10_000, 1))
    feature = reference_profile(x, bins=10)["features"][0]
    assert len(feature["edges"]) == 9 and len(feature["fractions"]) == 10
    np.testing.assert_allclose(feature["fractions"], 0.1, atol=1e-3)
    assert feature["min"] >= 0 and feature["max"] <= 1


def test_reference_profile_of_a_constant_or_discrete_feature():
    x = np.column_stack([np.full(100, 3.0), np.tile([0.0, 1.0], 50)])
    constant, binary = reference_profile(x, ["c", "b"])["features"]
    assert constant["edges"] == [3.0] and constant["fractions"] == [1.0, 0.0]
    assert bin_fractions(np.array([3.0, 4.0]), constant).tolist() == [0.5, 0.5]
    assert sum(binary["fractions"]) == pytest.approx(1.0)


def test_reference_profile_of_text_keeps_the_frequent_categories():
    frame = pd.DataFrame({"city": ["oslo"] * 6 + ["rome"] * 3 + ["lima"]})
    feature = reference_profile(frame, max_categories=2)["features"][0]
    assert feature["kind"] == "categorical" and feature["categories"] == ["oslo", "rome"]
    np.testing.assert_allclose(feature["fractions"], [0.6, 0.3, 0.1])
    np.testing.assert_allclose(bin_fractions(np.array(["oslo", "paris"], dtype=object), feature), [0.5, 0, 0.5])


def test_reference_profile_refusals():
    with pytest.raises(DataError, match=r"need a table \(samples, features\); got shape \(3,\)"):
        reference_profile(np.zeros(3))
    with pytest.raises(DataError, match="got 1 feature names for a table of 2 columns"):
        reference_profile(np.zeros((3, 2)), ["a"])
    with pytest.raises(DataError, match="feature '0' has no finite training values"):
        reference_profile(np.full((3, 1), np.nan))
    with pytest.raises(DataError, match="at least one training row"):
        reference_profile(np.zeros((0, 2)))
    with pytest.raises(ConfigError, match="bins must be a positive integer; got 0"):
        reference_profile(np.zeros((3, 1)), bins=0)


def test_text_sent_for_a_numeric_feature_is_refused():
    feature = reference_profile(np.arange(10.0).reshape(-1, 1))["features"][0]
    with pytest.raises(DataError, match="was numeric in the training data but got text"):
        bin_fractions(np.array(["a"], dtype=object), feature)


def test_drift_window_keeps_only_the_newest_rows():
    rng = np.random.default_rng(2)
    profile = reference_profile(rng.normal(size=(5000, 1)), ["x"])
    drift = DriftMonitor(profile, window=1000, min_samples=100)
    drift.update(rng.normal(loc=3.0, size=(1500, 1)))  # a burst of shifted rows ...
    assert drift.report()["status"][0] == "alert"
    for _ in range(4):  # ... pushed out by normal ones, a few at a time
        drift.update(rng.normal(size=(300, 1)))
    assert drift.n_recent == 1000
    assert drift.report()["status"][0] == "ok"


def test_drift_needs_enough_recent_rows():
    profile = reference_profile(np.random.default_rng(0).normal(size=(500, 2)), ["a", "b"])
    drift = DriftMonitor(profile, min_samples=50)
    drift.update(pd.DataFrame({"b": [0.0] * 10, "a": [1.0] * 10}))
    report = drift.report()
    assert report["status"].tolist() == ["n/a", "n/a"] and report["n"].tolist() == [10, 10]
    drift.reset()
    assert drift.n_recent == 0


def test_drift_update_refusals():
    drift = DriftMonitor(reference_profile(np.zeros((5, 2)), ["a", "b"]))
    with pytest.raises(DataError, match=r"missing feature\(s\) 'b'"):
        drift.update(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(DataError, match=r"needs rows of 2 features; got shape \(1, 3\)"):
        drift.update(np.zeros((1, 3)))
    with pytest.raises(ConfigError, match="window must be a positive integer; got 0"):
        DriftMonitor({"features": []}, window=0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60), st.integers(1, 50))
def test_latency_percentiles_match_numpy_on_the_window(values, size):
    window = LatencyWindow(size=size)
    for v in values:
        window.add(v)
    kept = np.asarray(values[-size:]) * 1000.0
    got = window.percentiles()
    assert got["n"] == len(kept)
    for q in (50, 90, 99):
        assert got[f"p{q}"] == pytest.approx(np.percentile(kept, q), abs=1e-3)
    assert got["mean"] == pytest.approx(kept.mean(), abs=1e-3)


def test_latency_of_an_empty_window_is_none():
    assert LatencyWindow().percentiles() == {"p50": None, "p90": None, "p99": None, "mean": None, "n": 0}


def test_request_log_rotates_by_size(tmp_path):
    log = RequestLog(tmp_path / "req.jsonl", max_bytes=400, backups=2)
    for i in range(40):
        log.write({"i": i, "status": 200})
    files = log.files()
    assert [p.name for p in files] == ["req.jsonl.2", "req.jsonl.1", "req.jsonl"]
    assert all(p.stat().st_size <= 400 for p in files)
    records = log.read()
    assert [r["i"] for r in records] == list(range(40 - len(records), 40))  # the newest, in order
    assert all("ts" in r for r in records)


def test_request_log_is_safe_with_concurrent_writers(tmp_path):
    log = RequestLog(tmp_path / "req.jsonl", max_bytes=10**7)

    def work(t):
        for i in range(200):
            log.write({"thread": t, "i": i, "pad": "x" * 50})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    lines = (tmp_path / "req.jsonl").read_text().splitlines()
    assert len(lines) == 1600
    records = [json.loads(line) for line in lines]  # every line whole
    assert sorted((r["thread"], r["i"]) for r in records) == [(t, i) for t in range(8) for i in range(200)]


def test_request_log_refuses_non_finite_numbers_and_bad_options(tmp_path):
    log = RequestLog(tmp_path / "req.jsonl")
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        log.write({"latency": float("nan")})
    with pytest.raises(ConfigError, match="backups must be an integer >= 0; got -1"):
        RequestLog(tmp_path / "other.jsonl", backups=-1)


def test_monitor_counts_requests_errors_and_latency(tmp_path):
    profile = reference_profile(np.random.default_rng(0).normal(size=(300, 1)), ["x"])
    monitor = Monitor(profile, log_path=tmp_path / "req.jsonl", min_drift_samples=1)
    monitor.record("/predict", 200, 0.010, rows=2, features=np.zeros((2, 1)))
    monitor.record("/predict", 422, 0.002, error="bad row")
    monitor.record("/health", 200, 0.001)
    snap = monitor.snapshot()
    assert (snap["requests"], snap["errors"]) == (3, 1)
    assert snap["by_status"] == {"200": 2, "422": 1}
    assert snap["latency_ms"]["n"] == 2 and snap["latency_ms"]["p50"] == pytest.approx(6.0)
    assert snap["endpoints"]["/predict"]["rows"] == 2
    assert snap["drift"]["n_recent"] == 2 and snap["drift"]["features"][0]["feature"] == "x"
    json.dumps(snap, allow_nan=False)  # the /metrics body is strict JSON
    logged = monitor.log.read()
    assert [r["status"] for r in logged] == [200, 422, 200] and logged[1]["error"] == "bad row"
    monitor.close()


def test_monitor_without_profile_reports_no_drift():
    snap = Monitor().snapshot()
    assert snap["drift"] == {"available": False} and snap["latency_ms"]["n"] == 0
    assert Monitor().drift_report().empty
