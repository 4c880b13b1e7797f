"""SIGTERM to a background worker mid-training: it stops after the current step, stores a checkpoint of what it
trained (no periodic one was due) and ends the run `stopped` with exit code 0."""

import os
import signal
import time

import pytest

from tesla_lab.jobs import launch_training
from tesla_lab.store import Project


@pytest.mark.slow  # a real process: python and torch start in it
def test_sigterm_to_a_worker_stores_a_checkpoint_and_stops_the_run(tmp_path):
    project = Project.init(tmp_path)
    config = {"dataset": "iris", "epochs": 100000, "checkpoint_every": 100000, "batch_size": 16, "device": "cpu"}
    job = launch_training(project, config, name="long")
    deadline = time.monotonic() + 120
    while job.run.metrics(keys=["loss"]).empty:
        assert time.monotonic() < deadline and job.is_alive(), job.log_tail()
        time.sleep(0.05)
    os.kill(job.pid, signal.SIGTERM)
    assert job.wait(timeout=120) == "stopped", job.log_tail()
    run = Project(tmp_path).get_run(job.run_id)
    epochs = len(run.history())
    assert job.returncode == 0 and run.status == "stopped" and epochs >= 1
    assert run.artifacts().query("kind == 'checkpoint'")["name"].tolist() == [f"checkpoint-epoch{epochs:04d}.pt"]
    assert f"stopped by SIGTERM after {epochs} epochs" in job.log_tail()
