"""The training worker, run in-process: it trains into the queued run it is given and always ends that run."""

import json
import signal

import pytest

from tesla_lab.jobs import worker
from tesla_lab.store import Project


@pytest.fixture
def project(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    yield Project.init(tmp_path / "p")
    signal.signal(signal.SIGTERM, previous)  # main() installs its own handler


def _args(project, run, config, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return ["--project", str(project.path), "--run-id", run.id, "--config", str(path)]


CONFIG = {"dataset": "iris", "family": "sequential", "epochs": 2, "device": "cpu",
          "model": {"layers": [{"type": "Dense", "units": 8, "activation": "relu"}]}}


def test_worker_trains_into_the_queued_run_and_exits_0(project, tmp_path):
    run = project.start_run(name="iris-net", status="queued")
    assert worker.main(_args(project, run, CONFIG, tmp_path)) == 0
    assert run.status == "finished"
    assert sorted(run.history()["loss"].dropna().index) == [0, 1]
    assert len(project.runs()) == 1


def test_worker_fails_the_run_with_the_traceback_and_exits_1(project, tmp_path):
    run = project.start_run(name="bad", status="queued")
    assert worker.main(_args(project, run, {**CONFIG, "target": "species"}, tmp_path)) == 1
    assert run.status == "failed"
    assert "target column 'species' not found" in run.info()["error"]


def test_worker_does_not_train_a_run_stopped_while_queued(project, tmp_path):
    run = project.start_run(name="early", status="queued")
    run.request_stop()
    assert worker.main(_args(project, run, CONFIG, tmp_path)) == 0
    assert run.status == "stopped" and run.history().empty


def test_sigterm_unwinds_like_ctrl_c():
    with pytest.raises(KeyboardInterrupt, match="signal 15"):
        worker._interrupt(15, None)
