"""Ctrl-C (SIGINT) / SIGTERM on a real `tesla train` process: the run ends `stopped` with a checkpoint of the epochs
it trained, and `resume_model` continues from exactly that epoch."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tesla_lab.store import Project
from tesla_lab.workflow import resume_model

ROOT = Path(__file__).resolve().parents[2]


def _start_training(tmp_path):
    project = Project.init(tmp_path)
    # many epochs and no periodic checkpoint before the end: only the interrupt can leave one
    (tmp_path / "train.yaml").write_text("checkpoint_every: 100000\ndevice: cpu\nbatch_size: 16\nseed: 0\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "tesla_lab.cli", "train", "-m", "iris", "-d", "iris", "-p", "100000",
                             "--config", "train.yaml", "-q"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # wait until the first epoch is in the store
            row = project.db.query_one("SELECT run_id FROM metrics WHERE key = 'loss' LIMIT 1")
            if row is not None:
                return project, proc, row["run_id"]
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
    except BaseException:
        proc.kill()
        raise
    proc.kill()
    pytest.fail("no epoch was logged within 120 s")


@pytest.mark.slow  # a real process: python and torch start in it
@pytest.mark.parametrize("signum", [signal.SIGINT])  # SIGTERM: tests/store/test_retention.py
def test_a_signal_stops_tesla_train_with_a_checkpoint_to_resume_from(tmp_path, signum):
    project, proc, run_id = _start_training(tmp_path)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    run = project.get_run(run_id)
    losses = run.history()["loss"]
    epochs = len(losses)
    assert run.status == "stopped" and list(losses.index) == list(range(epochs))
    names = run.artifacts().query("kind == 'checkpoint'")["name"].tolist()
    assert names == [f"checkpoint-epoch{epochs:04d}.pt"]  # the interrupted state, and only it
    assert f"(run {run_id[:8]}, stopped)" in out
    assert f"stopped by {signal.Signals(signum).name} after {epochs} epochs" in err
    assert len(project.registry.list_models()) == 0  # a stopped run is not registered

    result = resume_model(project, run_id, epochs=epochs + 2)
    history = run.history()["loss"]
    assert result.status == "finished" and run.resumed == 1
    assert list(history.index) == list(range(epochs + 2))  # continued from the checkpoint's epoch, no gap
    # the epochs before it were not trained again; strict: a signal that lands before an epoch's first step ends
    # training with the epoch before it, so no epoch has a NaN loss
    assert history.notna().all() and history.iloc[:epochs].tolist() == losses.tolist()
    assert len(result.history["loss"]) == epochs + 2
