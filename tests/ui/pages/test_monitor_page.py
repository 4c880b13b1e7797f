"""The Monitor page without a browser: Refresh fills the indicators, drift bars and table from a real server."""

import json
import math
import urllib.request

import pandas as pd
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
    assert len(page.drift.value) == rows.shape[1] and not page.status.visible
    # 30 rows: drift is n/a, and the banner says why with the count (never a green banner)
    assert page.banner.alert_type == "info"
    assert "Drift n/a: fewer than 100 rows yet (30 so far)" in page.banner.object
    page.tick(force=True)  # the server is gone now: a neutral hint, not an error
    assert not page.status.visible and page.banner.alert_type == "secondary"
    assert "no model server answers at" in page.banner.object and "tesla serve -m NAME" in page.banner.object
    assert page.requests.value == 0 and not page.plot.visible


def test_periodic_tick_respects_the_auto_checkbox():
    page = MonitorPage(MonitorState(url="http://127.0.0.1:9"))
    page.auto.value = False
    page.tick()
    assert page.state.error == ""
    page.auto.value = True
    page.tick()
    assert page.state.error == "" and "no model server answers" in page.state.hint
    page.stop_polling()  # nothing started: a no-op


def test_drift_alerts_are_red_warnings_amber_and_only_all_clear_is_green():
    state = MonitorState(url="http://127.0.0.1:9")
    drift = pd.DataFrame({"feature": ["a", "b"], "psi": [0.4, 0.05], "status": ["alert", "ok"]})
    state.param.update(updated="12:00:00", requests=200, errors=0, drift=drift, drift_status="alert", drift_rows=200)
    kind, text = state.banner()
    assert kind == "danger" and text.startswith("Drift alert: a (PSI >= 0.25)")
    state.param.update(drift=drift.assign(status=["warn", "ok"]), drift_status="warn")
    assert state.banner()[0] == "warning" and state.banner()[1].startswith("Drift warning: a")
    state.param.update(drift=drift.assign(status=["ok", "ok"]), drift_status="ok")
    assert state.banner() == ("success", "No drift: every feature's PSI is below 0.1 over the last 200 rows. "
                                         "200 requests, 0 failed (updated 12:00:00)")
    state.errors = 3
    assert state.banner()[0] == "warning" and "3 of 200 requests failed" in state.banner()[1]
    state.param.update(errors=0, drift_status="n/a", drift_available=False)
    assert state.banner()[0] == "info" and "this export has no training profile" in state.banner()[1]


def test_production_models_refresh_when_promoted_or_exported(tmp_path):
    project = Project.init(tmp_path)
    page = MonitorPage(MonitorState(project))
    assert page.deployed.value.empty and not page.check_deployed()  # nothing changed: nothing re-shown
    assert page.deployed_note.object.startswith("No production model yet: promote a run's model in Runs")
    project.registry.register_model("flowers", artifact=b"weights", stage="production")
    assert page.check_deployed() and page.deployed.value[["name", "version", "exported"]].values.tolist() == [
        ["flowers", 1, "not yet"]]
    assert page.deployed_note.object.startswith("Serve one with the command shown")
    (tmp_path / "exports" / "flowers-v1").mkdir(parents=True)
    (tmp_path / "exports" / "flowers-v1" / "metadata.json").write_text("{}")  # what `tesla serve` writes
    assert page.check_deployed() and page.deployed.value["exported"].tolist() == ["yes"]
    assert not page.check_deployed()



def test_the_dashboard_has_a_monitor_tab(tmp_path):
    app = create_app(Project.init(tmp_path), sample=None)
    assert PAGES[-1] == "Monitor" and isinstance(app.pages["Monitor"], MonitorPage)
    assert app.pages["Monitor"].state.project is not None
