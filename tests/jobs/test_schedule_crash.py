"""A real scheduler process, killed or stopped while its papermill notebook runs: the notebook stops with it and
the store ends up telling what happened (tesla_lab.jobs.schedule, tesla_lab.jobs._leash)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import tesla_lab
from tesla_lab.jobs.notebooks import KERNEL_NAME
from tesla_lab.jobs.schedule import add_schedule, schedule_runs
from tesla_lab.store import Project

from .conftest import running_members

pytestmark = pytest.mark.slow

BODY = """import json, os, pathlib, time
pathlib.Path(marker).write_text(json.dumps({"pid": os.getpid(), "group": os.getpgrp()}))
time.sleep(seconds)
pathlib.Path(marker + ".done").write_text("done")"""


@pytest.fixture
def started(tmp_path):
    """A project with a due schedule whose notebook sleeps 60 s; yields (project, scheduler process, marker)."""
    project = Project.init(tmp_path / "proj")
    marker = tmp_path / "kernel.json"
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("marker = ''\nseconds = 1.0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "TESLA Lab", "language": "python"}
    nbformat.write(nb, str(project.path / "notebooks" / "sleep.ipynb"))
    add_schedule(project, "nap", "* * * * *", project.path / "notebooks" / "sleep.ipynb",
                 {"marker": str(marker), "seconds": 60.0}, now=time.time() - 3600)
    env = dict(os.environ, PYTHONPATH=str(Path(tesla_lab.__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "tesla_lab.cli", "scheduler", "--once"], cwd=project.path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180  # kernel start on 2 shared cores
        while not marker.is_file() or not marker.read_text():
            assert proc.poll() is None, "the scheduler ended before its notebook started"
            assert time.monotonic() < deadline, "the notebook did not start within 180 s"
            time.sleep(0.2)
        yield project, proc, marker
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _group_gone(group, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not running_members(group):
            return True
        time.sleep(0.2)
    return False


def test_a_killed_scheduler_takes_its_notebook_with_it_and_the_next_open_says_so(started):
    project, proc, marker = started
    group = json.loads(marker.read_text())["group"]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    try:  # papermill and its kernel (one process group) stop: SIGINT at once, SIGKILL 10 s later at the latest
        assert _group_gone(group, 30), "the notebook's processes outlived the killed scheduler"
    finally:
        if not _group_gone(group, 0.1):
            os.killpg(group, signal.SIGKILL)
    assert not Path(str(marker) + ".done").exists()  # the notebook did not run on

    reopened = Project(project.path)  # the next open (any tesla command, the next scheduler start)
    row = schedule_runs(reopened).iloc[0]
    assert row["status"] == "failed"
    assert row["error"].startswith(f"the scheduler (pid {proc.pid} on ") and "stopped with it" in row["error"]
    run = reopened.get_run(row["run_id"])
    assert run.status == "crashed" and run.info()["error"].startswith(f"the scheduler (pid {proc.pid} on ")


def test_sigterm_stops_the_notebook_and_records_stopped(started):
    project, proc, marker = started
    group = json.loads(marker.read_text())["group"]
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=60) == 0  # a stopped execution is a clean exit
    finally:
        if not _group_gone(group, 15):
            os.killpg(group, signal.SIGKILL)
    assert not Path(str(marker) + ".done").exists()
    row = schedule_runs(project).iloc[0]
    assert (row["status"], row["error"]) == ("stopped", "stopped on request")
    run = project.get_run(row["run_id"])
    assert run.status == "stopped" and set(run.artifacts()["name"]) >= {"papermill.log"}
