"""`tesla train --resume RUN_ID` and `tesla runs`: the same run lifecycle as the dashboard (crashed runs, epochs done,
resumed count), also in --json."""

import json
import subprocess
import sys

from tesla_lab.store import Project
from tesla_lab.train import LambdaCallback
from tesla_lab.workflow import train_model


def _stopped_run(root):
    """A torch run on iris stopped after 3 of 6 epochs (checkpoint at epoch 3), like the Stop button leaves it."""
    project = Project.init(root)

    def stop(trainer, epoch, logs):
        if epoch == 1:  # seen by the store callback at the end of the next epoch
            project.get_run(project.runs()["id"].iloc[0]).request_stop()

    result = train_model(project, {"dataset": "iris", "epochs": 6, "checkpoint_every": 2, "device": "cpu"},
                         name="iris", callbacks=[LambdaCallback(on_epoch_end=stop)])
    assert result.status == "stopped"
    return project, result.run_id


def test_resume_from_the_cli_continues_the_same_run_and_runs_shows_the_lifecycle(tmp_path, tesla):
    project, run_id = _stopped_run(tmp_path)
    code, out, _ = tesla("runs", cwd=tmp_path)
    assert code == 0 and "stopped  3/6     0" in out
    code, out, err = tesla("train", "--resume", run_id[:8], "-q")
    assert code == 0, err
    assert f"trained iris v1 on iris@1 (run {run_id[:8]}, finished)" in out
    assert "resumed: the same run, 6 epochs in all" in out
    code, out, _ = tesla("runs")
    assert "finished  6/6     1" in out and out.count("iris") == 2  # one run (its name and dataset)
    rows = json.loads(tesla("runs", "--json")[1])
    assert [(r["id"], r["status"], r["epochs_done"], r["resumed"]) for r in rows] == [(run_id, "finished", 6, 1)]
    code, _, err = tesla("train", "--resume", run_id)
    assert code == 1 and "is finished; it trained all its epochs" in err
    assert len(project.registry.list_models()) == 1  # the refused resume registered nothing


def test_runs_shows_a_killed_run_as_crashed(tmp_path, tesla):
    project = Project.init(tmp_path)
    run = project.start_run(name="killed", config={"epochs": 5})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with project.db.transaction() as conn:  # the run's process has exited (as after kill -9)
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead.pid, run.id))
    code, out, _ = tesla("runs", "--status", "crashed", cwd=tmp_path)
    assert code == 0 and "killed  crashed" in out
    code, _, err = tesla("train", "-q")
    assert code == 1 and "tesla train needs -m/--model NAME (the registry name), or --resume RUN_ID" in err
