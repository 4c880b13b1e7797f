"""A full or failing disk is not corruption; an unclean close triggers a quick_check on the next open."""

import os
import random
import signal
import subprocess
import sys

import pytest

from tesla_lab.errors import StoreError
from tesla_lab.store.db import Database
from tesla_lab.store.sessions import SessionMarkers, process_start_time


def _fill(db, rows=200, prefix="k"):
    with db.transaction() as conn:
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [(f"{prefix}{i}", "x" * 200) for i in range(rows)])


def test_a_full_database_says_disk_full_and_never_advises_moving_the_store(tmp_path):
    db = Database(tmp_path / "store.db")
    _fill(db, 5)
    conn = db.connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite answers SQLITE_FULL exactly as on a full disk
    with pytest.raises(StoreError, match=r"disk holding .* is full .*nothing stored was lost.*not corrupt") as err:
        _fill(db, 2000, prefix="big")
    assert "move it aside" not in str(err.value) and "mv " not in str(err.value)
    # the failed transaction was rolled back and the earlier rows are intact
    assert db.query_one("SELECT count(*) FROM meta WHERE key LIKE 'k%'")[0] == 5


def test_an_io_error_is_reported_as_a_disk_problem_not_corruption(tmp_path):
    import sqlite3

    db = Database(tmp_path / "store.db")
    err = db._error(sqlite3.OperationalError("disk I/O error"))
    assert "I/O error" in str(err) and "move it aside" not in str(err)


def test_a_malformed_error_on_an_intact_file_gives_no_recovery_advice(tmp_path):
    import sqlite3

    db = Database(tmp_path / "store.db")
    err = db._error(sqlite3.DatabaseError("database disk image is malformed"))
    assert "quick_check` finds the file intact" in str(err) and "move it aside" not in str(err)


def _kill_while_open(path):
    code = ("import os, signal, sys; from tesla_lab.store.db import Database; "
            "db = Database(sys.argv[1]); db.query('SELECT 1'); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], timeout=120)
    assert proc.returncode == -signal.SIGKILL


def test_random_bytes_in_the_last_page_are_caught_on_the_open_after_an_unclean_close(tmp_path):
    path = tmp_path / "store.db"
    db = Database(path)
    _fill(db)
    db.close()
    assert db.integrity_check() == "ok"
    db.close()
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # the last page: random bytes, the header and schema stay readable
        fh.seek(size - 4096)
        fh.write(random.Random(0).randbytes(4096))
    _kill_while_open(path)
    assert SessionMarkers(f"{path}.sessions").stale(), "the killed process left its marker"
    with pytest.raises(StoreError, match=r"ended without closing it and PRAGMA quick_check fails"):
        Database(path)


def test_an_unclean_close_of_an_intact_store_is_checked_and_forgotten(tmp_path):
    path = tmp_path / "store.db"
    _fill(Database(path))
    _kill_while_open(path)
    sessions = SessionMarkers(f"{path}.sessions")
    assert len(sessions.stale()) == 1
    assert Database(path).open_check() is None  # this process's own open already checked and cleared it
    assert sessions.stale() == []


def test_a_reused_pid_counts_as_a_dead_session(tmp_path):
    sessions = SessionMarkers(tmp_path / "s")
    sessions.folder.mkdir()
    marker = sessions.folder / f"{sessions.host}-{os.getpid()}"
    marker.write_text(repr((process_start_time(os.getpid()) or 0) - 1000.0))  # this pid, an earlier process
    assert sessions.stale() == [marker]
    (sessions.folder / f"otherhost-{os.getpid()}").write_text("1.0")  # another machine's: not judged from here
    assert sessions.stale() == [marker]


def test_doctor_reports_a_damaged_store_and_leftovers_with_exit_status_1(tmp_path, capsys):
    from tesla_lab.cli import main
    from tesla_lab.store import Project

    project = Project.init(tmp_path / "p")
    path = project.path / ".tesla" / "store.db"
    _fill(project.db)
    project.close()
    (project.path / ".tesla" / "artifacts" / ".checkpoint-x.tmp").write_bytes(b"half")
    assert main(["doctor", "--project", str(project.path)]) == 1
    report = capsys.readouterr().out
    assert "ok       quick_check" in report and "PROBLEM  leftovers: 1 temporary file" in report
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size - 4096)
        fh.write(random.Random(1).randbytes(4096))
    assert main(["doctor", "--project", str(project.path)]) == 1
    assert "PROBLEM  quick_check" in capsys.readouterr().out


def test_an_empty_store_db_is_refused_while_snapshots_exist_and_repair_recovers_them(tmp_path, capsys):
    import pandas as pd

    from tesla_lab.cli import main
    from tesla_lab.store import Project

    project = Project.init(tmp_path / "p")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    project.datasets.snapshot("iris", frame)
    project.close()
    db = project.path / ".tesla" / "store.db"
    db.write_bytes(b"")  # what a crash right after creating the file leaves
    with pytest.raises(StoreError, match=r"store\.db is empty \(0 bytes\), but .*datasets still hold files.*"
                                         r"tesla store repair"):
        Project(project.path)
    assert db.stat().st_size == 0, "nothing was created over it"
    assert main(["store", "repair", "--project", str(project.path)]) == 0
    assert "re-registered 1 dataset snapshot(s)" in capsys.readouterr().out
    repaired = Project(project.path)
    (name,) = repaired.datasets.names()
    pd.testing.assert_frame_equal(repaired.datasets.load_version(name), frame)
    assert list(db.parent.glob("store.db.empty-*")), "the empty file was kept aside"


def test_a_new_project_folder_without_data_still_gets_a_store(tmp_path):
    from tesla_lab.store import Project

    project = Project.init(tmp_path / "p")
    project.close()
    import shutil

    shutil.rmtree(project.path / ".tesla")  # a fresh clone: .tesla is not in git
    assert Project(project.path).runs().empty


def test_a_read_only_project_reads_and_says_read_only_on_writes(tmp_path, monkeypatch, capsys):
    from tesla_lab.cli import main
    from tesla_lab.store import Project

    project = Project.init(tmp_path / "p")
    run = project.start_run(name="first")
    run.log_metric("loss", 0.5, step=0)
    run.finish()
    project.close()
    # root may write anywhere, so the folder's permission is simulated where the store asks for it
    monkeypatch.setattr("tesla_lab.store.db._writable", lambda path: False)
    readonly = Project(project.path)
    assert readonly.db.read_only
    assert list(readonly.runs()["name"]) == ["first"]
    with pytest.raises(StoreError, match=r"cannot write: the project folder .* is read-only .*tesla runs.*chmod"):
        readonly.start_run(name="second")
    assert main(["runs", "--project", str(project.path)]) == 0
    assert "first" in capsys.readouterr().out
