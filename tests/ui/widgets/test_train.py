"""TrainingMonitor widget: progress, curves and buttons follow a run in the store."""

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.ui.widgets import TrainingMonitor


def test_a_running_run_shows_progress_curves_and_a_working_stop_button(tmp_path):
    project = Project.init(tmp_path)
    run = project.start_run(name="live", config={"epochs": 4})
    monitor = TrainingMonitor(run, project=project, autopoll=False)
    assert monitor.curves.outputs == () and not monitor.stop_button.disabled
    run.log_metrics({"loss": 1.0, "accuracy": 0.5, "samples_per_sec": 2000.0}, step=0)
    assert monitor.poll() is True
    assert monitor.progress.value == 25.0 and "2,000 samples/s" in monitor.info.value
    assert "live: running" in monitor.curves.outputs[0]["data"]["text/plain"]
    monitor.stop_button.click()  # a run trained in this process is only flagged, never signalled
    assert run.stop_requested() and monitor.stop_button.disabled and "stopping" in monitor.info.value
    run.finish("stopped")
    assert monitor.poll() is False
    assert monitor.progress.bar_style == "warning" and not monitor.resume_button.disabled
    done = project.start_run(name="done", config={"epochs": 4})
    done.finish()
    monitor.state.watch(done.id)
    assert monitor.resume_button.disabled  # a finished run has nothing left to train


def test_a_failed_run_shows_its_error_text(tmp_path):
    project = Project.init(tmp_path)
    run = project.start_run(name="broken")
    run.finish("failed", error="Traceback ...\nValueError: <bad> value")
    monitor = TrainingMonitor(run.id, project=project)
    assert "ValueError: &lt;bad&gt; value" in monitor.run_error.value
    assert monitor.progress.bar_style == "danger" and monitor.stop_button.disabled


def test_a_monitor_needs_a_project():
    with pytest.raises(ConfigError, match="TrainingMonitor needs a project"):
        TrainingMonitor("abc")
