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
    curves = state.curves(["loss"])
    assert curves["run"].nunique() == 2 and len(curves) == 4
    assert "(" in curves["run"].iloc[0]  # runs sharing a name get their short id
    fig = state.figure()  # one chart per metric: loss and accuracy on their own y axes
    assert [a.text for a in fig.layout.annotations] == ["loss", "accuracy"]
    assert sorted({t.yaxis for t in fig.data}) == ["y", "y2"] and len(fig.data) == 4
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


def _sized(project, name, n_params, accuracy, **params):
    with project.start_run(name=name, params={"n_params": n_params, "compression": 4290 / n_params,
                                              "family": params.pop("family", "sequential"), **params},
                           dataset=None) as run:
        for step in range(3):
            run.log_metrics({"loss": 1.0 / (step + 1), "val_loss": 1.2 / (step + 1), "accuracy": accuracy,
                             "sys_rss_mb": 300.0 + step}, step=step)
        run.log_metrics({"test_accuracy": accuracy}, step=3)
    return run


def test_the_table_shows_size_rounded_metrics_tags_and_filters(tmp_path):
    project = Project.init(tmp_path)
    tt = _sized(project, "digits-tt", 706, 0.912345678, epochs=3)
    _sized(project, "digits-dense", 4290, 0.95, family="mlp", epochs=3)
    project.tag_run(tt, add=["baseline"])
    project.note_run(tt, "rank 4 is enough")
    state = RunsState(project)
    shown = state.display_table()
    row = shown[shown["name"] == "digits-tt"].iloc[0]
    assert row["params"] == 706 and row["compression"] == pytest.approx(6.076, rel=1e-3)
    assert row["test_accuracy"] == 0.912345678  # the view rounds; the full value stays for the hover
    assert (row["tags"], row["note"], row["epochs"]) == ("baseline", "rank 4 is enough", "3/3")
    assert row["by"].startswith(project.runs().iloc[0]["author"]) and len(shown.columns) == len(set(shown.columns))
    state.search = "BASELINE"
    assert state.display_table()["name"].tolist() == ["digits-tt"]
    state.search = ""
    state.family_filter = "mlp"
    assert state.display_table()["name"].tolist() == ["digits-dense"]
    assert state.param.family_filter.objects == ["all", "mlp", "sequential"]
    state.family_filter = "all"
    state.status_filter = "running"
    assert state.display_table().empty


def test_scatter_of_accuracy_against_parameters_uses_a_log_axis(tmp_path):
    project = Project.init(tmp_path)
    tt = _sized(project, "tt", 706, 0.91)
    _sized(project, "dense", 4290, 0.95)
    state = RunsState(project)
    assert state.score == "test_accuracy"
    state.selected = [tt.id]
    fig = state.scatter()
    assert fig.layout.xaxis.type == "log" and sorted(fig.data[0].x) == [706, 4290]
    assert sorted(fig.data[0].marker.size) == [9, 14]  # the selected run stands out


def test_compare_display_marks_differences_and_reads_layers_and_integers(tmp_path):
    project = Project.init(tmp_path)
    layers = [{"type": "Dense", "units": 64, "activation": "relu", "tt_rank": 4, "in_shape": None},
              {"type": "Dropout", "rate": 0.1}]
    a = _sized(project, "a", 706, 0.9, batch_size=32, **{"model.layers": layers})
    b = _sized(project, "b", 4290, 0.95, batch_size=32.0, **{"model.layers": layers[:1]})
    state = RunsState(project)
    state.selected = [a.id, b.id]
    frame, differs = state.compare_display()
    rows = dict(zip(frame["field"], zip(frame["a"], frame["b"], differs)))
    assert rows["batch_size"] == ("32", "32", False)
    assert rows["model.layers"] == ("TT(64, rank 4, relu) → Dropout(0.1)", "TT(64, rank 4, relu)", True)
    assert rows["n_params"] == ("706", "4,290", True) and rows["compression"] == ("6.1x", "1.0x", True)
    assert rows["test_accuracy"] == ("0.9", "0.95", True)
    assert list(frame.columns) == ["field", "a", "b"]


def test_one_selected_run_shows_its_report_and_system_metrics(tmp_path):
    import json

    project = Project.init(tmp_path)
    run = _sized(project, "a", 706, 0.9)
    report = {"labels": [0, 1], "per_class": {"cat": {"precision": 0.75, "recall": 1.0, "f1": 0.857, "support": 3},
                                              "dog": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2}},
              "confusion_matrix": [[3, 0], [1, 1]]}
    run.log_artifact("test_report.json", json.dumps(report).encode(), kind="report")
    state = RunsState(project)
    state.selected = [run.id]
    fig = state.report_figure()
    assert fig.data[0].type == "heatmap" and list(fig.data[0].x) == ["cat", "dog"]
    assert state.per_class()[["class", "recall"]].values.tolist() == [["cat", 1.0], ["dog", 0.5]]
    system = state.system_figure()
    assert [a.text for a in system.layout.annotations] == ["memory (RSS, MiB)"] and list(system.data[0].y) == [
        300.0, 301.0, 302.0]
    assert "sys_rss_mb" not in set(state.curves()["key"])  # not among the training curves


def test_tags_note_archive_and_a_confirmed_delete(tmp_path):
    project = Project.init(tmp_path)
    a, b = _sized(project, "a", 706, 0.9), _sized(project, "b", 4290, 0.95)
    state = RunsState(project)
    state.selected = [a.id]
    assert state.set_tags("baseline, tt-4  best") == ["baseline", "tt-4", "best"]
    state.set_note("keep")
    assert project.runs().set_index("id").loc[a.id, "note"] == "keep"
    assert state.set_tags("bad!") is None and "a tag is 1-40 letters" in state.error
    assert "with 13 metric values" in state.request_delete() and state.pending_delete == a.id
    assert len(project.runs()) == 2  # nothing gone before the confirmation
    state.confirm_delete()
    assert list(project.runs()["name"]) == ["b"] and state.selected == [] and "deleted run a" in state.message
    state.selected = [b.id]
    state.archive()
    assert project.runs().empty and state.table.empty and len(project.runs(archived=True)) == 1


def test_a_study_shows_parallel_coordinates_of_its_trials(tmp_path):
    project = Project.init(tmp_path)
    parent = project.start_run(name="iris-automl")
    for i, (lr, family) in enumerate(((0.1, "mlp"), (0.01, "tt_mlp"))):
        with project.start_run(name=f"trial-{i}", parent=parent,
                               params={"automl.trial": i, "family": family, "model.lr": lr}) as trial:
            trial.log_metrics({"val_accuracy": 0.8 + i / 10}, step=0)
    parent.finish()
    state = RunsState(project)
    state.selected = [parent.id]
    fig = state.study_figure()
    assert [d.label for d in fig.data[0].dimensions] == ["family", "lr", "val_accuracy"]
