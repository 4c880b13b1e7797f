"""What a click in the sidebar reaches, through a real Jupyter server (jp_fetch): a run's page and its executed
notebook, a model's stage change, the notebook form's hidden fields and validation, a notebook job's progress in
real epochs, and the choices in a folder without a project (create, refused in a TESLA Lab checkout without a
confirmation; the demo project)."""

import json

from tesla_lab.store import Project
from tests.jupyter.conftest import expect_error, fetch_json


def _post(body):
    return {"method": "POST", "body": json.dumps(body)}


async def test_a_run_page_has_its_curves_params_and_last_metrics(jp_fetch, project):
    run = project.start_run(name="tt-rank-4", params={"epochs": 3, "tt_rank": 4}, config={"lr": 0.01})
    for step, (loss, acc) in enumerate([(0.9, 0.5), (0.6, 0.7), (0.4, 0.8)]):
        run.log_metrics({"loss": loss, "val_accuracy": acc}, step=step)
    run.finish()

    code, page = await fetch_json(jp_fetch, "runs", "tt-rank-4")

    assert code == 200
    assert (page["id"], page["name"], page["status"], page["kind"]) == (run.id, "tt-rank-4", "finished", "train")
    assert page["params"] == {"epochs": 3, "tt_rank": 4}
    assert page["config"] == {"lr": 0.01}
    assert page["curves"]["loss"] == {"steps": [0, 1, 2], "values": [0.9, 0.6, 0.4]}
    assert page["curves"]["val_accuracy"]["values"] == [0.5, 0.7, 0.8]
    assert page["summary"] == {"loss": 0.4, "val_accuracy": 0.8}
    assert page["notebook"] is False
    await expect_error(jp_fetch, 404, "no-such-run", "runs", "no-such-run")


async def test_the_executed_notebook_of_a_run_is_copied_where_jupyterlab_opens_it(jp_fetch, project):
    run = project.start_run(name="nightly job", config={"kind": "notebook", "notebook": "notebooks/train.ipynb"})
    executed = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    run.log_artifact("notebook.ipynb", executed, kind="notebook")
    run.finish()
    plain = project.start_run(name="plain")

    _, page = await fetch_json(jp_fetch, "runs", run.id)
    assert (page["kind"], page["notebook"], page["notebook_source"]) == ("notebook", True, "notebooks/train.ipynb")
    code, opened = await fetch_json(jp_fetch, "runs", run.id[:8], "notebook", method="POST", body="")

    assert code == 200
    assert opened["path"] == f"notebooks/executed/nightly-job-{run.id[:8]}.ipynb"
    assert (project.path / opened["path"]).read_bytes() == executed
    _, again = await fetch_json(jp_fetch, "runs", run.id, "notebook", method="POST", body="")
    assert again["path"] == opened["path"]  # made once
    await expect_error(jp_fetch, 404, "has no executed notebook", "runs", plain.id, "notebook", method="POST",
                       body="")


async def test_a_model_is_promoted_and_archived_from_the_sidebar(jp_fetch, project):
    run = project.start_run(name="r")
    sha = run.log_artifact("model.pt", b"weights")
    project.registry.register_model("digits", run_id=run.id, artifact=sha)
    project.registry.register_model("digits", run_id=run.id, artifact=sha)

    code, moved = await fetch_json(jp_fetch, "models", "digits", "2", "stage", **_post({"stage": "production"}))
    assert (code, moved) == (200, {"name": "digits", "version": 2, "stage": "production"})
    await fetch_json(jp_fetch, "models", "digits", "1", "stage", **_post({"stage": "archived"}))

    stages = dict(zip(*project.registry.list_models("digits")[["version", "stage"]].T.values))
    assert stages == {2: "production", 1: "archived"}
    await expect_error(jp_fetch, 400, "unknown model stage 'live'; choose one of", "models", "digits", "1", "stage",
                       **_post({"stage": "live"}))
    await expect_error(jp_fetch, 400, "a model version is a number", "models", "digits", "v1", "stage",
                       **_post({"stage": "archived"}))


async def test_the_notebook_form_hides_runner_fields_and_shows_none_as_empty(jp_fetch, project, write_template):
    write_template(project.notebooks_dir / "train.ipynb",
                   "epochs = 3\ntarget = None\nproject_dir = '.'\ntesla_run_id = None\n")

    _, template = await fetch_json(jp_fetch, "notebooks", "template")

    fields = {p["name"]: p for p in template["parameters"]}
    assert {n for n, p in fields.items() if p["internal"]} == {"project_dir", "tesla_run_id"}
    assert fields["target"]["value"] == ""  # not the text "None"
    assert fields["epochs"]["value"] == "3" and fields["epochs"]["internal"] is False


async def test_the_notebook_form_is_validated_before_anything_is_created(jp_fetch, project, write_template):
    write_template(project.notebooks_dir / "train.ipynb")
    before = sorted(p.name for p in project.notebooks_dir.iterdir())

    _, bad = await fetch_json(jp_fetch, "notebooks", "validate",
                              **_post({"parameters": {"epochs": "ten", "lr": "0.1", "nope": "1"}}))
    _, good = await fetch_json(jp_fetch, "notebooks", "validate", **_post({"parameters": {"epochs": "10"}}))

    assert set(bad["errors"]) == {"epochs", "nope"}
    assert "parameter 'epochs' takes a int; got 'ten'" in bad["errors"]["epochs"]
    assert "the notebook has no parameter 'nope'" in bad["errors"]["nope"]
    assert good == {"errors": {}}
    assert sorted(p.name for p in project.notebooks_dir.iterdir()) == before


async def test_a_notebook_jobs_progress_counts_the_epochs_of_the_training_it_started(jp_fetch, project):
    job = project.start_run(name="train.ipynb", config={"kind": "notebook"}, params={"epochs": 10})
    training = project.start_run(name="iris-tt_mlp", status="queued")
    job.log_param("training_run_id", training.id)
    for epoch in range(4):
        training.log_metric("loss", 1.0 / (epoch + 1), step=epoch)

    _, data = await fetch_json(jp_fetch, "overview")

    rows = {r["name"]: r for r in data["runs"]}
    assert rows["train.ipynb"]["progress"] == {"done": 4, "total": 10, "fraction": 0.4}


async def test_create_project_in_a_tesla_lab_checkout_needs_a_confirmation(jp_fetch, jp_root_dir):
    (jp_root_dir / "tesla_lab").mkdir()
    (jp_root_dir / "pyproject.toml").write_text('[project]\nname = "tesla-lab"\nversion = "0.1.0"\n')
    before = sorted(p.name for p in jp_root_dir.iterdir())

    message = await expect_error(jp_fetch, 428, "inside a checkout of TESLA Lab's own sources", "project",
                                 **_post({"name": "mine"}))
    assert "nothing was written" in message
    assert sorted(p.name for p in jp_root_dir.iterdir()) == before

    code, created = await fetch_json(jp_fetch, "project", **_post({"name": "mine", "confirm": True}))
    assert code == 201 and created["name"] == "mine"
    assert (jp_root_dir / "tesla.yaml").is_file()


async def test_create_project_elsewhere_needs_no_confirmation(jp_fetch, jp_root_dir):
    code, created = await fetch_json(jp_fetch, "project", **_post({"name": "plain"}))
    assert code == 201 and Project(jp_root_dir).name == "plain"


async def test_the_demo_project_replaces_the_missing_one(jp_fetch, jp_root_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TESLA_DEMO_DIR", str(tmp_path / "demo"))
    _, before = await fetch_json(jp_fetch, "overview")
    assert before["project"] is None

    code, demo = await fetch_json(jp_fetch, "project", "demo", method="POST", body="")
    _, after = await fetch_json(jp_fetch, "overview")

    assert code == 200 and demo == {"name": "tesla-demo", "path": str((tmp_path / "demo").resolve())}
    assert after["project"] == demo
    assert [d["name"] for d in after["datasets"]] == ["digits"]
    assert not (jp_root_dir / "tesla.yaml").exists()  # nothing written in the Jupyter folder
