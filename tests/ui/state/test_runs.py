"""RunsState: the runs table, overlaid curves, side-by-side comparison, promotion to production."""

import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.ui.state import RunsState


@pytest.fixture
def project(tmp_path):
    project = Project.init(tmp_path)
    for i, lr in enumerate((0.1, 0.01)):
        with project.start_run(name="digits-tt", params={"lr": lr, "epochs": 2}) as run:
            for step in range(2):
                run.log_metrics({"loss": 1.0 / (step + 1 + i), "accuracy": 0.5 + 0.1 * step}, step=step)
            run.log_model(torch.nn.Linear(2, 2))
    return project


def test_refresh_lists_every_run_newest_first(project):
    state = RunsState(project)
    assert len(state.table) == 2 and state.table["status"].tolist() == ["finished"] * 2
    shown = state.display_table()
    assert {"id", "name", "status", "loss", "accuracy"} <= set(shown.columns)
    assert shown["id"].str.len().max() == 8


def test_selected_runs_overlay_their_curves_and_compare_params(project):
    state = RunsState(project)
    state.select([i[:10] for i in state.table["id"]])  # id prefixes work
    assert state.param.metric.objects == ["accuracy", "loss"]
    curves = state.curves("loss")
    assert curves["run"].nunique() == 2 and len(curves) == 4
    assert "(" in curves["run"].iloc[0]  # runs sharing a name get their short id
    fig = state.figure()
    assert len(fig.data) == 2
    compare = state.compare()
    assert sorted(compare.loc["param.lr"]) == [0.01, 0.1] and compare.shape[1] == 2
    state.selected = []
    assert state.figure() is None and state.compare().empty


def test_promote_registers_the_run_model_as_production_and_archives_the_previous(project):
    state = RunsState(project)
    older, newer = state.table["id"].iloc[1], state.table["id"].iloc[0]
    first = state.promote(older, name="digits-tt")
    assert (first.version, first.stage) == (1, "production") and "now in production" in state.message
    state.selected = [newer]
    second = state.promote()
    assert (second.name, second.version, second.stage) == ("digits-tt", 2, "production")
    assert project.registry.get_model("digits-tt", version=1).stage == "archived"
    again = state.promote(older)  # already registered: its version is promoted back, no new version
    assert again.version == 1 and len(state.models()) == 2


def test_promote_explains_what_is_missing(project):
    state = RunsState(project)
    state.selected = list(state.table["id"])
    assert state.promote() is None and "select exactly one run to promote; 2 are selected" in state.error
    running = project.start_run(name="busy")
    assert state.promote(running.id) is None and "is running; only a finished or stopped run" in state.error
    with pytest.raises(ConfigError, match="RunsState needs a tesla_lab.store.Project; got NoneType"):
        RunsState(None)


def test_an_empty_project_shows_empty_tables(tmp_path):
    state = RunsState(Project.init(tmp_path))
    assert state.display_table().empty and state.compare().empty and state.curves().empty


def test_poll_refreshes_only_when_runs_change_and_shows_their_lifecycle(tmp_path):
    import subprocess
    import sys

    project = Project.init(tmp_path)
    state = RunsState(project)
    assert state.poll() is False and state.table.empty
    elsewhere = Project(tmp_path)  # e.g. `tesla train` in a terminal
    run = elsewhere.start_run(name="from-the-cli", params={"epochs": 60})
    run.log_metrics({"loss": 1.0}, step=0)
    assert state.poll() is True and state.table["name"].tolist() == ["from-the-cli"]
    assert state.poll() is True  # running: its epochs grow, so every poll re-reads
    shown = state.display_table()
    assert shown[["status", "epochs", "resumed"]].values.tolist() == [["running", "1/60", 0]]
    run.finish("stopped")
    assert state.poll() is True and state.poll() is False  # ended: read once, then nothing changes
    run.reopen()
    assert state.poll() is True and state.display_table()["resumed"].tolist() == [1]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run.start()
    with project.db.transaction() as conn:  # its process was killed
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead.pid, run.id))
    assert state.poll() is True and state.table["status"].tolist() == ["crashed"]
