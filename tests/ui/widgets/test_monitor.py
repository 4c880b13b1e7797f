"""tesla.ui.Monitor: the notebook widget shows a real server's metrics and readable errors."""

import json
import urllib.request

import pytest
from sklearn.datasets import load_iris

import tesla_lab.ui as ui
from tesla_lab.store import Project
from tesla_lab.ui.widgets.monitor import Monitor

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tesla_lab.serve import background_server, export_registered  # noqa: E402
from tesla_lab.workflow import train_model  # noqa: E402


def test_monitor_widget_refreshes_from_a_server_and_lists_production_models(tmp_path):
    project = Project.init(tmp_path)
    frame = load_iris(as_frame=True).frame
    train_model(project, {"dataset": "iris", "target": "target", "family": "logistic", "epochs": 5, "lr": 0.05},
                name="flowers", data=frame)
    export = export_registered(project, "flowers", formats=("torchscript",)).path
    version = int(project.registry.list_models()["version"].max())
    project.registry.set_stage("flowers", version, "production")
    body = json.dumps({"rows": frame.drop(columns=["target"]).head(5).to_dict("records")}).encode()
    with background_server(str(export)) as url:
        urllib.request.urlopen(urllib.request.Request(f"{url}/predict", data=body, headers={
            "Content-Type": "application/json"}), timeout=10).read()
        monitor = ui.Monitor(url=url, project=project)
        monitor.refresh_button.click()
    assert isinstance(monitor, Monitor) and int(monitor.requests.value) >= 1 and monitor.p50.value.endswith(" ms")
    assert "petal length (cm)" in monitor.drift.value and monitor.plot.outputs
    assert "tesla serve -m flowers" in monitor.deployed.value and "tesla-banner" in monitor.status.value
    monitor.url.value = "http://127.0.0.1:9"
    monitor.refresh_button.click()
    assert "no model server answers" in monitor.status.value and "tesla-secondary" in monitor.status.value
    assert monitor.requests.value == "0"
    monitor.close()


def test_auto_refresh_runs_in_a_thread_until_stopped():
    monitor = Monitor(url="http://127.0.0.1:9", auto=True, period_s=0.05)
    monitor._thread.join(0.01)
    monitor.stop()
    monitor._thread.join(5)
    assert not monitor._thread.is_alive() and "no model server answers" in monitor.state.hint
