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
    assert not train.can_resume()  # finished: nothing left to train


def test_a_crash_in_the_worker_shows_its_error_and_the_workbench_keeps_working(benches):
    _, _, bad, _, status = benches
    assert status == "failed"
    assert "device 'cuda:7' asked for but CUDA is not available" in bad.train.run_error
    assert bad.train.can_resume()  # e.g. after fixing what made it fail
    assert not bad.train.active
    bad.data.load_sample("wine")  # still responsive
    assert bad.data.frame.shape == (178, 14) and bad.model.n_outputs == 3


def test_resume_is_refused_for_a_finished_run_and_registers_nothing_new(benches):
    project, good, _, _, _ = benches
    versions = len(project.registry.list_models())
    assert good.train.resume(epochs=5) is None
    assert "is finished; it trained all its epochs" in good.train.error
    assert len(project.registry.list_models()) == versions and good.train.status == "finished"


def test_stop_answers_at_once_and_resume_continues_the_same_run(tmp_path):
    project = Project.init(tmp_path)
    state = TrainState(project)
    config = {"dataset": "iris", "epochs": 5000, "device": "cpu", "batch_size": 16, "checkpoint_every": 1000}
    assert state.launch(config, name="long") is not None, state.error
    deadline = time.monotonic() + 90
    while state.poll() and state.epoch < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state.status == "running" and state.epoch >= 2, state.job.log_tail()
    t0 = time.perf_counter()
    state.stop()
    assert time.perf_counter() - t0 < 1.0 and state.stopping and not state.error
    assert "the current epoch ends early (within 50 steps), then it is logged and checkpointed" in state.message
    assert _follow(state) == "stopped" and state.message == "" and not state.stopping
    assert state.can_resume() and project.registry.list_models().empty  # stopped: not registered
    run_id, done = state.run_id, state.epoch
    assert state.resume(epochs=done + 2) is not None, state.error
    assert state.run_id == run_id and f"from epoch {done}" in state.message
    assert _follow(state) == "finished", state.job.log_tail()
    loss = state.curves().query("key == 'loss'")
    assert loss["step"].tolist() == list(range(done + 2))  # one curve, no gap before the stop
    assert state.resumed == 1 and "resumed 1x" in state.status_text()
    assert len(project.runs()) == 1 and len(project.registry.list_models()) == 1


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
