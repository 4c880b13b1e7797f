"""Workbench widget: five tabs over one state; the Train button launches a background run that the monitor
follows from its polling thread."""

import time

from tesla_lab.store import Project
from tesla_lab.ui.widgets import Workbench


def test_tabs_share_one_state_and_a_bad_model_cannot_be_launched(tmp_path):
    bench = Workbench(Project.init(tmp_path), sample="iris")
    assert [bench.tabs.get_title(i) for i in range(5)] == ["Data", "Explore", "Model", "Train", "Runs"]
    bench.data.sample.value = "breast_cancer"
    bench.data.load_sample_button.click()
    assert bench.model.state.n_inputs == 30 and bench.explore.state.frame is bench.data.frame
    bench.model.controls["batch_size"].value = 0
    assert bench.launch_button.disabled
    assert bench.launch() is None and "batch_size must be an integer &gt;= 1" in bench.launch_status.value


def test_the_train_button_starts_a_run_the_monitor_follows(tmp_path):
    project = Project.init(tmp_path)
    bench = Workbench(project, sample="iris")
    bench.model.controls["epochs"].value = 2
    bench.model.controls["device"].value = "cpu"
    bench.launch_button.click()
    assert bench.tabs.selected_index == 3 and bench.state.train.active
    deadline = time.monotonic() + 120
    while bench.state.train.active and time.monotonic() < deadline:
        time.sleep(0.2)  # the monitor's thread polls the store
    bench.monitor._thread.join(timeout=30)
    assert bench.state.train.status == "finished", bench.state.train.job.log_tail()
    assert bench.monitor.progress.value == 100.0 and bench.monitor.curves.outputs
    assert "iris-tt" in bench.runs.table.value
