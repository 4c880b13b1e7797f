"""Crashed runs: a run whose process died is marked ``crashed`` the next time the project is opened (pid + start
time + host), a live one is not; reopening a run to resume it in place; the schema migration that adds this."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tesla_lab.store import Project
from tesla_lab.store.db import MIGRATIONS, Database, StoreError
from tesla_lab.store.liveness import current_host, process_identity, process_state

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
CHILD = ("import sys, time; from tesla_lab.store import Project; "
         "run = Project(sys.argv[1]).start_run(name='child'); print(run.id, flush=True); time.sleep(120)")


def _child(root):
    """A real process that starts a run and keeps it running; returns (process, run id)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, env=env, text=True)
    run_id = process.stdout.readline().strip()
    assert len(run_id) == 32, f"the child did not start a run: {run_id!r}"
    return process, run_id


def test_a_run_whose_process_was_killed_is_crashed_at_the_next_open_and_a_live_one_is_not(tmp_path, store_engine):
    Project.init(tmp_path)
    killed, killed_id = _child(tmp_path)
    alive, alive_id = _child(tmp_path)
    try:
        info = Project(tmp_path).get_run(killed_id).info()
        assert info["status"] == "running" and info["pid"] == killed.pid and info["host"] == current_host()
        assert abs(info["pid_started"] - process_identity(killed.pid).started) < 1e-6
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        project = Project(tmp_path)  # any entry point: opening the project sweeps
        crashed = project.get_run(killed_id).info()
        assert crashed["status"] == "crashed" and crashed["ended"] is not None
        assert f"pid {killed.pid}" in crashed["error"] and "resume it" in crashed["error"]
        assert project.get_run(alive_id).status == "running"
        assert project.sweep_crashed() == []  # nothing new: idempotent
    finally:
        alive.kill()
        alive.wait(timeout=30)
    assert Project(tmp_path).get_run(alive_id).status == "crashed"


def test_a_zombie_counts_as_dead(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while process_state(process.pid) == "alive" and time.monotonic() < deadline:
        time.sleep(0.05)  # the child exited; it stays a zombie until waited for
    assert process_state(process.pid) == "gone"
    process.wait()


def test_a_reused_pid_with_another_start_time_is_crashed(tmp_path, store_engine):
    project = Project.init(tmp_path)
    run = project.start_run(name="reboot")  # this process: alive
    me = process_identity()
    with project.db.transaction() as conn:  # the run's process started an hour before this one: a reused pid
        conn.execute("UPDATE runs SET pid_started = ? WHERE id = ?", (me.started - 3600, run.id))
    assert Project(tmp_path).get_run(run.id).status == "crashed"
    assert process_state(me.pid, me.started) == "alive" and process_state(me.pid, me.started + 5) == "gone"


def test_runs_of_another_host_are_left_alone(tmp_path, store_engine):
    project = Project.init(tmp_path)
    run = project.start_run(name="elsewhere")
    with project.db.transaction() as conn:  # a dead pid, but on another machine sharing the folder
        conn.execute("UPDATE runs SET host = 'gpu-node-7', pid = 999999999 WHERE id = ?", (run.id,))
    assert Project(tmp_path).get_run(run.id).status == "running"


def test_a_queued_run_whose_worker_died_before_training_is_crashed(tmp_path, store_engine):
    project = Project.init(tmp_path)
    run = project.start_run(name="queued", status="queued")
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    run.record_process(process.pid)
    process.wait(timeout=30)
    assert Project(tmp_path).get_run(run.id).status == "crashed"
    plain = project.start_run(name="no worker yet", status="queued")  # no process recorded: left queued
    assert Project(tmp_path).get_run(plain.id).status == "queued"


def test_reopen_resumes_in_place_and_refuses_finished_and_running_runs(tmp_path, store_engine):
    project = Project.init(tmp_path)
    run = project.start_run(name="r")
    for step in range(4):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.request_stop()
    with pytest.raises(StoreError, match="is running; only a stopped, failed or crashed run can be resumed"):
        run.reopen()
    run.finish("crashed", error="boom")
    run.reopen(from_step=2)
    info = run.info()
    assert (info["status"], info["resumed"], info["error"], info["stop_requested"]) == ("queued", 1, None, False)
    assert list(run.history().index) == [0, 1]  # epochs past the checkpoint are trained again
    run.start()
    run.finish("stopped")
    run.reopen()
    assert run.resumed == 2 and list(run.history().index) == [0, 1]
    assert project.runs().loc[0, "resumed"] == 2 and project.runs().loc[0, "epochs_done"] == 2
    run.finish("finished")
    with pytest.raises(StoreError, match="is finished; only a stopped, failed or crashed run can be resumed"):
        run.reopen()


def test_epochs_done_ignores_test_metrics(tmp_path, store_engine):
    project = Project.init(tmp_path)
    with project.start_run(name="r") as run:
        run.log_metrics({"loss": 0.5}, step=0)
        run.log_metrics({"loss": 0.4, "test_accuracy": 0.9}, step=1)
        run.log_metrics({"test_x": 1.0}, step=40)
    assert project.runs()[["epochs_done", "resumed"]].values.tolist() == [[2, 0]]


def test_the_v3_migration_keeps_every_run_metric_and_artifact_and_allows_crashed(tmp_path):
    path = tmp_path / "store.db"
    old = Database(path, migrations=MIGRATIONS[:2])
    with old.transaction() as conn:
        conn.execute("INSERT INTO runs (id, name, status, created, pid) VALUES ('a', 'old', 'running', 1.0, 42)")
        conn.execute("INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES ('a', 'loss', 0, 0.5, 1.0)")
        conn.execute("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1')")
    old.close()
    db = Database(path)
    assert db.schema_version == len(MIGRATIONS)
    row = db.query_one("SELECT name, status, pid, resumed, host FROM runs WHERE id = 'a'")
    assert tuple(row) == ("old", "running", 42, 0, None)
    assert db.query_one("SELECT COUNT(*) FROM metrics")[0] == 1 and db.query_one("SELECT COUNT(*) FROM params")[0] == 1
    assert db.query_one("PRAGMA foreign_keys")[0] == 1
    with db.transaction() as conn:
        conn.execute("UPDATE runs SET status = 'crashed' WHERE id = 'a'")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE runs SET status = 'exploded' WHERE id = 'a'")
    with db.transaction() as conn:  # the children still cascade with the rebuilt table
        conn.execute("DELETE FROM runs WHERE id = 'a'")
    assert db.query_one("SELECT COUNT(*) FROM metrics")[0] == 0
