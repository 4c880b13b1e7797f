"""The store's migrations through Alembic on both engines: a store written before Alembic (only the old version
marker) is stamped with its revision and upgraded; a newer or unknown revision is refused; a current store opens
without importing SQLAlchemy or Alembic."""

import sqlite3
import subprocess
import sys

import pytest

from tesla_lab.errors import StoreError
from tesla_lab.store.db import Database
from tesla_lab.store.pg_sql import ddl_to_pg
from tesla_lab.store.schema import MIGRATIONS, POSTGRES_STEPS, SCHEMA_VERSION

HEAD = f"{SCHEMA_VERSION:04d}"


def _pre_alembic_sqlite(path, version):
    """A store file as the release before Alembic wrote it: the first ``version`` steps and ``user_version``."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN")
    for step in MIGRATIONS[:version]:
        for statement in step:
            raw.execute(statement)
    raw.execute(f"PRAGMA user_version = {version}")
    raw.execute("INSERT INTO runs (id, name, status, created) VALUES ('r1', 'old', 'finished', 1.5)")
    raw.execute("COMMIT")
    raw.close()


def _pre_alembic_pg(url, version):
    """A PostgreSQL store as the release before Alembic wrote it: the first steps and ``tesla_schema_version``."""
    import psycopg

    with psycopg.connect(url, autocommit=False) as conn:
        for index in range(version):
            for statement in POSTGRES_STEPS.get(index) or tuple(ddl_to_pg(s) for s in MIGRATIONS[index]):
                conn.execute(statement.replace("%", "%%"))
        conn.execute("CREATE TABLE tesla_schema_version (version BIGINT NOT NULL)")
        conn.execute("INSERT INTO tesla_schema_version (version) VALUES (%s)", (version,))
        conn.execute("INSERT INTO runs (id, name, status, created) VALUES ('r1', 'old', 'finished', 1.5)")


def test_a_pre_alembic_sqlite_store_is_stamped_then_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "s.db"
    _pre_alembic_sqlite(path, 2)
    db = Database(path)
    assert db.query_one("SELECT version_num FROM tesla_alembic_version")[0] == HEAD
    assert db.schema_version == SCHEMA_VERSION  # the old marker is kept in step for older releases
    row = db.query_one("SELECT name, created, resumed, note FROM runs WHERE id = 'r1'")
    assert tuple(row) == ("old", 1.5, 0, "")  # columns of steps 3 and 4 were added; the row survived
    with db.transaction() as conn:  # step 3 allows 'crashed'
        conn.execute("UPDATE runs SET status = 'crashed' WHERE id = 'r1'")


def test_a_current_pre_alembic_sqlite_store_is_only_stamped(tmp_path):
    path = tmp_path / "s.db"
    _pre_alembic_sqlite(path, SCHEMA_VERSION)
    db = Database(path)
    assert [tuple(r) for r in db.query("SELECT version_num FROM tesla_alembic_version")] == [(HEAD,)]
    assert db.query_one("SELECT count(*) FROM runs")[0] == 1


@pytest.mark.parametrize(("revision", "message"), [
    ("0099", r"has schema version 99, newer than the \d+ this TESLA Lab knows; .*pip install -U tesla-lab"),
    ("3f2a9c1b7d0e", r"has schema version '3f2a9c1b7d0e' \(an Alembic revision\), newer than the \d+ this TESLA"),
])
def test_a_newer_or_unknown_alembic_revision_is_refused_on_sqlite(tmp_path, revision, message):
    path = tmp_path / "s.db"
    Database(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE tesla_alembic_version SET version_num = ?", (revision,))
    raw.close()
    with pytest.raises(StoreError, match=message):
        Database(path)
    raw = sqlite3.connect(path)  # refused before anything was written
    assert raw.execute("SELECT version_num FROM tesla_alembic_version").fetchall() == [(revision,)]
    raw.close()


def test_a_current_store_opens_without_importing_sqlalchemy_or_alembic(tmp_path):
    path = tmp_path / "s.db"
    Database(path).close()
    code = ("import sys; from tesla_lab.store.db import Database; Database(sys.argv[1]); "
            "print(sorted(m for m in ('alembic', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_pre_alembic_postgresql_store_is_stamped_then_upgraded(pg_cluster):
    from tesla_lab.store.pg import PgDatabase

    url = pg_cluster.new_database(empty=True)
    _pre_alembic_pg(url, 2)
    db = PgDatabase(url)
    assert db.query_one("SELECT version_num FROM tesla_alembic_version")[0] == HEAD
    assert db.schema_version == SCHEMA_VERSION
    row = db.query_one("SELECT name, created, resumed, note FROM runs WHERE id = 'r1'")
    assert (row["name"], row["created"], row["resumed"], row["note"]) == ("old", 1.5, 0, "")
    db.close()
    assert PgDatabase(url).query_one("SELECT count(*) FROM tesla_alembic_version")[0] == 1  # reopening: no second stamp


@pytest.mark.parametrize(("revision", "message"), [
    ("0099", r"has schema version 99, newer than the \d+ this TESLA Lab knows; .*pip install -U tesla-lab"),
    ("3f2a9c1b7d0e", r"has schema version '3f2a9c1b7d0e' \(an Alembic revision\), newer than the \d+ this TESLA"),
])
def test_a_newer_or_unknown_alembic_revision_is_refused_on_postgresql(pg_url, revision, message):
    from tesla_lab.store.pg import PgDatabase

    db = PgDatabase(pg_url)
    with db.transaction() as conn:
        conn.execute("UPDATE tesla_alembic_version SET version_num = ?", (revision,))
    with pytest.raises(StoreError, match=message):
        PgDatabase(pg_url)
    assert db.query_one("SELECT version_num FROM tesla_alembic_version")[0] == revision
