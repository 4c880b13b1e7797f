"""The dashboard's warm training worker: it takes the next run, trains it like a cold worker (log, stop, crash),
is replaced by a fresh one after its run, and ends with the dashboard."""

import os
import signal
import time

import pytest

from tesla_lab.jobs import launch_training, warm
from tesla_lab.store import Project

CONFIG = {"dataset": "digits", "family": "sequential", "epochs": 2, "batch_size": 128, "device": "cpu",
          "model": {"layers": [{"type": "Dense", "units": 16, "activation": "relu", "tt_rank": 2}]}}


def _wait_for(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _cmdline(pid):
    return (open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")) if os.path.exists(f"/proc/{pid}") else []


@pytest.fixture
def project(tmp_path):
    project = Project.init(tmp_path / "p")
    yield project
    warm.shutdown(project)


def test_the_warm_worker_trains_the_next_run_then_a_fresh_one_waits(project):
    first = warm.keep_warm(project)
    # right after the fork /proc/PID/cmdline can still be empty: wait for the exec'd worker
    assert _wait_for(lambda: b"--warm" in _cmdline(first), timeout=30) and warm.warm_pid(project) == first
    job = launch_training(project, CONFIG, name="warm-run")
    assert job.pid == first and warm.warm_pid(project) is None  # handed over: nobody idle while it trains
    assert job.wait(timeout=120) == "finished", job.log_tail()
    assert list(job.run.history()["loss"].dropna().index) == [0, 1]
    assert job.run.info()["pid"] == first
    assert f"run {job.run_id[:8]} ended finished" in job.log_tail()  # its output went to the run's log
    assert _wait_for(lambda: warm.warm_pid(project) not in (None, first), timeout=30)  # a fresh one for the next


def test_a_killed_warm_worker_marks_its_run_crashed_and_the_next_run_gets_a_fresh_one(project):
    pid = warm.keep_warm(project)
    job = launch_training(project, {**CONFIG, "epochs": 5000}, name="killed")
    assert _wait_for(lambda: not job.run.metrics(keys=["loss"]).empty), job.log_tail()
    os.kill(pid, signal.SIGKILL)
    assert _wait_for(lambda: job.poll() == "crashed", timeout=30)
    assert "resume it from its last checkpoint" in job.run.info()["error"]
    assert _wait_for(lambda: warm.warm_pid(project) not in (None, pid), timeout=30)
    assert launch_training(project, CONFIG, name="next").pid not in (None, pid)


def test_stop_reaches_the_warm_workers_run(project):
    warm.keep_warm(project)
    job = launch_training(project, {**CONFIG, "epochs": 5000}, name="stopped")
    assert _wait_for(lambda: not job.run.metrics(keys=["loss"]).empty), job.log_tail()
    job.stop(grace=60.0)
    assert job.wait(timeout=60) == "stopped"
    assert job.run.latest_checkpoint_name() is not None


def test_after_shutdown_the_idle_worker_is_gone_and_runs_start_cold(project):
    pid = warm.keep_warm(project)
    warm.shutdown(project)
    assert _wait_for(lambda: not os.path.exists(f"/proc/{pid}") or b"Z" in open(f"/proc/{pid}/stat", "rb").read()
                     .rsplit(b")", 1)[1][:3], timeout=10)
    assert warm.warm_pid(project) is None
    job = launch_training(project, CONFIG, name="cold")
    # a cold worker: the run id on its command line
    assert _wait_for(lambda: job.run_id.encode() in _cmdline(job.pid), timeout=30)
    job.stop(grace=1.0)
    job.wait(timeout=60)
