"""The REST handlers under /tesla-lab/, through a real Jupyter server (pytest-jupyter's jp_fetch)."""

import json
import sys
import types
from pathlib import Path

import pytest
import tornado.httpclient

from tesla_lab.store import Project
from tests.jupyter.conftest import expect_error, fetch_json


async def test_overview_lists_a_running_run_with_its_key_metric_and_progress(jp_fetch, project):
    run = project.start_run(name="tt-rank-8", params={"epochs": 5})
    run.log_metrics({"loss": 0.7, "val_accuracy": 0.81}, step=0)
    run.log_metrics({"loss": 0.5, "val_accuracy": 0.88}, step=1)
    done = project.start_run(name="baseline")
    done.log_metric("loss", 0.4, step=0)
    done.finish()

    code, data = await fetch_json(jp_fetch, "overview")

    assert code == 200
    assert data["project"]["name"] == "lab-test"
    assert data["active"] == 1
    rows = {r["name"]: r for r in data["runs"]}
    assert rows["tt-rank-8"]["status"] == "running"
    assert rows["tt-rank-8"]["key_metric"] == {"name": "val_accuracy", "value": 0.88}
    assert rows["tt-rank-8"]["progress"] == {"done": 2, "total": 5, "fraction": 0.4}
    assert rows["baseline"]["progress"] is None
    assert rows["baseline"]["key_metric"] == {"name": "loss", "value": 0.4}


async def test_overview_lists_datasets_models_and_notebooks(write_template, jp_fetch, project):
    import pandas as pd
    import torch

    project.datasets.snapshot("digits", pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}))
    run = project.start_run(name="trained")
    run.log_model(torch.nn.Linear(2, 1))
    run.finish()
    project.registry.register_model("classifier", run_id=run.id)
    write_template(project.notebooks_dir / "train.ipynb")

    _, data = await fetch_json(jp_fetch, "overview")

    assert [(d["name"], d["head"], d["n_rows"]) for d in data["datasets"]] == [("digits", 1, 2)]
    assert [(m["name"], m["version"]) for m in data["models"]] == [("classifier", 1)]
    assert data["notebooks"] == [{"name": "notebooks/train.ipynb", "path": "notebooks/train.ipynb"}]


async def test_overview_without_a_project_offers_to_create_one(jp_fetch, jp_root_dir):
    _, data = await fetch_json(jp_fetch, "overview")
    assert data["project"] is None
    assert data["project_dir"] == str(jp_root_dir)

    code, created = await fetch_json(jp_fetch, "project", method="POST", body=json.dumps({"name": "fresh"}))

    assert code == 201 and created["name"] == "fresh"
    _, data = await fetch_json(jp_fetch, "overview")
    assert data["project"]["name"] == "fresh"
    await expect_error(jp_fetch, 409, "already exists", "project", method="POST", body="{}")


async def test_requests_without_the_token_are_refused(jp_serverapp, http_server_client, jp_base_url, project):
    for method, path, body in [("GET", "overview", None), ("POST", "runs/abc/stop", "{}"), ("GET", "config", None)]:
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await http_server_client.fetch(f"{jp_base_url}tesla-lab/{path}", method=method, body=body)
        assert info.value.code == 403, (method, path)


async def test_stop_sets_the_runs_stop_flag(jp_fetch, project):
    run = project.start_run(name="long")

    code, data = await fetch_json(jp_fetch, "runs", run.id, "stop", method="POST", body="")

    assert code == 200 and data["stop_requested"] is True
    assert data["background_job"] is False  # started in this process, not by tesla_lab.jobs: only the flag
    assert run.stop_requested()


async def test_stop_refuses_an_ended_run_and_names_an_unknown_one(jp_fetch, project):
    run = project.start_run(name="over")
    run.finish()
    await expect_error(jp_fetch, 400, "already ended", "runs", run.id, "stop", method="POST", body="")
    await expect_error(jp_fetch, 404, "no run with id", "runs", "nosuchrun", "stop", method="POST", body="")


async def test_routes_needing_a_project_say_how_to_create_one(jp_fetch):
    await expect_error(jp_fetch, 404, "no TESLA project", "runs", "abc", "stop", method="POST", body="")


async def test_template_route_lists_the_training_parameters(write_template, jp_fetch, project):
    write_template(project.notebooks_dir / "train.ipynb")

    _, data = await fetch_json(jp_fetch, "notebooks", "template")

    params = {p["name"]: p for p in data["parameters"]}
    assert list(params) == ["epochs", "rank", "dataset", "lr"]
    assert (params["dataset"]["type"], params["dataset"]["value"]) == ("str", "digits")
    assert (params["lr"]["type"], params["lr"]["value"]) == ("float", "0.01")


async def test_template_route_reports_a_missing_template(jp_fetch, project):
    await expect_error(jp_fetch, 404, "does not exist", "notebooks", "template",
                       params={"path": "notebooks/missing.ipynb"})


async def test_without_the_default_template_the_packaged_training_notebook_answers(jp_fetch, project):
    assert not (project.notebooks_dir / "train.ipynb").exists()  # a project made before `tesla init` wrote it
    code, data = await fetch_json(jp_fetch, "notebooks", "template")
    assert code == 200 and Path(data["template"]).parts[-3:] == ("tesla_lab", "templates", "train.ipynb")
    assert {"dataset", "framework", "epochs", "iterations"} <= {p["name"] for p in data["parameters"]}


async def test_new_notebook_gets_the_parameters_injected(write_template, jp_fetch, project, jp_root_dir):
    import nbformat

    write_template(project.notebooks_dir / "train.ipynb")
    body = {"parameters": {"epochs": "7", "dataset": "mnist"}, "name": "mnist-7"}

    code, data = await fetch_json(jp_fetch, "notebooks", method="POST", body=json.dumps(body))

    assert code == 201 and data["path"] == "notebooks/mnist-7.ipynb"
    nb = nbformat.read(jp_root_dir / data["path"], as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "epochs = 7" in injected[0].source and 'dataset = "mnist"' in injected[0].source
    await expect_error(jp_fetch, 400, "already exists", "notebooks", method="POST", body=json.dumps(body))


async def test_new_notebook_rejects_a_bad_parameter(write_template, jp_fetch, project):
    write_template(project.notebooks_dir / "train.ipynb")
    bad = {"parameters": {"epochs": "many"}}
    await expect_error(jp_fetch, 400, "takes a int", "notebooks", method="POST", body=json.dumps(bad))
    await expect_error(jp_fetch, 400, "no parameter 'depth'", "notebooks", method="POST",
                       body=json.dumps({"parameters": {"depth": "3"}}))
    await expect_error(jp_fetch, 400, "must be JSON", "notebooks", method="POST", body="{oops")


async def test_jobs_route_hands_the_notebook_to_the_jobs_module(write_template, jp_fetch, project, monkeypatch):
    calls = []
    fake = types.ModuleType("tesla_lab.jobs.notebooks")

    def run(notebook, parameters, project=None, check=True, on_start=None):
        calls.append((notebook, parameters, project, check))
        on_start(project.start_run(name="train.ipynb"))

    fake.run = run
    monkeypatch.setitem(sys.modules, "tesla_lab.jobs.notebooks", fake)
    path = write_template(project.notebooks_dir / "train.ipynb")

    code, data = await fetch_json(jp_fetch, "jobs", method="POST",
                                  body=json.dumps({"path": "notebooks/train.ipynb", "parameters": {"rank": "4"}}))

    assert code == 202
    assert data["notebook"] == "notebooks/train.ipynb" and data["name"] == "train.ipynb"
    assert project.get_run(data["run_id"]).name == "train.ipynb"
    (notebook, parameters, passed_project, check), = calls
    assert notebook == str(path) and parameters == {"rank": 4} and check is False
    assert isinstance(passed_project, Project)


async def test_jobs_route_reports_an_error_raised_before_the_run_starts(write_template, jp_fetch, project,
                                                                       monkeypatch):
    from tesla_lab.errors import ConfigError

    fake = types.ModuleType("tesla_lab.jobs.notebooks")

    def run(notebook, parameters, project=None, check=True, on_start=None):
        raise ConfigError("no Jupyter kernel named 'tesla-lab'")

    fake.run = run
    monkeypatch.setitem(sys.modules, "tesla_lab.jobs.notebooks", fake)
    write_template(project.notebooks_dir / "train.ipynb")
    await expect_error(jp_fetch, 400, "no Jupyter kernel named", "jobs", method="POST",
                       body=json.dumps({"path": "notebooks/train.ipynb"}))


async def test_jobs_route_refuses_paths_outside_the_root_and_project(jp_fetch, project):
    await expect_error(jp_fetch, 400, "outside the Jupyter root", "jobs", method="POST",
                       body=json.dumps({"path": "../elsewhere.ipynb"}))
    await expect_error(jp_fetch, 404, "not a notebook inside the project", "jobs", method="POST",
                       body=json.dumps({"path": "missing.ipynb"}))
    await expect_error(jp_fetch, 400, "'path' must be", "jobs", method="POST", body=json.dumps({}))


async def test_config_and_dashboard_routes_report_the_settings(jp_fetch, jp_root_dir):
    _, config = await fetch_json(jp_fetch, "config")
    assert config["dashboard_url"] == "http://127.0.0.1:9/"
    assert config["project_dir"] == str(jp_root_dir)

    _, dashboard = await fetch_json(jp_fetch, "dashboard")
    assert dashboard["reachable"] is False
    assert "tesla dashboard" in dashboard["hint"]


async def test_dashboard_route_sees_a_server_that_answers(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    # this Jupyter server stands in for the dashboard: its /liveness is a 404, which still means it runs
    jp_serverapp.web_app.settings["tesla_lab"].config.dashboard_url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    _, dashboard = await fetch_json(jp_fetch, "dashboard")
    assert dashboard["reachable"] is True and dashboard["hint"] is None
