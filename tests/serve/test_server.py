"""The REST server: predictions, metadata, metrics, token auth, malformed requests (always 4xx), real HTTP."""

import json
import logging
import re
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from fastapi.testclient import TestClient  # noqa: E402

from tesla_lab.errors import ConfigError  # noqa: E402
from tesla_lab.serve.export import export_model  # noqa: E402
from tesla_lab.serve.predictor import load_exported  # noqa: E402
from tesla_lab.serve.server import ServerError, background_server, check_bind, create_app, serve  # noqa: E402

from .conftest import FEATURES, LABELS, make_frame  # noqa: E402

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def client(tabular_dir, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("logs") / "requests.jsonl"
    app = create_app(tabular_dir, log_path=log_path, max_rows=50, min_drift_samples=20, max_body_bytes=200_000)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def secured(tabular_dir):
    with TestClient(create_app(tabular_dir, token=TOKEN)) as c:
        yield c


def _rows(n, seed=0, shift=0.0):
    return make_frame(n, seed=seed, shift=shift).to_dict("records")


def test_predict_rows_returns_labels_and_probabilities(client, tabular_dir):
    rows = _rows(4, seed=11)
    r = client.post("/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["class_labels"] == LABELS and body["n"] == 4
    want = load_exported(tabular_dir).predict(rows)
    np.testing.assert_allclose(body["probabilities"], want["probabilities"], rtol=1e-6)
    assert body["predictions"] == want["predictions"]
    assert r.headers["x-request-id"]


def test_predict_inputs_in_feature_order(client):
    rows = _rows(3, seed=5)
    by_rows = client.post("/predict", json={"rows": rows}).json()
    by_inputs = client.post("/predict", json={"inputs": [[r[f] for f in FEATURES] for r in rows]}).json()
    assert by_inputs == by_rows


def test_health_and_metadata(client, tabular_export):
    assert client.get("/health").json()["status"] == "ok"
    meta = client.get("/metadata").json()
    assert meta["feature_names"] == FEATURES and meta == json.loads(json.dumps(tabular_export.metadata))


def test_metrics_count_requests_errors_and_latency(tabular_dir):
    with TestClient(create_app(tabular_dir)) as c:
        for _ in range(3):
            assert c.post("/predict", json={"rows": _rows(2)}).status_code == 200
        assert c.post("/predict", json={"rows": [{"a": 1}]}).status_code == 422
        m = c.get("/metrics").json()
    assert m["endpoints"]["/predict"] == {**m["endpoints"]["/predict"], "requests": 4, "errors": 1, "rows": 6}
    assert m["by_status"]["200"] == 3 and m["by_status"]["422"] == 1
    assert m["latency_ms"]["n"] == 4 and m["latency_ms"]["p50"] > 0
    assert m["latency_ms"]["p50"] <= m["latency_ms"]["p90"] <= m["latency_ms"]["p99"]


def test_metrics_report_drift_of_shifted_requests(tabular_dir):
    with TestClient(create_app(tabular_dir, min_drift_samples=100)) as c:
        assert c.post("/predict", json={"rows": _rows(50, seed=1)}).status_code == 200
        assert c.get("/metrics").json()["drift"]["status"] == "n/a"  # 50 < 100 rows: no verdict yet
        for seed in range(2, 8):
            assert c.post("/predict", json={"rows": _rows(50, seed=seed, shift=2.0)}).status_code == 200
        drift = c.get("/metrics").json()["drift"]
    by_name = {f["feature"]: f for f in drift["features"]}
    assert drift["n_recent"] == 350 and drift["status"] == "alert"
    assert by_name["a"]["status"] == "alert" and by_name["color"]["status"] == "ok"  # only numbers were shifted


def test_request_log_records_each_request(client):
    client.post("/predict", json={"rows": _rows(1)})
    client.post("/predict", content=b"{oops")
    records = client.app.state.monitor.log.read()
    assert records[-2]["status"] == 200 and records[-2]["endpoint"] == "/predict" and records[-2]["rows"] == 1
    assert records[-1]["status"] == 400 and "not valid JSON" in records[-1]["error"]


MALFORMED = [
    (b"", 422, "the request body is empty"),
    (b"{oops", 400, "not valid JSON"),
    (b"\xff\xfe\x00garbage", 400, "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "not valid JSON"),
    (b'{"inputs": [[NaN, 1, 2, 3, 4, "red"]]}', 422, "NaN is not a valid JSON number"),
    (b'{"inputs": [[Infinity, 1, 2, 3, 4, "red"]]}', 422, "Infinity is not a valid JSON number"),
    (b"[]", 422, "exactly one of 'rows'"),
    (b'"rows"', 422, "exactly one of 'rows'"),
    (b'{"rows": {}}', 422, "'rows' must be a list of objects"),
    (b'{"rows": []}', 422, "'rows' is empty"),
    (b'{"rows": [{"a": 1}]}', 422, r"missing feature\(s\)"),
    (b'{"rows": [{"zzz": 1}]}', 422, r"unknown feature\(s\) 'zzz'"),
    (b'{"inputs": [[1, 2, 3]]}', 422, r"must have shape \[6\]"),
    (b'{"inputs": [[1, 2, 3, 4, 5, "purple"]]}', 422, "preprocessing refused the input"),
    (b'{"inputs": [["x", 2, 3, 4, 5, "red"]]}', 422, "feature 'a' must be a number"),
    (b'{"inputs": [[1e308, 1e308, 1e308, 1e308, 1e308, "red"]]}', 422, "NaN/inf|the model produced NaN/inf"),
    (json.dumps({"inputs": [[1, 2, 3, 4, 5, "red"]] * 51}).encode(), 413, "at most 50 are accepted"),
    (b" " * 300_000, 413, "has 300000 bytes; at most 200000 bytes are accepted|exceeds 200000 bytes"),
]


@pytest.mark.parametrize(("body", "status", "message"), MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_requests_get_4xx_naming_the_problem(client, body, status, message):
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert re.search(message, r.json()["detail"]), r.json()["detail"]


def test_wrong_method_and_unknown_path_are_4xx(client):
    assert client.get("/predict").status_code == 405
    assert client.post("/nowhere", json={}).status_code == 404


_json = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(10**30), 10**30) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=6) | st.dictionaries(st.sampled_from([*FEATURES, "rows", "inputs", "x"]), c,
                                                         max_size=7),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=_json | st.fixed_dictionaries({"rows": _json}) | st.fixed_dictionaries({"inputs": _json}))
def test_fuzzed_json_bodies_never_get_5xx(client, payload):
    body = json.dumps(payload).encode()  # NaN/Infinity included: Python writes them as bare literals
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500, (payload, r.text)
    if r.status_code >= 400:
        assert r.json()["detail"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_fuzzed_bytes_never_get_5xx(client, body):
    r = client.post("/predict", content=body)
    assert 200 <= r.status_code < 500, r.text


def test_token_is_required_on_every_endpoint_but_health(secured):
    for probe in ("/health", "/v2/health/live", "/v2/health/ready"):  # liveness/readiness probes send no token
        assert secured.get(probe).status_code == 200, probe
    for method, path in [("get", "/metadata"), ("get", "/metrics"), ("post", "/predict"), ("get", "/docs"),
                         ("get", "/v2"), ("get", "/v2/models/tabular"), ("get", "/v2/models/tabular/ready"),
                         ("post", "/v2/models/tabular/infer"), ("get", "/v2/models/tabular/versions/1"),
                         ("post", "/v2/models/tabular/versions/1/infer"), ("get", "/v2/models/other")]:
        r = getattr(secured, method)(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
        body = r.json()
        assert "Authorization: Bearer <token>" in (body["error"] if path.startswith("/v2") else body["detail"])
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert secured.get("/v2/models/tabular", headers=auth).json()["name"] == "tabular"
    assert secured.post("/v2/models/tabular/infer", json={"inputs": []},
                        headers={**auth, "authorization": "Bearer wrong"}).status_code == 401


def test_wrong_tokens_are_refused(secured):
    wrong = ["Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer ", f"Bearer {TOKEN}x", "Bearer \u00e9".encode("latin-1")]
    for header in wrong:
        r = secured.post("/predict", json={"rows": _rows(1)}, headers={"authorization": header})
        assert r.status_code == 401, header


def test_right_token_is_accepted(secured):
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert secured.post("/predict", json={"rows": _rows(2)}, headers=auth).status_code == 200
    assert secured.get("/metrics", headers=auth).json()["by_status"]["401"] >= 1
    assert secured.get("/docs", headers=auth).status_code == 404  # interactive docs are off with a token


def test_binding_beyond_loopback_without_token_is_refused(tabular_dir):
    with pytest.raises(ConfigError, match="--host 0.0.0.0 requires --token"):
        serve(tabular_dir, host="0.0.0.0")
    with pytest.raises(ConfigError, match="--host 192.168.1.5 requires --token"):
        check_bind("192.168.1.5", None)
    with pytest.raises(ConfigError, match="--host example.org requires --token"):
        check_bind("example.org", None)
    check_bind("0.0.0.0", TOKEN)
    check_bind("::1", None)


def test_background_server_refuses_public_bind_of_an_app_without_token(tabular_dir):
    app = create_app(tabular_dir)
    with pytest.raises(ConfigError, match="--host 0.0.0.0 requires --token"), background_server(app, host="0.0.0.0"):
        pass


def test_bad_options_are_refused(tabular_dir):
    with pytest.raises(ConfigError, match="token must be a non-empty string without spaces"):
        create_app(tabular_dir, token="two words")
    with pytest.raises(ConfigError, match="port must be an integer in 0..65535; got 70000"):
        serve(tabular_dir, port=70000)


def test_real_http_round_trip_with_token(tabular_dir, tabular):
    _, pipe, _, model = tabular
    rows = _rows(3, seed=21)
    with background_server(tabular_dir, token=TOKEN) as url:
        assert urllib.request.urlopen(url + "/health", timeout=10).status == 200
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(url + "/metadata", timeout=10)
        assert denied.value.code == 401
        req = urllib.request.Request(url + "/predict", data=json.dumps({"rows": rows}).encode(), method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {TOKEN}"})
        body = json.loads(urllib.request.urlopen(req, timeout=10).read())
        bad = urllib.request.Request(url + "/predict", data=b'{"rows": [{"a": 1}]}', method="POST",
                                     headers={"authorization": f"Bearer {TOKEN}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=10)
        assert refused.value.code == 422 and "missing feature" in json.loads(refused.value.read())["detail"]
    x = torch.from_numpy(np.asarray(pipe.transform(make_frame(3, seed=21)), dtype=np.float32))
    with torch.no_grad():
        want = torch.softmax(model(x), dim=1).numpy()
    np.testing.assert_allclose(body["probabilities"], want, rtol=1e-4, atol=1e-6)


def test_concurrent_http_requests_each_get_their_own_answer(tabular_dir):
    exported = load_exported(tabular_dir)
    payloads = [_rows(1 + i % 4, seed=100 + i) for i in range(24)]
    want = [exported.predict(p)["probabilities"] for p in payloads]
    got: dict = {}
    with background_server(tabular_dir) as url:

        def post(i):
            req = urllib.request.Request(url + "/predict", data=json.dumps({"rows": payloads[i]}).encode(),
                                         headers={"content-type": "application/json"})
            got[i] = json.loads(urllib.request.urlopen(req, timeout=20).read())["probabilities"]

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(payloads))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for i, probs in enumerate(want):
        np.testing.assert_allclose(got[i], probs, rtol=1e-5, atol=1e-7)


def test_background_server_on_a_taken_port_fails_clearly(tabular_dir):
    with background_server(tabular_dir) as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(ServerError, match=f"cannot bind 127.0.0.1:{port}"), background_server(
            tabular_dir, port=port
        ):
            pass


def test_background_server_leaves_the_process_logging_handlers_open(tabular_dir, tmp_path):
    """uvicorn's default log config (logging.config.dictConfig) closes every handler of the process: a notebook's
    log file (mode 'w') stopped receiving records, and absl's handler (imported by TensorFlow/JAX/Keras) closed the
    stream it was created with, pytest's capture file when TensorFlow was imported during collection."""
    absl_logging = pytest.importorskip("absl.logging")
    logger = logging.getLogger("tesla-tests.user")
    file_handler = logging.FileHandler(tmp_path / "user.log", mode="w", encoding="utf-8")
    absl_stream = open(tmp_path / "absl.log", "w", encoding="utf-8")  # noqa: SIM115  (the stream absl was given)
    absl_handler = absl_logging.PythonHandler(absl_stream)
    logger.addHandler(file_handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("before")
        with background_server(tabular_dir) as url:
            assert urllib.request.urlopen(url + "/health", timeout=20).status == 200
        logger.info("after")
        file_handler.flush()
        assert (tmp_path / "user.log").read_text(encoding="utf-8").split() == ["before", "after"]
        assert not absl_stream.closed
    finally:
        logger.removeHandler(file_handler)
        file_handler.close()
        absl_handler.close()
        absl_stream.close()


def test_regression_server_answers_plain_values(tmp_path):
    torch.manual_seed(0)
    info = export_model(torch.nn.Linear(2, 1), torch.randn(3, 2), tmp_path / "m", task="regression",
                        formats=("torchscript",))
    with TestClient(create_app(info.path)) as c:
        body = c.post("/predict", json={"inputs": [[1.0, 2.0], [0.0, 0.0]]}).json()
    assert set(body) == {"predictions", "n"} and len(body["predictions"]) == 2


def test_a_bug_in_the_server_is_a_500_with_a_request_id_not_a_crash(tabular_dir, monkeypatch, caplog):
    app = create_app(tabular_dir)

    def broken(out):
        raise RuntimeError("bug in postprocess")

    monkeypatch.setattr(app.state.exported, "postprocess", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/predict", json={"rows": _rows(1)}, headers={"x-request-id": "abc-123"})
        assert r.status_code == 500 and r.json()["detail"] == "internal error (request id abc-123); see the server log"
        assert "bug in postprocess" in caplog.text
        assert c.get("/health").status_code == 200  # still serving
        assert c.get("/metrics").json()["by_status"]["500"] == 1


def test_client_request_ids_are_kept_only_when_plain(client):
    assert client.get("/health", headers={"x-request-id": "trace.42"}).headers["x-request-id"] == "trace.42"
    odd = client.get("/health", headers={"x-request-id": "a b<script>"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", odd)


def test_bad_torch_threads_are_refused(tabular_dir):
    with pytest.raises(ConfigError, match="torch_threads must be a positive integer or None; got 0"):
        serve(tabular_dir, torch_threads=0)
