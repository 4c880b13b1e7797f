"""The Open Inference Protocol (KServe V2) beside /predict: health, metadata, infer with hand-built requests (through
the app and over real HTTP on 127.0.0.1, for a torch TT model and a scikit-learn model), errors as {"error"}, the
body and row limits."""

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
requests = pytest.importorskip("requests")
from fastapi.testclient import TestClient  # noqa: E402

from tesla_lab.serve import background_server, create_app, export_registered, load_exported  # noqa: E402
from tesla_lab.store import Project  # noqa: E402
from tesla_lab.workflow import load_registered, train_model  # noqa: E402

from .conftest import FEATURES, LABELS, make_frame  # noqa: E402


def _feature_tensors(df):
    """One V2 tensor per feature, as a client builds them by hand (BYTES for the text column)."""
    return [{"name": name, "shape": [len(df)], "datatype": "BYTES" if name == "color" else "FP64",
             "data": df[name].tolist()} for name in FEATURES]


@pytest.fixture(scope="module")
def client(tabular_dir):
    with TestClient(create_app(tabular_dir, max_rows=8, max_body_bytes=60_000)) as c:
        yield c


def test_health_and_server_metadata(client):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2/models/tabular/ready").json() == {"name": "tabular", "ready": True}
    assert client.get("/v2").json()["name"] == "tesla-lab"


def test_model_metadata_names_inputs_and_outputs_with_datatype_and_shape(client):
    meta = client.get("/v2/models/tabular").json()
    assert meta["name"] == "tabular" and meta["platform"] == "pytorch_torchscript"
    assert meta["inputs"] == [{"name": n, "datatype": "BYTES" if n == "color" else "FP32", "shape": [-1]}
                              for n in FEATURES]
    assert meta["outputs"] == [{"name": "predictions", "datatype": "BYTES", "shape": [-1]},
                               {"name": "probabilities", "datatype": "FP64", "shape": [-1, 3]}]
    assert meta["parameters"]["class_labels"] == LABELS
    assert client.get("/v2/models/other").status_code == 404
    assert client.get("/v2/models/other").json() == {
        "error": "unknown model 'other'; this server serves 'tabular' (GET /v2/models/tabular)"}


def test_infer_answers_like_predict(client):
    df = make_frame(5, seed=3)
    body = {"id": "req-1", "inputs": _feature_tensors(df)}
    r = client.post("/v2/models/tabular/infer", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    want = client.post("/predict", json={"rows": df.to_dict("records")}).json()
    assert answer["model_name"] == "tabular" and answer["id"] == "req-1"
    preds, probs = answer["outputs"]
    assert preds == {"name": "predictions", "datatype": "BYTES", "shape": [5], "data": want["predictions"]}
    assert probs["shape"] == [5, 3] and probs["parameters"] == {"class_labels": LABELS}
    np.testing.assert_allclose(np.reshape(probs["data"], (5, 3)), want["probabilities"], rtol=1e-6, atol=1e-7)
    only = client.post("/v2/models/tabular/infer", json={**body, "outputs": [{"name": "probabilities"}]}).json()
    assert [o["name"] for o in only["outputs"]] == ["probabilities"]


@pytest.mark.parametrize(("change", "status", "message"), [
    (lambda b: b["inputs"][0].update(datatype="FP99"), 400, "datatype 'FP99' is not supported"),
    (lambda b: b["inputs"][0].update(data=[1.0]), 400, "has shape [3] (3 values) but data holds 1"),
    (lambda b: b["inputs"].pop(), 400, "missing: color"),
    (lambda b: b["inputs"][0].update(data=["x", "y", "z"]), 400, "is FP64, so data must hold numbers"),
    (lambda b: b.update(outputs=[{"name": "scores"}]), 400, "unknown output(s) scores; this model has: predictions"),
    (lambda b: b.update(inputs=[]), 400, "'inputs' must be a non-empty list"),
    (lambda b: [t.update(shape=[9], data=t["data"] * 3) for t in b["inputs"]], 413,
     "the request has 9 rows but at most 8 are accepted"),
])
def test_bad_requests_get_an_error_naming_the_problem(client, change, status, message):
    body = {"inputs": _feature_tensors(make_frame(3, seed=4))}
    change(body)
    r = client.post("/v2/models/tabular/infer", json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_body_cap_applies_before_decoding_and_bad_json_is_400(client):
    r = client.post("/v2/models/tabular/infer", content=b"[" * 70_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "at most 60000 bytes are accepted" in r.json()["error"]
    r = client.post("/v2/models/tabular/infer", content=b'{"inputs": [', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    assert client.post("/v2/models/other/infer", json={"inputs": []}).status_code == 404


def _post(url, body):
    return requests.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=20)


def test_real_http_v2_request_for_a_torch_tt_model(tabular_dir, tabular):
    _, pipe, _, model = tabular
    import torch

    df = make_frame(4, seed=9)
    with background_server(tabular_dir) as url:
        assert requests.get(f"{url}/v2/health/ready", timeout=10).json() == {"ready": True}
        r = _post(f"{url}/v2/models/tabular/infer", {"inputs": _feature_tensors(df)})
    assert r.status_code == 200, r.text
    probs = r.json()["outputs"][1]
    with torch.no_grad():
        want = torch.softmax(model(torch.from_numpy(np.asarray(pipe.transform(df), dtype=np.float32))), 1).numpy()
    np.testing.assert_allclose(np.reshape(probs["data"], probs["shape"]), want, rtol=1e-4, atol=1e-6)


def test_real_http_v2_request_for_a_scikit_learn_model(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x1": rng.normal(size=90), "x2": rng.normal(size=90)})
    df["y"] = np.where(df.x1 + df.x2 > 0, "yes", "no")
    proj = Project.init(tmp_path / "p")
    train_model(proj, {"framework": "scikit-learn", "family": "sklearn:random_forest", "target": "y", "seed": 0,
                       "model": {"n_estimators": 10}}, name="rf", data=df, progress=False)
    info = export_registered(proj, "rf")
    rows = pd.DataFrame({"x1": [0.5, -1.0, 2.0], "x2": [0.1, -0.3, -2.5]})
    flat = rows.to_numpy().ravel().tolist()  # row-major
    body = {"inputs": [{"name": "input", "shape": [3, 2], "datatype": "FP32", "data": flat}]}
    with background_server(info.path) as url:
        meta = requests.get(f"{url}/v2/models/rf", timeout=10).json()
        r = _post(f"{url}/v2/models/rf/versions/1/infer", body)
        wrong_version = _post(f"{url}/v2/models/rf/versions/7/infer", body)
    assert meta["platform"] == "onnxruntime_onnx" and meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 2]}]
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["model_name"] == "rf" and answer["model_version"] == "1"
    preds, probs = answer["outputs"]
    bundle = load_registered(proj, "rf")
    assert preds["data"] == bundle.predict(rows).tolist()  # exact labels
    est = bundle.estimator.estimator_
    np.testing.assert_allclose(np.reshape(probs["data"], (3, 2)), est.predict_proba(bundle.transform(rows)), atol=1e-5)
    assert wrong_version.status_code == 404 and "has no version '7'" in wrong_version.json()["error"]
    assert load_exported(info.path).metadata["runtime"] == "onnx"
