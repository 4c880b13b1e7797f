"""Several writers on one store: processes at once lose nothing, a SIGKILLed writer leaves a consistent store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tesla_lab.store import Project

_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from tesla_lab.store import Project

    root, run_id, key, n, ready, go = sys.argv[1:]
    run = Project(root).get_run(run_id)
    Path(ready).touch()
    while not Path(go).exists():  # start together, so the writes really overlap
        time.sleep(0.005)
    for step in range(int(n)):
        run.log_metric(key, step * 0.5, step=step)  # one transaction per value: as much contention as possible
""")

_ENDLESS = textwrap.dedent("""
    import sys
    from tesla_lab.store import Project

    root, run_id, width = sys.argv[1:]
    run = Project(root).get_run(run_id)
    step = 0
    while True:  # until SIGKILL; each step is one transaction of `width` rows
        run.log_metrics({f"m{k:02d}": step * 1000 + k for k in range(int(width))}, step=step)
        step += 1
""")


def _env():
    # the children import tesla_lab from this checkout
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    project = Project.init(tmp_path / "proj")
    run = project.start_run(name="shared")
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    n = 400
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(script), str(project.path), run.id, key, str(n),
                               str(tmp_path / f"ready-{key}"), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for key in ("a", "b")]
    try:
        _wait_for(lambda: all((tmp_path / f"ready-{k}").exists() or p.poll() is not None
                              for k, p in zip("ab", procs)), 120, "the writers to start")
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "locked" not in err
    frame = run.metrics()
    for key in ("a", "b"):
        rows = frame[frame["key"] == key]
        assert rows["step"].tolist() == list(range(n))
        assert rows["value"].tolist() == [s * 0.5 for s in range(n)]
    assert project.db.integrity_check() == "ok"


def test_a_writer_killed_mid_run_leaves_every_committed_step_whole(tmp_path):
    project = Project.init(tmp_path / "proj")
    run = project.start_run(name="victim")
    script = tmp_path / "endless.py"
    script.write_text(_ENDLESS)
    width = 40
    proc = subprocess.Popen([sys.executable, str(script), str(project.path), run.id, str(width)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        def enough():
            if proc.poll() is not None:
                pytest.fail(f"writer exited early: {proc.communicate()[1]}")
            row = project.db.query_one("SELECT COUNT(DISTINCT step) FROM metrics WHERE run_id = ?", (run.id,))
            return row[0] >= 30

        _wait_for(enough, 120, "the writer to commit 30 steps")
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup, no rollback: mid-transaction most likely
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)  # reap it and close the pipes
    assert proc.returncode == -signal.SIGKILL
    project.close()

    reopened = Project(project.path)  # a new connection, as the UI would open after the crash
    assert reopened.db.integrity_check() == "ok"
    frame = reopened.get_run(run.id).metrics()
    per_step = frame.groupby("step")["key"].count()
    assert len(per_step) >= 30
    assert per_step.index.tolist() == list(range(len(per_step)))  # committed steps are contiguous
    assert (per_step == width).all()  # no step is partially written: the interrupted transaction is absent
    expected = frame["step"] * 1000 + frame["key"].str[1:].astype(int)
    assert (frame["value"] == expected).all()
    assert reopened.get_run(run.id).status == "running"  # nobody could mark it; the store is still writable:
    reopened.get_run(run.id).finish("failed", error="killed")
    assert reopened.get_run(run.id).status == "failed"


def test_threads_sharing_one_project_each_write_safely(tmp_path):
    project = Project.init(tmp_path / "proj")
    runs = [project.start_run(name=f"t{i}") for i in range(4)]
    errors = []

    def work(run):
        try:
            for step in range(25):
                run.log_metrics({"loss": 1.0 / (step + 1), "step_x2": step * 2}, step=step)
            run.finish()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    frame = project.runs()
    assert (frame["status"] == "finished").all() and (frame["step_x2"] == 48).all()
    assert len(runs[0].metrics()) == 50
