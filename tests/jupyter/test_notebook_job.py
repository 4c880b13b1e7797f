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
