"""The store on a PostgreSQL server (a real one, started by the tests) and the choice of store by URL."""

import getpass
import multiprocessing
import os
import socket

import pytest
import yaml

from tesla_lab.errors import ConfigError, StoreError
from tesla_lab.store import Project
from tesla_lab.store.liveness import current_host
from tesla_lab.store.location import store_location
from tesla_lab.store.schema import MIGRATIONS, SCHEMA_VERSION


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_store(root, url):
    """A project at ``root`` whose tesla.yaml says ``store: url``."""
    Project.init(root)
    config = yaml.safe_load((root / "tesla.yaml").read_text())
    config["store"] = url
    (root / "tesla.yaml").write_text(yaml.safe_dump(config))
    return root


# --------------------------------------------------------------------------------------------- choosing
@pytest.mark.parametrize("url, match", [
    ("mysql://db.lan/lab", r"'mysql://db.lan/lab' is not a store URL TESLA Lab can open; use postgresql://"),
    ("postgresql://db.lan", r"names no database; add it after the host"),
    ("postgresql://db.lan:port/lab", r"is not a valid URL .*port"),
    ("store.db", r"'store.db' is not a store URL; use postgresql://user@host:port/dbname"),
    (42, r"42 is not a store URL"),
])
def test_a_bad_store_url_names_the_value_and_the_forms_that_work(tmp_path, monkeypatch, url, match):
    monkeypatch.delenv("TESLA_STORE_URL", raising=False)
    root = with_store(tmp_path / "p", url)
    with pytest.raises(ConfigError, match=match):
        Project(root)


def test_the_environment_wins_over_tesla_yaml_and_a_sqlite_url_is_relative_to_the_project(tmp_path):
    config = {"store": "postgresql://ann:pw@db.lan:5433/lab"}
    shown = store_location(tmp_path, config, env={}).describe()
    assert shown == "postgresql://ann:***@db.lan:5433/lab (tesla.yaml store:)"
    chosen = store_location(tmp_path, config, env={"TESLA_STORE_URL": "sqlite:///shared/s.db"})
    assert (chosen.engine, chosen.path, chosen.source) == ("sqlite", tmp_path / "shared" / "s.db", "TESLA_STORE_URL")
    assert store_location(tmp_path, {}, env={"TESLA_STORE_URL": "sqlite:////abs/s.db"}).path.as_posix() == "/abs/s.db"


def test_a_server_that_is_down_is_a_clear_error_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("TESLA_STORE_URL", raising=False)
    root = tmp_path / "p"
    Project.init(root)
    (root / ".tesla" / "store.db").unlink()
    monkeypatch.setenv("TESLA_STORE_URL", f"postgresql://ann:secret@127.0.0.1:{free_port()}/lab")
    with pytest.raises(StoreError, match=r"cannot use the PostgreSQL store postgresql://ann:\*\*\*@127.0.0.1:\d+/lab: "
                                         r".*pg_isready.*Nothing was written") as caught:
        Project(root, timeout=2)
    assert "secret" not in str(caught.value)
    assert not (root / ".tesla" / "store.db").exists()


# ---------------------------------------------------------------------------------------------- schema
def test_an_older_postgresql_store_is_migrated_on_open_and_keeps_its_rows(pg_cluster):
    from tesla_lab.store.pg import PgDatabase

    url = pg_cluster.new_database(empty=True)
    old = PgDatabase(url, migrations=MIGRATIONS[:2])
    assert old.schema_version == 2
    with old.transaction() as conn:
        conn.execute("INSERT INTO runs (id, name, status, created) VALUES ('r1', 'old', 'finished', 1.5)")
        conn.execute("INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES ('r1', 'loss', 0, 0.25, 2)")
    old.close()
    db = PgDatabase(url)
    assert db.schema_version == len(MIGRATIONS)
    row = db.query_one("SELECT name, created, resumed, host FROM runs WHERE id = 'r1'")
    assert (row["name"], row["created"], row["resumed"], row["host"]) == ("old", 1.5, 0, None)
    with db.transaction() as conn:  # version 3 allows 'crashed'
        conn.execute("UPDATE runs SET status = 'crashed' WHERE id = 'r1'")
    assert db.query_one("SELECT value FROM metrics WHERE run_id = 'r1'")[0] == 0.25


def test_a_newer_postgresql_store_is_refused(pg_url):
    from tesla_lab.store.pg import PgDatabase

    db = PgDatabase(pg_url)
    with db.transaction() as conn:
        conn.execute("UPDATE tesla_schema_version SET version = 99")
    with pytest.raises(StoreError, match=r"has schema version 99, newer than the \d+ this TESLA Lab knows; .*"
                                         r"pip install -U tesla-lab"):
        PgDatabase(pg_url)


def test_a_writer_waits_for_the_other_then_gives_a_clear_error(pg_url):
    from tesla_lab.store.pg import PgDatabase

    holder, waiter = PgDatabase(pg_url), PgDatabase(pg_url, timeout=0.3)
    with holder.transaction():
        with pytest.raises(StoreError, match=r"stayed locked by another writer for more than 0.3 s"):
            with waiter.transaction() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('never', 'written')")
    assert waiter.query_one("SELECT 1 FROM meta WHERE key = 'never'") is None
    with waiter.transaction() as conn:  # usable again once the lock is free
        conn.execute("INSERT INTO meta (key, value) VALUES ('now', 'written')")
    assert holder.query_one("SELECT value FROM meta WHERE key = 'now'")["value"] == "written"


# -------------------------------------------------------------------------------------- several writers
def test_a_run_records_its_author_and_host(tmp_path, store_engine):
    project = Project.init(tmp_path / "p")
    for run in (project.start_run(name="r"), project.start_run(name="q", status="queued")):
        row = run._db.query_one("SELECT author, host FROM runs WHERE id = ?", (run.id,))
        assert (row["author"], row["host"]) == (getpass.getuser(), current_host())


def _promote(root, version, barrier, rounds, results):
    project = Project(root)
    for _ in range(rounds):
        barrier.wait(timeout=60)
        project.registry.set_stage("m", version, "production")
    results.put(version)


def test_two_processes_promoting_at_once_leave_one_production_version(tmp_path, store_engine):
    project = Project.init(tmp_path / "p")
    for _ in range(2):
        project.registry.register_model("m", artifact=b"weights")
    ctx = multiprocessing.get_context("fork")
    barrier, results, rounds = ctx.Barrier(2), ctx.Queue(), 5
    workers = [ctx.Process(target=_promote, args=(project.path, v, barrier, rounds, results)) for v in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(results.get(timeout=5) for _ in workers) == [1, 2]
    stages = sorted(project.registry.list_models("m")["stage"])
    assert stages == ["archived", "production"]


# ------------------------------------------------------------------------------------------------ doctor
def test_doctor_and_store_show_name_the_store_in_use(tmp_path, store_engine, capsys):
    from tesla_lab.cli import main

    pg_url = os.environ.get("TESLA_STORE_URL")
    project = Project.init(tmp_path / "p")
    assert main(["doctor", "--project", str(project.path)]) == 0
    report = capsys.readouterr().out.splitlines()
    if store_engine == "postgresql":
        assert report[0] == f"ok       store: {pg_url} (TESLA_STORE_URL)"
        assert report[1] == f"ok       server: {pg_url}: PostgreSQL answers, schema ok"
    else:
        assert report[0] == f"ok       store: sqlite file {project.path / '.tesla' / 'store.db'} (default)"
    assert main(["store", "show", "--project", str(project.path)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"schema version: {SCHEMA_VERSION}"


def test_doctor_reports_a_server_that_is_down(tmp_path, monkeypatch, capsys):
    from tesla_lab.cli import main

    monkeypatch.delenv("TESLA_STORE_URL", raising=False)
    root = with_store(tmp_path / "p", f"postgresql://tesla@127.0.0.1:{free_port()}/lab")
    assert main(["doctor", "--project", str(root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok       store: postgresql://tesla@127.0.0.1:")
    assert lines[0].endswith("(tesla.yaml store:)")
    assert lines[1].startswith("PROBLEM  open: cannot use the PostgreSQL store") and len(lines) == 2


def test_a_connection_lost_mid_transaction_writes_nothing_and_the_next_call_reconnects(pg_url):
    import psycopg

    from tesla_lab.store.pg import PgDatabase

    db = PgDatabase(pg_url)
    with pytest.raises(StoreError, match=r"cannot use the PostgreSQL store .*Check that the server is running"):
        with db.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('half', 'written')")
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(pg_url, autocommit=True) as admin:  # the server ends this session (a restart)
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            conn.execute("INSERT INTO meta (key, value) VALUES ('rest', 'written')")
    assert db.query("SELECT key FROM meta WHERE key IN ('half', 'rest')") == []


def test_store_repair_refuses_a_postgresql_store(tmp_path, monkeypatch):
    from tesla_lab.store.repair import repair_store

    monkeypatch.delenv("TESLA_STORE_URL", raising=False)
    root = with_store(tmp_path / "p", "postgresql://tesla@db.lan/lab")
    with pytest.raises(StoreError, match=r"store is postgresql://tesla@db.lan/lab \(tesla.yaml store:\): repair only "
                                         r"rebuilds the default .tesla/store.db file; restore a server"):
        repair_store(root)
