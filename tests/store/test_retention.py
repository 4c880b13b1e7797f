"""keep_checkpoints: a run keeps its last and best checkpoints (or the last N), removes the others' rows and the
files nothing references any more; SIGTERM during an in-process train_model stores a checkpoint and stops."""

import os
import signal

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.store.retention import prune_checkpoints
from tesla_lab.train import LambdaCallback
from tesla_lab.workflow import TrainConfig, resume_model, train_model


def _files(project):
    return sorted(p.name for p in (project.path / ".tesla" / "artifacts").rglob("*") if p.is_file())


def _run_with_checkpoints(project, losses, key="loss"):
    run = project.start_run(name="r")
    for epoch, value in enumerate(losses, start=1):
        run.log_metric(key, value, step=epoch - 1)
        run.log_artifact(f"checkpoint-epoch{epoch:04d}.pt", f"{run.id} {epoch}".encode(), kind="checkpoint")
    return run


def _checkpoints(run):
    return run.artifacts().query("kind == 'checkpoint'")["name"].tolist()


def test_last_and_best_by_the_monitored_metric(tmp_path, store_engine):
    project = Project.init(tmp_path)
    run = _run_with_checkpoints(project, [0.9, 0.4, 0.6, 0.7, 0.8])
    shas = dict(zip(run.artifacts()["name"], run.artifacts()["sha256"]))
    assert prune_checkpoints(run) == [f"checkpoint-epoch000{e}.pt" for e in (1, 3, 4)]
    assert _checkpoints(run) == ["checkpoint-epoch0002.pt", "checkpoint-epoch0005.pt"]
    assert _files(project) == sorted([shas["checkpoint-epoch0002.pt"], shas["checkpoint-epoch0005.pt"]])
    assert run.latest_checkpoint().name == shas["checkpoint-epoch0005.pt"]
    run.log_metric("val_accuracy", 0.5, step=0)
    run.log_metric("val_accuracy", 0.9, step=4)
    assert prune_checkpoints(run, monitor="val_accuracy") == ["checkpoint-epoch0002.pt"]  # higher is better


def test_the_last_n_and_all(tmp_path, store_engine):
    project = Project.init(tmp_path)
    run = _run_with_checkpoints(project, [0.1, 0.2, 0.3, 0.4])
    assert prune_checkpoints(run, "all") == [] and len(_checkpoints(run)) == 4
    assert prune_checkpoints(run, 2) == ["checkpoint-epoch0001.pt", "checkpoint-epoch0002.pt"]
    assert _checkpoints(run) == ["checkpoint-epoch0003.pt", "checkpoint-epoch0004.pt"] and len(_files(project)) == 2
    with pytest.raises(ConfigError, match="keep_checkpoints must be 'last\\+best', 'all' or an integer >= 1"):
        prune_checkpoints(run, 0)
    with pytest.raises(ConfigError, match="got 'best'"):
        TrainConfig(keep_checkpoints="best")


def test_content_another_row_references_is_not_unlinked(tmp_path, store_engine):
    project = Project.init(tmp_path)
    run = _run_with_checkpoints(project, [0.5, 0.6, 0.7])
    shared = run.artifact_sha("checkpoint-epoch0002.pt")
    other = project.start_run(name="other")
    other.log_artifact("copy.pt", run.load_artifact("checkpoint-epoch0002.pt"))
    assert prune_checkpoints(run) == ["checkpoint-epoch0002.pt"]  # epoch 1 is the best, epoch 3 the last
    assert shared in _files(project) and other.load_artifact("copy.pt").endswith(b" 2")
    assert len(_files(project)) == 3


def test_train_model_with_checkpoint_every_epoch_keeps_last_and_best(tmp_path):
    project = Project.init(tmp_path)
    result = train_model(project, {"dataset": "iris", "epochs": 6, "checkpoint_every": 1, "device": "cpu",
                                   "lr": 0.5, "val_size": 0.2}, name="iris")
    run = project.get_run(result.run_id)
    val = run.history()["val_loss"]
    best = f"checkpoint-epoch{int(val.idxmin()) + 1:04d}.pt"
    assert _checkpoints(run) == sorted({best, "checkpoint-epoch0006.pt"})
    result = train_model(project, {"dataset": "iris", "epochs": 6, "checkpoint_every": 1, "device": "cpu",
                                   "keep_checkpoints": 3}, name="iris3")
    assert _checkpoints(project.get_run(result.run_id)) == [f"checkpoint-epoch000{e}.pt" for e in (4, 5, 6)]
    checkpoint_files = [s for s in project.get_run(result.run_id).artifacts().query("kind == 'checkpoint'")["sha256"]]
    assert all(sha in _files(project) for sha in checkpoint_files)


def test_sigterm_in_process_stops_after_the_step_with_a_checkpoint_then_resumes(tmp_path):
    project = Project.init(tmp_path)

    def kill(trainer, epoch, logs):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # delivered at once in the main thread: after epoch 3

    previous = signal.getsignal(signal.SIGTERM)
    result = train_model(project, {"dataset": "iris", "epochs": 50, "checkpoint_every": 20, "device": "cpu"},
                         name="iris", callbacks=[LambdaCallback(on_epoch_end=kill)])
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is put back
    run = project.get_run(result.run_id)
    assert result.status == "stopped" and run.status == "stopped" and result.version is None
    assert list(run.history().index) == [0, 1, 2]  # the signal came at epoch 3's end: no epoch 4
    assert _checkpoints(run) == ["checkpoint-epoch0003.pt"]
    resumed = resume_model(project, run.id, epochs=6)
    assert resumed.status == "finished" and list(run.history().index) == [0, 1, 2, 3, 4, 5]
    assert _checkpoints(run) == sorted({"checkpoint-epoch0006.pt", *_checkpoints(run)})
