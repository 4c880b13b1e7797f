"""`tesla deploy --export` and `--serve` for every framework `tesla train -f` accepts: trained on iris through the
CLI, exported, served by real uvicorn on 127.0.0.1 and asked over /predict and the V2 infer route."""

import json
import urllib.request

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import tesla_lab.serve  # noqa: E402
from tesla_lab.data import load_sample  # noqa: E402
from tesla_lab.models.registry import FRAMEWORK_CHOICES  # noqa: E402
from tesla_lab.serve import background_server  # noqa: E402
from tesla_lab.store import Project  # noqa: E402
from tesla_lab.workflow import load_registered  # noqa: E402


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=20).read())


@pytest.mark.parametrize("framework", list(FRAMEWORK_CHOICES))
def test_deploy_export_and_serve_work_for_every_training_framework(framework, tmp_path, tesla, monkeypatch):
    monkeypatch.delenv("TESLA_SERVE_TOKEN", raising=False)
    root = tmp_path / "p"
    assert tesla("init", root)[0] == 0
    code, out, err = tesla("--project", root, "train", "-m", "m", "-f", framework, "-d", "iris", "-p", "3", "-q")
    assert code == 0, err
    code, out, err = tesla("--project", root, "deploy", "-m", "m", "-p", "staging", "--export")
    assert code == 0, err
    assert out.splitlines()[0] == "m v1 → staging"
    assert f"exported m to {root / 'exports' / 'm-v1'}" in out
    frame, _ = load_sample("iris")
    bundle = load_registered(Project(root), "m")
    rows = frame[bundle.features].iloc[::15]  # 10 rows, every class
    answers = {}

    def serve_and_ask(path, host, port, token):  # what the CLI starts, run in the background and asked over HTTP
        with background_server(path, host=host, token=token) as url:
            answers["predict"] = _post(f"{url}/predict", {"rows": rows.to_dict("records")})
            tensor = {"name": "input", "shape": list(rows.shape), "datatype": "FP64",
                      "data": rows.to_numpy().ravel().tolist()}
            answers["v2"] = _post(f"{url}/v2/models/m/infer", {"inputs": [tensor]})

    monkeypatch.setattr(tesla_lab.serve, "serve", serve_and_ask)
    code, out, err = tesla("--project", root, "deploy", "-m", "m", "-p", "production", "--serve", "--port", "0")
    assert code == 0, err
    assert "POST /v2/models/m/infer" in out
    assert Project(root).registry.get_model("m", stage="production").version == 1
    want = bundle.predict(rows).tolist()
    assert answers["predict"]["predictions"] == want
    preds, probs = answers["v2"]["outputs"]
    assert preds["data"] == want
    np.testing.assert_allclose(np.reshape(probs["data"], probs["shape"]), bundle.predict_proba(rows),
                               rtol=1e-4, atol=1e-5)
