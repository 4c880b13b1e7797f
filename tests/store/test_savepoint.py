"""Nested transactions (SAVEPOINTs) on both store engines: a failing inner one undoes only its own writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tesla_lab.store import Project
from tesla_lab.store.connections import _savepoint


def keys(db):
    return sorted(r["key"] for r in db.query("SELECT key FROM meta WHERE key LIKE 't_%'"))


def test_a_failing_nested_transaction_rolls_back_only_its_own_writes(tmp_path, store_engine):
    db = Project.init(tmp_path).db
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES ('t_outer', '1')")
        with pytest.raises(KeyError, match="inner"), db.transaction() as inner:
            inner.execute("INSERT INTO meta(key, value) VALUES ('t_inner', '1')")
            raise KeyError("inner")
        conn.execute("INSERT INTO meta(key, value) VALUES ('t_after', '1')")  # the outer transaction goes on
    assert keys(db) == ["t_after", "t_outer"]


def test_a_failing_statement_in_a_nested_transaction_leaves_the_outer_one_usable(tmp_path, store_engine):
    # PostgreSQL aborts the whole transaction on an error until the savepoint is rolled back
    db = Project.init(tmp_path).db
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES ('t_outer', '1')")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed"), db.transaction() as inner:
            inner.execute("INSERT INTO meta(key, value) VALUES ('t_inner', '1')")
            inner.execute("INSERT INTO meta(key, value) VALUES ('t_outer', '2')")
        with db.transaction() as inner:  # a second savepoint at the same depth commits with the outer one
            inner.execute("INSERT INTO meta(key, value) VALUES ('t_second', '1')")
    assert keys(db) == ["t_outer", "t_second"]
    assert db.query_one("SELECT value FROM meta WHERE key = 't_outer'")["value"] == "1"


class _RollbackFails:
    """A connection whose ``ROLLBACK TO SAVEPOINT`` fails (the server went away mid-transaction)."""

    def __init__(self):
        self.sql = []

    def execute(self, sql):
        self.sql.append(sql)
        if sql.startswith("ROLLBACK TO"):
            raise sqlite3.OperationalError("connection lost")


def test_the_body_exception_propagates_with_a_failed_rollback_chained():
    conn, local = _RollbackFails(), threading.local()
    local.depth = 1
    with pytest.raises(KeyError, match="body") as caught, _savepoint(conn, local):
        raise KeyError("body")
    assert isinstance(caught.value.__context__, sqlite3.OperationalError)
    assert str(caught.value.__context__) == "connection lost"
    assert conn.sql == ["SAVEPOINT tesla_sp1", "ROLLBACK TO SAVEPOINT tesla_sp1"]
    assert local.depth == 1
