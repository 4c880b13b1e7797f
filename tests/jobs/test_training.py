"""Background training processes: real workers on the digits sample (finish, stop, crash, resume), and the
process handling (dead workers, signal escalation) with stand-in processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.jobs import JobError, TrainingJob, attach, launch_training, list_devices, resume_training
from tesla_lab.jobs import training as training_module
from tesla_lab.store import Project

TT_LAYERS = [{"type": "Dense", "units": 16, "activation": "relu", "tt_rank": 2}]


def _config(**changes):
    config = {"dataset": "digits", "family": "sequential", "model": {"layers": TT_LAYERS}, "epochs": 3,
              "batch_size": 128, "device": "cpu", "checkpoint_every": 1, "test_size": 0.2}
    config.update(changes)
    return config


def _wait_for(predicate, timeout=90.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """Three workers started together (they overlap, which keeps the module fast): one finishes, one is stopped
    mid-run, one crashes in the worker."""
    project = Project.init(tmp_path_factory.mktemp("jobs"))
    started = {
        "finished": launch_training(project, _config(), name="digits-tt"),
        "stopped": launch_training(project, _config(epochs=5000), name="long"),
        "failed": launch_training(project, _config(target="no_such_column"), name="broken"),
    }
    stopped = started["stopped"]
    assert _wait_for(lambda: not stopped.run.metrics(keys=["loss"]).empty), stopped.log_tail()
    stopped.stop(grace=60.0)
    statuses = {key: job.wait(timeout=120) for key, job in started.items()}
    return project, started, statuses


def test_a_launched_run_is_queued_at_once_and_trains_into_the_store(jobs):
    project, started, statuses = jobs
    job = started["finished"]
    assert statuses["finished"] == "finished", job.log_tail()
    history = job.run.history()
    assert list(history.index[:3]) == [0, 1, 2] and history["loss"].notna().all()
    assert job.run.config["family"] == "sequential"
    assert job.run.info()["dataset_name"] == "digits"
    assert job.returncode == 0 and not job.is_alive()
    assert len(project.runs()) == 3  # the worker filled the queued run instead of starting a second one
    assert project.registry.get_model("digits-tt").run_id == job.run_id


def test_stop_ends_the_run_stopped_with_a_checkpoint(jobs):
    _, started, statuses = jobs
    job = started["stopped"]
    assert statuses["stopped"] == "stopped", job.log_tail()
    assert job.run.stop_requested()
    assert job.run.latest_checkpoint() is not None
    assert 1 <= len(job.run.history()) < 5000


def test_a_crash_in_the_worker_fails_the_run_with_the_error_text(jobs):
    _, started, statuses = jobs
    job = started["failed"]
    assert statuses["failed"] == "failed"
    assert "target column 'no_such_column' not found" in job.run.info()["error"]
    assert job.returncode == 1


def test_resume_continues_a_stopped_run_in_place_with_one_continuous_curve(jobs):
    project, started, _ = jobs
    stopped = started["stopped"]
    n_runs = len(project.runs())
    done = len(stopped.run.history())  # the stop checkpoints the epoch it ended
    assert project.registry.list_models().query("run_id == @stopped.run_id").empty  # a stopped run: not registered
    job = resume_training(project, stopped.run_id, epochs=done + 2)  # epochs is the total count
    assert job.run_id == stopped.run_id
    assert job.wait(timeout=120) == "finished", job.log_tail()
    loss = job.run.history()["loss"].dropna()
    assert list(loss.index) == list(range(done + 2))  # no gap: the epochs before the stop are still there
    assert job.run.resumed == 1 and len(project.runs()) == n_runs  # one row, counted as resumed
    assert project.runs().set_index("id").loc[job.run_id, "epochs_done"] == done + 2
    versions = project.registry.list_models().query("run_id == @job.run_id")
    assert len(versions) == 1  # finished: registered, once
    with pytest.raises(JobError, match="is finished; it trained all its epochs"):
        resume_training(project, job.run_id)


def test_a_killed_worker_is_crashed_and_resumes_from_its_last_checkpoint(tmp_path):
    project = Project.init(tmp_path)
    job = launch_training(project, _config(epochs=5000), name="killed")
    assert _wait_for(lambda: len(job.run.metrics(keys=["loss"])) >= 2), job.log_tail()
    os.kill(job.pid, signal.SIGKILL)  # kill -9: nothing in the worker runs
    assert _wait_for(lambda: not job.is_alive(), timeout=30)
    assert Project(tmp_path).get_run(job.run_id).status == "crashed"  # any open sees it, nobody polled
    assert "resume it from its last checkpoint" in job.run.info()["error"]
    checkpoint = job.run.latest_checkpoint_name()
    epoch = int(checkpoint[len("checkpoint-epoch"):-3])
    assert epoch >= 1
    resumed = resume_training(project, job.run_id, epochs=epoch + 2)
    assert resumed.wait(timeout=120) == "finished", resumed.log_tail()
    loss = resumed.run.history()["loss"].dropna()
    assert list(loss.index) == list(range(epoch + 2)) and resumed.run.resumed == 1
    assert len(project.runs()) == 1


def test_launch_validates_the_config_before_starting_anything(tmp_path):
    project = Project.init(tmp_path)
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1; got 0"):
        launch_training(project, _config(batch_size=0))
    with pytest.raises(ConfigError, match="unknown training option 'epoch'"):
        launch_training(project, {"epoch": 3})
    with pytest.raises(ConfigError, match="a training config must be a dict or a TrainConfig; got list"):
        launch_training(project, [1, 2])
    with pytest.raises(ConfigError, match="launch_training needs a tesla_lab.store.Project; got str"):
        launch_training(str(tmp_path), _config())
    assert project.runs().empty


def test_a_process_that_cannot_start_fails_its_run(tmp_path, monkeypatch):
    project = Project.init(tmp_path)

    def refuse(*args, **kwargs):
        raise OSError("no such interpreter")

    monkeypatch.setattr(training_module.subprocess, "Popen", refuse)
    with pytest.raises(JobError, match="could not start the training process .*no such interpreter"):
        launch_training(project, _config())
    assert project.runs()["status"].tolist() == ["failed"]


def test_resume_refuses_running_finished_and_configless_runs_and_starts_over_without_a_checkpoint(tmp_path):
    project = Project.init(tmp_path)
    running = project.start_run(name="busy")
    with pytest.raises(JobError, match="is running; stop it before resuming it"):
        resume_training(project, running)
    running.finish()
    with pytest.raises(JobError, match="is finished; it trained all its epochs"):
        resume_training(project, running)
    bare = project.start_run(name="bare")
    bare.finish("stopped")
    with pytest.raises(JobError, match="has no stored training config"):
        resume_training(project, bare)
    empty = project.start_run(name="empty", config=_config(epochs=2))
    empty.finish("stopped")  # stopped before its first checkpoint: resume starts over, in the same run
    with pytest.raises(JobError, match="epochs is the new total epoch count and must be an integer > 0"):
        resume_training(project, empty, epochs=0)
    assert empty.status == "stopped" and empty.resumed == 0  # a refused resume changes nothing
    job = resume_training(project, empty)
    assert job.wait(timeout=120) == "finished", job.log_tail()
    assert list(job.run.history()["loss"].dropna().index) == [0, 1] and job.run.resumed == 1


def _stand_in(project, code, status="queued"):
    """A TrainingJob around a plain Python process instead of a worker."""
    run = project.start_run(name="stand-in", status=status)
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    return TrainingJob(project, run.id, process.pid, project.path / "none.log", process)


def test_poll_marks_a_worker_that_died_silently_as_crashed(tmp_path):
    project = Project.init(tmp_path)
    job = _stand_in(project, "import sys; sys.exit(3)")
    assert job.wait(timeout=30) == "crashed"
    assert "exited with code 3 without ending the run" in job.run.info()["error"]


def test_stop_escalates_to_sigterm_of_the_process_group_after_the_grace_period(tmp_path):
    project = Project.init(tmp_path)
    job = _stand_in(project, "import time; time.sleep(120)", status="running")
    job.stop(grace=0.2)
    assert job.wait(timeout=30) == "stopped"
    assert job.returncode is not None and job.returncode < 0  # ended by a signal
    assert "stopped by signal" in job.run.info()["error"]
    with pytest.raises(ConfigError, match="grace must be a number of seconds >= 0; got -1"):
        job.stop(grace=-1)


def test_attach_finds_this_process_jobs_and_never_signals_a_finished_runs_pid(jobs, tmp_path):
    project, started, _ = jobs
    assert attach(project, started["finished"].run_id) is started["finished"]
    project = Project.init(tmp_path)
    done = project.start_run(name="old")
    done.finish()
    handle = attach(project, done.id)
    assert handle.pid is None and not handle.is_alive()


def test_list_devices_starts_with_the_cpu():
    assert list_devices()[0] == "cpu"


def test_a_run_trained_in_this_process_is_never_signalled(tmp_path):
    project = Project.init(tmp_path)
    run = project.start_run(name="in-a-notebook")  # records this process's pid
    job = attach(project, run)
    assert job.pid is None and not job.is_alive()
    job.stop(grace=0.0)  # only the store flag: this test process must survive
    time.sleep(0.3)
    assert run.stop_requested() and run.status == "running"


def test_after_a_restart_attach_can_stop_a_live_worker_by_signal(tmp_path):
    project = Project.init(tmp_path)
    run = project.start_run(name="orphan", status="queued")
    code = ("import sys, time; from tesla_lab.store import Project; "
            "Project(sys.argv[1]).get_run(sys.argv[2]).start(); time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), run.id, "tesla_lab.jobs.worker"],
                               start_new_session=True,
                               env={**os.environ, "PYTHONPATH": str(Path(training_module.__file__).parents[2])})
    try:
        assert _wait_for(lambda: run.status == "running", timeout=60)
        job = attach(project, run)  # not started by this process: found through the pid the run recorded
        assert job.pid == process.pid and job.is_alive()
        job.kill()
        assert process.wait(timeout=30) < 0
        assert job.poll() == "stopped"
    finally:
        process.kill()
