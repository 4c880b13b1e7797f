"""The workbench state kept server-side in .tesla/ui.json: a reload (a new WorkbenchState on the project) finds the
data, target, features, model and followed run as they were."""

import json

from tesla_lab.store import Project
from tesla_lab.ui.state import WorkbenchState, load_ui_state


def test_a_new_session_restores_data_target_model_and_run(tmp_path):
    project = Project.init(tmp_path)
    bench = WorkbenchState(project, sample="iris", persist=True)
    bench.data.target = "petal width (cm)"
    bench.data.features = ["sepal length (cm)", "sepal width (cm)"]
    bench.model.param.update(epochs=7, batch_size=16, model_name="my-model")
    bench.model.update_layer(0, units=12)
    run = project.start_run(name="earlier", config={"epochs": 3})
    run.finish("stopped")
    bench.train.watch(run.id)
    saved = json.loads((tmp_path / ".tesla" / "ui.json").read_text())
    assert saved["data"]["origin"] == "sample:iris" and saved["run_id"] == run.id

    again = WorkbenchState(project, sample="digits", persist=True)  # the browser reloaded
    assert again.data.origin == "sample:iris" and again.data.target == "petal width (cm)"
    assert again.data.features == ["sepal length (cm)", "sepal width (cm)"]
    assert (again.model.epochs, again.model.batch_size, again.model.model_name) == (7, 16, "my-model")
    assert again.model.layers[0]["units"] == 12 and again.model.n_inputs == 2
    assert again.train.run_id == run.id and again.train.status == "stopped" and again.train.can_resume()


def test_a_stored_dataset_version_is_reloaded_and_a_live_run_wins_over_the_saved_one(tmp_path):
    project = Project.init(tmp_path)
    bench = WorkbenchState(project, sample="wine", persist=True)
    version = bench.data.snapshot(name="wine-clean")
    assert version is not None, bench.data.error
    old = project.start_run(name="old")
    old.finish()
    bench.train.watch(old.id)
    live = project.start_run(name="live")
    again = WorkbenchState(project, persist=True)
    assert (again.data.dataset_name, again.data.dataset_version) == ("wine-clean", version.version)
    assert again.train.run_id == live.id  # a run in progress is what Train shows


def test_without_persist_nothing_is_written_and_a_broken_file_is_ignored(tmp_path):
    project = Project.init(tmp_path)
    WorkbenchState(project, sample="iris").model.epochs = 9
    assert not (tmp_path / ".tesla" / "ui.json").exists()
    (tmp_path / ".tesla" / "ui.json").write_text("{not json")
    assert load_ui_state(project) == {}
    bench = WorkbenchState(project, sample="iris", persist=True)
    assert bench.data.origin == "sample:iris" and not bench.error
    assert load_ui_state(project)["data"]["origin"] == "sample:iris"  # rewritten whole
