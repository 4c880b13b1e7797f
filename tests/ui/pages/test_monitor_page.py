"""The Monitor page without a browser: Refresh fills the indicators, drift bars and table from a real server."""

import json
import math
import urllib.request

import pytest
from sklearn.datasets import load_iris

from tesla_lab.store import Project
from tesla_lab.ui.app import PAGES, create_app
from tesla_lab.ui.pages.monitor import MonitorPage
from tesla_lab.ui.state.monitor import MonitorState

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tesla_lab.serve import background_server, export_registered  # noqa: E402
from tesla_lab.workflow import train_model  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    project = Project.init(tmp_path_factory.mktemp("monitor-page"))
    frame = load_iris(as_frame=True).frame
    train_model(project, {"dataset": "iris", "target": "target", "family": "logistic", "epochs": 5, "lr": 0.05},
                name="flowers", data=frame)
    info = export_registered(project, "flowers", formats=("torchscript",))
    return project, info.path, frame.drop(columns=["target"]).head(10)


def test_refresh_button_updates_indicators_plot_and_drift_table(served):
    project, export, rows = served
    page = MonitorPage(MonitorState(project))
    assert page.requests.value == 0 and math.isnan(page.p50.value) and not page.plot.visible
    with background_server(str(export)) as url:
        body = json.dumps({"rows": rows.to_dict("records")}).encode()
        for _ in range(3):
            urllib.request.urlopen(urllib.request.Request(f"{url}/predict", data=body, headers={
                "Content-Type": "application/json"}), timeout=10).read()
        page.url.value = url
        assert page.state.url == url
        page.refresh.clicks += 1
    assert page.requests.value >= 3 and page.errors.value == 0
    assert page.p50.value > 0 and page.p99.value >= page.p50.value
    assert page.plot.visible and page.plot.object is not None
    assert len(page.drift.value) == rows.shape[1] and page.status.alert_type == "success"
    page.tick(force=True)  # the server is gone now
    assert page.status.alert_type == "danger" and "no server answers" in page.status.object
    assert page.requests.value == 0 and not page.plot.visible


def test_periodic_tick_respects_the_auto_checkbox():
    page = MonitorPage(MonitorState(url="http://127.0.0.1:9"))
    page.auto.value = False
    page.tick()
    assert page.state.error == ""
    page.auto.value = True
    page.tick()
    assert "no server answers" in page.state.error
    page.stop_polling()  # nothing started: a no-op


def test_the_dashboard_has_a_monitor_tab(tmp_path):
    app = create_app(Project.init(tmp_path), sample=None)
    assert PAGES[-1] == "Monitor" and isinstance(app.pages["Monitor"], MonitorPage)
    assert app.pages["Monitor"].state.project is not None
