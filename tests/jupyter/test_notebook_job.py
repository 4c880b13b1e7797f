"""The jobs route with the real papermill runner: a tiny notebook runs in the background and its run finishes."""

import json
import time

import pytest

pytest.importorskip("papermill")
pytest.importorskip("tesla_lab.jobs.notebooks")

pytestmark = pytest.mark.slow


async def test_a_notebook_job_started_from_the_lab_runs_to_the_end(jp_fetch, project, write_template):
    write_template(project.notebooks_dir / "tiny.ipynb", source="epochs = 1\nrank = 2\ndataset = 'x'\nlr = 0.1\n")

    response = await jp_fetch("tesla-lab", "jobs", method="POST",
                              body=json.dumps({"path": "notebooks/tiny.ipynb", "parameters": {"rank": "3"}}))
    data = json.loads(response.body)

    assert response.code == 202 and data["status"] == "running"
    run = project.get_run(data["run_id"])
    deadline = time.monotonic() + 120
    while run.status == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run.status == "finished", run.info()["error"]
    assert run.params()["rank"] == 3


async def test_a_training_notebook_jobs_progress_shows_real_epochs_while_it_runs(jp_fetch, project):
    import asyncio
    import shutil

    from tesla_lab.workflow import template_notebook

    shutil.copy(str(template_notebook("train.ipynb")), project.notebooks_dir / "train.ipynb")
    body = {"path": "notebooks/train.ipynb",
            "parameters": {"dataset": "digits", "epochs": "400", "family": "mlp", "framework": "torch",
                           "model": "{'hidden_sizes': [16]}", "device": "cpu", "run_name": "digits-job"}}
    response = await jp_fetch("tesla-lab", "jobs", method="POST", body=json.dumps(body))
    job_id = json.loads(response.body)["run_id"]

    seen = None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        rows = {r["id"]: r for r in json.loads((await jp_fetch("tesla-lab", "overview")).body)["runs"]}
        progress = rows[job_id]["progress"]
        if progress is None:  # the job ended before we saw it train
            break
        if progress["done"] >= 2:
            seen = progress
            break
        await asyncio.sleep(0.3)
    await jp_fetch("tesla-lab", "runs", job_id, "stop", method="POST", body="")
    job = project.get_run(job_id)
    while job.status == "running" and time.monotonic() < deadline + 60:
        await asyncio.sleep(0.5)

    assert seen is not None, f"the job's progress never counted an epoch; its run: {job.info()}"
    assert seen["total"] == 400 and 2 <= seen["done"] < 400  # counted while it ran, not "0 epochs"
    training = project.get_run(job.params()["training_run_id"])
    assert training.name == "digits-job"
