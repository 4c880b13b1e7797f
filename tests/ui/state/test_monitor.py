"""MonitorState against a real model server: counts, latency and drift from GET /metrics; readable errors."""

import json
import urllib.request

import pandas as pd
import pytest
from sklearn.datasets import load_iris

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.ui.state.monitor import LATENCY_KEYS, MonitorState

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tesla_lab.serve import background_server, export_registered  # noqa: E402
from tesla_lab.workflow import train_model  # noqa: E402

TOKEN = "a-long-enough-test-token-123456"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny iris model trained, exported and registered; returns (project, export dir, request rows)."""
    project = Project.init(tmp_path_factory.mktemp("monitor"))
    frame = load_iris(as_frame=True).frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    train_model(project, {"dataset": "iris", "target": "target", "family": "logistic", "epochs": 5, "lr": 0.05},
                name="flowers", data=frame)
    info = export_registered(project, "flowers", formats=("torchscript",))
    rows = frame.drop(columns=["target"]).head(20)
    return project, info.path, rows


def predict(url, rows, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{url}/predict", data=json.dumps({"rows": rows.to_dict("records")}).encode(),
                                 headers=headers)
    urllib.request.urlopen(req, timeout=10).read()


def test_refresh_reads_counts_latency_and_one_drift_row_per_feature(served):
    _, export, rows = served
    shifted = rows.copy()
    shifted["petal length (cm)"] += 5.0  # far outside the training range: drifts
    with background_server(str(export)) as url:
        for _ in range(3):
            predict(url, rows)
            predict(url, shifted)
        state = MonitorState(url=url)
        data = state.refresh()
    assert state.error == "" and data is not None
    assert state.requests >= 6 and state.errors == 0
    assert set(state.latency) == set(LATENCY_KEYS) and all(v is not None and v > 0 for v in state.latency.values())
    assert list(state.drift.columns) == ["feature", "psi", "status"]
    assert sorted(state.drift["feature"]) == sorted(rows.columns)
    petal = state.drift.set_index("feature").loc["petal length (cm)"]
    assert petal["status"] in ("warn", "alert") and petal["psi"] > 0.1
    assert state.figure() is not None and state.message == ""  # the banner says what the numbers mean
    assert state.banner()[0] in ("danger", "warning") and "petal length (cm)" in state.banner()[1]


def test_no_server_gives_a_neutral_hint_and_clears_the_numbers(served):
    _, export, rows = served
    with background_server(str(export)) as url:
        predict(url, rows)
        state = MonitorState(url=url)
        state.refresh()
        assert state.requests >= 1
    assert state.refresh() is None  # the server is gone: no exception
    assert state.error == "" and state.hint.startswith(f"no model server answers at {state.url} yet")
    assert "tesla serve -m NAME" in state.hint and state.banner() == ("secondary", state.hint)
    assert state.requests == 0 and state.drift.empty and state.latency["p50"] is None


def test_token_required_shows_the_401_message_and_a_token_fixes_it(served):
    _, export, rows = served
    with background_server(str(export), token=TOKEN) as url:
        predict(url, rows, token=TOKEN)
        state = MonitorState(url=url)
        assert state.refresh() is None
        assert "401 Unauthorized" in state.error and "missing or wrong token" in state.error
        assert "set the server's token" in state.error
        state.token = "wrong-token-wrong-token-wrong"
        state.refresh()
        assert "401" in state.error and "check it" in state.error
        state.token = TOKEN
        state.refresh()
    assert state.error == "" and state.requests >= 1


def test_a_url_without_http_is_refused_with_an_example():
    state = MonitorState(url="127.0.0.1:8000")
    assert state.refresh() is None
    assert "must start with http:// or https://" in state.error and "'127.0.0.1:8000'" in state.error


def test_a_project_that_is_not_one_is_refused():
    with pytest.raises(ConfigError, match="needs a tesla_lab.store.Project or None; got str"):
        MonitorState("not a project")


def test_deployed_lists_production_models_with_their_export_folder_and_command(served):
    project, export, _ = served
    assert MonitorState().deployed().empty
    assert MonitorState(project).deployed().empty  # registered, not yet in production
    version = int(project.registry.list_models()["version"].max())
    project.registry.set_stage("flowers", version, "production")
    table = MonitorState(project).deployed()
    assert table.to_dict("records") == [{
        "name": "flowers", "version": version, "run_id": table["run_id"][0], "export_dir": str(export),
        "exported": True, "command": "tesla serve -m flowers"}]



def test_before_any_refresh_the_drift_frame_is_empty_with_its_columns_and_no_figure():
    state = MonitorState()
    assert isinstance(state.drift, pd.DataFrame) and list(state.drift.columns) == ["feature", "psi", "status"]
    assert state.drift.empty and state.figure() is None and state.latency == dict.fromkeys(LATENCY_KEYS)
