"""``tesla run-notebook``, ``tesla schedule add|list|remove|runs`` and ``tesla scheduler --once``."""

import json
import time
from pathlib import Path

import nbformat
import pytest

from tesla_lab.cli import main
from tesla_lab.jobs import notebooks
from tesla_lab.jobs.notebooks import KERNEL_NAME, NotebookResult
from tesla_lab.jobs.schedule import add_schedule, list_schedules, schedule_runs
from tesla_lab.store import Project


@pytest.fixture
def project(tmp_path):
    proj = Project.init(tmp_path / "proj")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("epochs = 1\nlr = 0.1\nname = 'x'\nmodel = {}\ntesla_run_id = None")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("total = epochs * lr")]
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "TESLA Lab", "language": "python"}
    nbformat.write(nb, str(proj.path / "notebooks" / "nb.ipynb"))
    return proj


def tesla(project, *args):
    return main(["--project", str(project.path), *map(str, args)])


@pytest.fixture
def fake_run(monkeypatch):
    calls = []

    def fake(notebook, parameters, *, project, **kw):
        calls.append({"notebook": notebook, "parameters": parameters, **kw})
        run = project.start_run(name="nb")
        run.finish(fake.status, error=fake.error)
        return NotebookResult(run_id=run.id, status=fake.status, notebook=Path(notebook), output=Path("out.ipynb"),
                              error=fake.error)

    fake.status, fake.error, fake.calls = "finished", None, calls
    monkeypatch.setattr(notebooks, "run", fake)
    return fake


# ---------------------------------------------------------------------------------------------- run-notebook
def test_run_notebook_parses_p_r_and_y_like_papermill(project, fake_run, capsys):
    code = tesla(project, "run-notebook", "nb.ipynb", "-p", "epochs", "5", "-p", "lr", "0.01", "-r", "name", "007",
                 "-y", "model: {hidden_sizes: [16]}", "--timeout", "60")
    assert code == 0
    (call,) = fake_run.calls
    assert call["parameters"] == {"model": {"hidden_sizes": [16]}, "epochs": 5, "lr": 0.01, "name": "007"}
    assert call["check"] is False and call["timeout"] == 60 and call["kernel"] == KERNEL_NAME
    assert "notebook run" in capsys.readouterr().out


def test_run_notebook_exits_non_zero_when_the_notebook_fails(project, fake_run, capsys):
    fake_run.status, fake_run.error = "failed", "ValueError: bad x (at In [3])\ntraceback..."
    assert tesla(project, "run-notebook", "nb.ipynb") == 1
    captured = capsys.readouterr()
    assert "failed" in captured.out
    assert "error: notebook nb.ipynb failed: ValueError: bad x (at In [3])" in captured.err


def test_run_notebook_json_output(project, fake_run, capsys):
    assert tesla(project, "run-notebook", "nb.ipynb", "--json") == 0
    assert json.loads(capsys.readouterr().out)["status"] == "finished"


def test_run_notebook_refuses_an_unknown_parameter_before_running(project, capsys):
    code = tesla(project, "run-notebook", project.path / "notebooks" / "nb.ipynb", "-p", "epoch", "5")
    assert code == 1
    assert ("error: unknown parameter 'epoch' for notebook nb.ipynb (did you mean 'epochs'?); valid parameters: "
            "epochs, lr, name, model, tesla_run_id") in capsys.readouterr().err
    assert project.runs().empty


def test_run_notebook_refuses_a_missing_notebook(project, capsys):
    assert tesla(project, "run-notebook", "nope.ipynb") == 1
    assert "error: notebook 'nope.ipynb' does not exist" in capsys.readouterr().err


def test_run_notebook_lists_the_parameters(project, capsys):
    assert tesla(project, "run-notebook", project.path / "notebooks" / "nb.ipynb", "--list-parameters") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "default", "help"] and "epochs" in out  # no annotation: no type
    assert "None" not in out.splitlines()[2]  # epochs = 1: default 1, help '-'; papermill's type text "None" is gone
    assert tesla(project, "run-notebook", project.path / "notebooks" / "nb.ipynb", "--list-parameters", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0] == {"name": "epochs", "default": "1", "type": None, "help": ""}


def test_run_notebook_lists_annotated_types(project, capsys):
    nb = nbformat.read(str(project.path / "notebooks" / "nb.ipynb"), as_version=4)
    nb.cells[0].source = "epochs: int = 1  # passes over the data\nlr = 0.1"
    nbformat.write(nb, str(project.path / "notebooks" / "typed.ipynb"))
    assert tesla(project, "run-notebook", project.path / "notebooks" / "typed.ipynb", "--list-parameters") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "default", "type", "help"]
    assert lines[2].split() == ["epochs", "1", "int", "passes", "over", "the", "data"]
    assert lines[3].split() == ["lr", "0.1", "-", "-"]


# ------------------------------------------------------------------------------------------------- schedules
def test_schedule_add_list_and_remove(project, capsys):
    nb = project.path / "notebooks" / "nb.ipynb"
    assert tesla(project, "schedule", "add", "nightly", "--cron", "0 3 * * *", nb, "-p", "epochs", "5") == 0
    assert "added schedule 'nightly': 0 3 * * * (UTC)" in capsys.readouterr().out
    assert tesla(project, "schedule", "list") == 0
    listing = capsys.readouterr().out
    assert "nightly" in listing and "notebooks/nb.ipynb" in listing and '{"epochs": 5}' in listing
    assert tesla(project, "schedule", "list", "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["cron"] == "0 3 * * *" and row["parameters"] == {"epochs": 5} and row["next_run"].endswith("+00:00")
    assert row["last_run"] is None and "NaT" not in listing
    assert tesla(project, "schedule", "remove", "nightly") == 0
    assert list_schedules(project) == []


@pytest.mark.parametrize(("args", "message"), [
    (["--cron", "*/61 * * * *"], "error: invalid cron expression '*/61 * * * *': the minute step 61 is out of range "
                                 "1..59; e.g. '*/30 * * * *'"),
    (["--cron", "every day"], "error: invalid cron expression 'every day': it has 2 field(s), not 5; e.g."),
    (["--cron", "@hourly", "-p", "epoch", "3"], "error: unknown parameter 'epoch' for notebook nb.ipynb"),
])
def test_schedule_add_refuses_bad_input(project, capsys, args, message):
    nb = project.path / "notebooks" / "nb.ipynb"
    assert tesla(project, "schedule", "add", "s", nb, *args) == 1
    assert message in capsys.readouterr().err
    assert list_schedules(project) == []


def test_schedule_add_refuses_a_missing_notebook_and_a_duplicate_name(project, capsys):
    assert tesla(project, "schedule", "add", "s", "--cron", "@hourly", "missing.ipynb") == 1
    assert "error: notebook 'missing.ipynb' does not exist" in capsys.readouterr().err
    nb = project.path / "notebooks" / "nb.ipynb"
    assert tesla(project, "schedule", "add", "s", "--cron", "@hourly", nb) == 0
    assert tesla(project, "schedule", "add", "s", "--cron", "@daily", nb) == 1
    assert "error: a schedule named 's' already exists" in capsys.readouterr().err


def test_schedule_remove_of_an_unknown_name_lists_the_existing_ones(project, capsys):
    assert tesla(project, "schedule", "remove", "nope") == 1
    assert "error: no schedule named 'nope'; existing schedules: (none)" in capsys.readouterr().err


@pytest.mark.slow
def test_scheduler_once_runs_a_due_schedule_for_real_and_not_twice(project, capsys):
    # created 400 days ago with a yearly cron: exactly one slot (the last 1 January) is due now
    add_schedule(project, "yearly", "0 0 1 1 *", project.path / "notebooks" / "nb.ipynb", {"epochs": 3},
                 now=time.time() - 400 * 86400)
    assert tesla(project, "scheduler", "--once") == 0
    assert "yearly @ " in capsys.readouterr().out
    (row,) = schedule_runs(project).to_dict(orient="records")
    assert row["status"] == "finished" and row["missed"] == 0 and row["error"] is None
    run = project.get_run(row["run_id"])
    assert run.status == "finished" and run.params()["epochs"] == 3
    assert run.artifact_sha("notebook.ipynb") == row["output_sha256"]
    executed = nbformat.reads(run.load_artifact("notebook.ipynb").decode(), as_version=4)
    assert executed.metadata.papermill.parameters["tesla_run_id"] == run.id

    assert tesla(project, "scheduler", "--once") == 0  # a second pass: the slot was claimed, nothing runs
    assert "nothing due" in capsys.readouterr().out and len(schedule_runs(project)) == 1
    assert tesla(project, "schedule", "runs", "yearly") == 0
    assert "finished" in capsys.readouterr().out
