"""tesla_lab.jupyter.api without a server: what the sidebar is shown, and the errors its actions raise."""

import importlib
import math
import types

import pandas as pd
import pytest

from tesla_lab.errors import ConfigError, NotFoundError
from tesla_lab.jupyter import api
from tesla_lab.store import Project


@pytest.fixture
def project(tmp_path):
    return Project.init(tmp_path / "proj", name="unit")


def test_key_metric_prefers_validation_accuracy_then_falls_back_to_the_first_metric_by_name(project):
    a = project.start_run(name="a")
    a.log_metrics({"loss": 0.3, "val_accuracy": 0.9, "accuracy": 0.95}, step=0)
    b = project.start_run(name="b")
    b.log_metrics({"zeta": 2.0, "mae": 0.1}, step=0)
    project.start_run(name="c")

    rows = {r["name"]: r for r in api.run_list(project)}

    assert rows["a"]["key_metric"] == {"name": "val_accuracy", "value": 0.9}
    assert rows["b"]["key_metric"] == {"name": "mae", "value": 0.1}
    assert rows["c"]["key_metric"] is None


def test_progress_takes_the_planned_epochs_from_the_config_when_no_param_says(project):
    run = project.start_run(name="cfg", config={"epochs": 4})
    for epoch in range(3):
        run.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    unknown = project.start_run(name="open-ended")
    unknown.log_metric("loss", 1.0, step=0)

    rows = {r["name"]: r for r in api.run_list(project)}

    assert rows["cfg"]["progress"] == {"done": 3, "total": 4, "fraction": 0.75}
    assert rows["open-ended"]["progress"] == {"done": 1, "total": None, "fraction": None}


def test_overview_counts_queued_and_running_runs_as_active(project):
    project.start_run(name="q", status="queued")
    project.start_run(name="r")
    project.start_run(name="f").finish()
    data = api.overview(project)
    assert data["active"] == 2
    assert [r["name"] for r in data["runs"]] == ["f", "r", "q"]  # newest first


def test_to_json_turns_missing_values_into_null():
    assert api.to_json([math.inf, pd.NaT, None, float("nan")]) == [None, None, None, None]


def test_find_project_looks_upward_and_returns_none_without_one(project, tmp_path):
    sub = project.path / "notebooks"
    assert api.find_project(sub).path == project.path
    assert api.find_project(tmp_path) is None


def test_stop_run_refuses_an_ended_run(project):
    run = project.start_run(name="done")
    run.finish()
    with pytest.raises(ConfigError, match=r"already ended \(finished\); only queued or running"):
        api.stop_run(project, "done")


def test_stop_run_lets_a_background_job_escalate(project, tmp_path, monkeypatch):
    run = project.start_run(name="bg")
    log = tmp_path / "worker.log"
    log.write_text("epoch 1\n")
    stopped = []
    job = types.SimpleNamespace(log_path=log, stop=lambda: stopped.append(True))
    jobs = importlib.import_module("tesla_lab.jobs")
    monkeypatch.setattr(jobs, "attach", lambda project, run: job)

    result = api.stop_run(project, run.id)

    assert result["background_job"] is True and stopped == [True]
    assert run.stop_requested()


def test_coerce_parameters_checks_the_declared_type():
    declared = [{"name": "epochs", "type": "int"}, {"name": "flag", "type": "bool"}, {"name": "x", "type": "None"}]
    assert api.coerce_parameters(declared, {"flag": "False", "x": "hello", "epochs": 3}) == {
        "flag": False, "x": "hello", "epochs": 3}
    with pytest.raises(ConfigError, match=r"parameter 'epochs' takes a int; got '0.5' \(float\)"):
        api.coerce_parameters(declared, {"epochs": "0.5"})
    with pytest.raises(ConfigError, match=r"parameter 'epochs' takes a int; got 'True' \(bool\)"):
        api.coerce_parameters(declared, {"epochs": "True"})
    with pytest.raises(ConfigError, match="takes a bool; got 'yes'; type a Python literal such as True"):
        api.coerce_parameters(declared, {"flag": "yes"})
    with pytest.raises(ConfigError, match="no parameter 'rank'; its parameters are: epochs, flag, x"):
        api.coerce_parameters(declared, {"rank": "2"})


def test_template_parameters_reports_a_missing_template(project):
    with pytest.raises(NotFoundError, match=r"template .*missing.ipynb does not exist; point c.TeslaLab.template at"):
        api.template_parameters(project, "notebooks/missing.ipynb")


def test_create_notebook_refuses_bad_or_taken_names(project, write_template):
    write_template(project.notebooks_dir / "train.ipynb")
    first = api.create_notebook(project, "notebooks/train.ipynb", {"rank": "4"})
    second = api.create_notebook(project, "notebooks/train.ipynb", {})
    assert first != second and first.name.startswith("train-") and second.is_file()
    with pytest.raises(ConfigError, match="a notebook name is a file name in notebooks/"):
        api.create_notebook(project, "notebooks/train.ipynb", {}, name="../escape")
    with pytest.raises(ConfigError, match="a notebook name is a file name"):
        api.create_notebook(project, "notebooks/train.ipynb", {}, name=".hidden")
    with pytest.raises(ConfigError, match="train.ipynb already exists; choose another name"):
        api.create_notebook(project, "notebooks/train.ipynb", {}, name="train")


def test_run_notebook_refuses_a_notebook_outside_the_project(project, tmp_path, write_template):
    outside = write_template(tmp_path / "other.ipynb")
    write_template(project.notebooks_dir / "train.ipynb")
    with pytest.raises(NotFoundError, match=r"is not a notebook inside the project .*pick one of: notebooks/train"):
        api.run_notebook(project, str(outside), {})


def test_missing_optional_packages_name_the_extra(project, monkeypatch, write_template):
    write_template(project.notebooks_dir / "train.ipynb")
    real = importlib.import_module

    def no_papermill(name, *args):
        if name == "papermill":
            raise ImportError("No module named 'papermill'")
        return real(name, *args)

    monkeypatch.setattr(api.importlib, "import_module", no_papermill)
    with pytest.raises(api.LabDependencyError, match=r"papermill is not importable .*pip install 'tesla-lab\[lab\]'"):
        api.template_parameters(project, "notebooks/train.ipynb")


def test_active_counts_runs_beyond_the_listed_ones(project):
    project.start_run(name="old-but-running")
    project.start_run(name="newest").finish()
    data = api.overview(project, limit=1)
    assert [r["name"] for r in data["runs"]] == ["newest"]
    assert data["active"] == 1
