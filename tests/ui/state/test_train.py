"""TrainState and WorkbenchState with real background workers: a run followed to the end, a run that crashes in
its worker (the error shows, the workbench keeps working), stop / resume guards."""

import time

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.ui.state import TrainState, WorkbenchState


def _follow(state, timeout=120.0):
    deadline = time.monotonic() + timeout
    while state.poll() and time.monotonic() < deadline:
        time.sleep(0.2)
    return state.status


@pytest.fixture(scope="module")
def benches(tmp_path_factory):
    """Two workbenches on one project, launched together: one trains iris, one asks for a GPU that is not there."""
    project = Project.init(tmp_path_factory.mktemp("bench"))
    good = WorkbenchState(project, sample="iris")
    good.model.param.update(epochs=3, device="cpu", model_name="iris-tt", checkpoint_every=1)
    bad = WorkbenchState(project, sample="iris")
    bad.model.param.update(epochs=2, device="cuda:7", model_name="iris-gpu")
    assert good.launch() is not None and bad.launch() is not None, (good.error, bad.error)
    assert good.train.status in ("queued", "running") and good.train.active
    return project, good, bad, _follow(good.train), _follow(bad.train)


def test_a_launched_run_is_followed_to_the_end(benches):
    project, good, _, status, _ = benches
    train = good.train
    assert status == "finished", train.job.log_tail()
    assert train.progress == 100.0 and train.epoch == train.epochs == 3
    assert train.device == "cpu" and train.throughput > 0
    assert set(train.curves()["key"]) >= {"loss", "accuracy"}
    assert train.figure() is not None and "finished" in train.status_text()
    assert good.runs.table["name"].tolist().count("iris-tt") == 1  # the Runs page was refreshed when it ended
    assert train.can_resume()


def test_a_crash_in_the_worker_shows_its_error_and_the_workbench_keeps_working(benches):
    _, _, bad, _, status = benches
    assert status == "failed"
    assert "device 'cuda:7' asked for but CUDA is not available" in bad.train.run_error
    assert not bad.train.active
    bad.data.load_sample("wine")  # still responsive
    assert bad.data.frame.shape == (178, 14) and bad.model.n_outputs == 3


def test_resume_continues_the_finished_run(benches):
    _, good, _, _, _ = benches
    parent = good.train.run_id
    good.model.epochs = 5
    assert good.train.resume(epochs=5) is not None, good.train.error
    assert _follow(good.train) == "finished", good.train.run_error
    assert good.train.run_id != parent and good.train.epoch == 5
    assert good.train.curves()["step"].min() == 3  # epochs 3 and 4 continue the curve


def test_guards_say_why_an_action_is_not_possible(tmp_path):
    project = Project.init(tmp_path)
    state = TrainState(project)
    assert state.stop() is None and "no run is active; there is nothing to stop" in state.error
    assert state.resume() is None and "no run to resume" in state.error
    assert state.poll() is False and state.figure() is None and state.status_text() == "no run yet"
    run = project.start_run(name="busy")
    state.watch(run.id)
    assert state.active and state.resume() is None and "can be resumed once it ended" in state.error
    assert state.launch({"dataset": "iris"}) is None and "is still running; stop it" in state.error
    state.watch("nope")
    assert "no run with id, id prefix or name 'nope'" in state.error
    with pytest.raises(ConfigError, match="TrainState needs a tesla_lab.store.Project; got str"):
        TrainState("here")
    with pytest.raises(ConfigError, match="the workbench needs a tesla_lab.store.Project; got NoneType"):
        WorkbenchState(None)


def test_the_workbench_refuses_to_launch_bad_data_or_models(tmp_path):
    bench = WorkbenchState(Project.init(tmp_path), sample="iris")
    bench.data.features = []
    assert bench.launch() is None and "choose at least one feature column" in bench.error
    bench.data.features = list(bench.data.param.features.objects[:4])
    bench.model.batch_size = 0
    assert bench.launch() is None and "batch_size must be an integer >= 1" in bench.error
    assert bench.project.runs().empty


def test_a_new_workbench_follows_the_run_already_in_progress(tmp_path):
    project = Project.init(tmp_path)
    run = project.start_run(name="earlier-session", config={"epochs": 4})
    bench = WorkbenchState(project, sample=None)
    assert bench.train.run_id == run.id and bench.train.active
