"""Database: pragmas, migrations, transactions, lock retries, per-thread/per-process connections, bad files."""

from __future__ import annotations

import os
import pickle
import sqlite3
import sys
import threading
import time

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.store.db import MIGRATIONS, SCHEMA_VERSION, Database, StoreError


def test_new_store_uses_wal_foreign_keys_and_the_current_schema(tmp_path):
    db = Database(tmp_path / "sub" / "store.db")
    assert db.path.is_file()
    assert db.journal_mode == "wal"
    assert db.query_one("PRAGMA foreign_keys")[0] == 1
    assert db.query_one("PRAGMA busy_timeout")[0] == 5000
    assert db.schema_version == SCHEMA_VERSION
    tables = {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "runs", "params", "metrics", "artifacts", "models", "dataset_versions", "dataset_heads"} <= tables


def test_data_written_by_one_database_object_is_read_by_another(tmp_path):
    with Database(tmp_path / "s.db").transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('k', 'v')")
    assert Database(tmp_path / "s.db").query_one("SELECT value FROM meta WHERE key = 'k'")["value"] == "v"


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "store.db"
    path.write_text("name: not a database\n" * 20)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"store\.db is not a readable TESLA store .*not a SQLite database.*move it"):
        Database(path)
    assert path.read_bytes() == before
    assert not (tmp_path / "store.db-wal").exists()


def test_a_short_garbage_file_is_refused(tmp_path):
    path = tmp_path / "store.db"
    path.write_bytes(b"SQLite")
    with pytest.raises(StoreError, match="not a SQLite database"):
        Database(path)
    assert path.read_bytes() == b"SQLite"


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "store.db").mkdir()
    with pytest.raises(StoreError, match="is a directory"):
        Database(tmp_path / "store.db")


def test_missing_file_with_create_false_is_an_error(tmp_path):
    with pytest.raises(StoreError, match="no store database at"):
        Database(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def _corrupt_first_table_page(path):
    """Overwrite every page after the first (schema) page with garbage, keeping the header intact."""
    size = path.stat().st_size
    page = 4096
    with open(path, "r+b") as fh:
        fh.seek(page)
        fh.write(b"\xa5" * (size - page))


def test_a_corrupted_database_raises_store_error_with_recovery_advice(tmp_path):
    path = tmp_path / "store.db"
    db = Database(path)
    with db.transaction() as conn:
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [(f"k{i}", "x" * 200) for i in range(200)])
    db.close()  # the last connection checkpoints the WAL into the main file
    assert not (tmp_path / "store.db-wal").exists()
    _corrupt_first_table_page(path)
    with pytest.raises(StoreError, match=r"(malformed|not a database).*restore it from a backup, or move it aside"):
        Database(path).query("SELECT * FROM meta")


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    Database(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    raw.close()
    with pytest.raises(StoreError, match=r"schema version \d+, newer than .*upgrade tesla-lab"):
        Database(path)


def test_forward_migration_runs_once_and_keeps_existing_rows(tmp_path):
    path = tmp_path / "s.db"
    old = Database(path, migrations=MIGRATIONS[:1])
    with old.transaction() as conn:
        conn.execute("INSERT INTO runs (id, name, status, created) VALUES ('r1', 'old', 'finished', 0)")
    extra = ("CREATE TABLE tags (run_id TEXT REFERENCES runs(id), tag TEXT)",
             "INSERT INTO tags SELECT id, 'migrated' FROM runs")
    new = Database(path, migrations=[*MIGRATIONS[:1], extra])
    assert new.schema_version == 2
    assert new.query_one("SELECT name FROM runs WHERE id = 'r1'")["name"] == "old"
    assert [tuple(r) for r in new.query("SELECT * FROM tags")] == [("r1", "migrated")]
    Database(path, migrations=[*MIGRATIONS[:1], extra])  # already at version 2: nothing runs twice
    assert len(new.query("SELECT * FROM tags")) == 1


def test_a_failing_migration_leaves_the_file_at_its_old_version(tmp_path):
    path = tmp_path / "s.db"
    Database(path, migrations=MIGRATIONS[:1]).close()
    broken = ("CREATE TABLE half_done (x)", "THIS IS NOT SQL")
    with pytest.raises(StoreError, match="from schema version 1 to 2 failed .*left unchanged at version 1"):
        Database(path, migrations=[*MIGRATIONS[:1], broken])
    db = Database(path, migrations=MIGRATIONS[:1])
    assert db.schema_version == 1
    assert db.query_one("SELECT name FROM sqlite_master WHERE name = 'half_done'") is None


def test_transaction_rolls_back_when_the_body_raises(tmp_path):
    db = Database(tmp_path / "s.db")
    with pytest.raises(ZeroDivisionError), db.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('a', '1')")
        _ = 1 / 0
    assert db.query_one("SELECT * FROM meta WHERE key = 'a'") is None
    with db.transaction() as conn:  # the connection is usable again
        conn.execute("INSERT INTO meta VALUES ('a', '2')")
    assert db.query_one("SELECT value FROM meta WHERE key = 'a'")["value"] == "2"


def test_nested_transaction_rolls_back_only_the_inner_part(tmp_path):
    db = Database(tmp_path / "s.db")
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('outer', '1')")
        with pytest.raises(KeyError), db.transaction() as inner:
            inner.execute("INSERT INTO meta VALUES ('inner', '1')")
            raise KeyError("x")
    keys = {r["key"] for r in db.query("SELECT key FROM meta")}
    assert "outer" in keys and "inner" not in keys


def _hold_write_lock(path, seconds, ready):
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    raw.execute("COMMIT")
    raw.close()


def test_a_locked_database_is_retried_until_the_lock_is_released(tmp_path):
    db = Database(tmp_path / "s.db", busy_timeout=0.01, timeout=10)  # SQLite gives up fast: our retry loop waits
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db.path, 0.3, ready))
    holder.start()
    ready.wait()
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('after', 'lock')")
    holder.join()
    assert db.query_one("SELECT value FROM meta WHERE key = 'after'")["value"] == "lock"


def test_a_lock_held_longer_than_the_timeout_raises_store_error(tmp_path):
    db = Database(tmp_path / "s.db", busy_timeout=0.02, timeout=0.2)
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db.path, 0.4, ready))
    holder.start()
    ready.wait()
    try:
        with pytest.raises(StoreError, match=r"stayed locked by another writer for more than 0.2 s"), \
                db.transaction() as conn:
            conn.execute("INSERT INTO meta VALUES ('x', 'y')")
    finally:
        holder.join()


def test_each_thread_gets_its_own_connection(tmp_path):
    db = Database(tmp_path / "s.db")
    main = db.connection()
    seen = []

    def work(i):
        seen.append(db.connection())
        with db.transaction() as conn:
            conn.execute("INSERT INTO meta VALUES (?, 'x')", (f"t{i}",))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(c is not main for c in seen)
    assert len(db.query("SELECT * FROM meta WHERE key LIKE 't%'")) == 4


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork")
def test_a_forked_child_opens_its_own_connection(tmp_path):
    db = Database(tmp_path / "s.db")
    parent_conn = db.connection()
    pid = os.fork()
    if pid == 0:  # child: must not reuse the inherited connection
        code = 1
        try:
            child_conn = db.connection()
            with db.transaction() as conn:
                conn.execute("INSERT INTO meta VALUES ('child', 'x')")
            code = 0 if child_conn is not parent_conn else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert db.connection() is parent_conn
    assert db.query_one("SELECT value FROM meta WHERE key = 'child'")["value"] == "x"


def test_a_pickled_database_opens_its_own_connection(tmp_path):
    db = Database(tmp_path / "s.db")
    db.connection()
    copy = pickle.loads(pickle.dumps(db))
    assert copy.path == db.path and copy.connection() is not db.connection()


def test_backup_copies_the_store_and_never_overwrites(tmp_path):
    db = Database(tmp_path / "s.db")
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('b', '1')")
    copy = db.backup(tmp_path / "copy.db")
    assert Database(copy).query_one("SELECT value FROM meta WHERE key = 'b'")["value"] == "1"
    with pytest.raises(StoreError, match="already exists; choose a new file name"):
        db.backup(copy)


def test_integrity_check_reports_ok(tmp_path):
    assert Database(tmp_path / "s.db").integrity_check() == "ok"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"synchronous": "OFF"}, "synchronous must be 'NORMAL' or 'FULL'; got 'OFF'"),
    ({"timeout": 0}, "timeout must be > 0"),
])
def test_invalid_options_are_config_errors(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Database(tmp_path / "s.db", **kwargs)
