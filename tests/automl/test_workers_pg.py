"""Distributed AutoML on PostgreSQL (the test session's real server, see tests/conftest.py): worker processes share
one study in Optuna's RDB storage, and a project whose store is on PostgreSQL keeps its studies in that database."""

import json
import os
import socket
from importlib.util import find_spec

import pytest

from tesla_lab.automl import AutoMLConfig, run_automl
from tesla_lab.automl.search import _storage
from tesla_lab.automl.study import open_storage, project_storage, rdb_url, trial_records
from tesla_lab.cli import main
from tesla_lab.errors import ConfigError
from tesla_lab.store import Project

pytestmark = pytest.mark.skipif(find_spec("optuna") is None, reason="needs the automl extra (optuna)")


@pytest.fixture
def pg_project(tmp_path, monkeypatch, pg_url):
    """A project whose store is a PostgreSQL database (what a team sets; worker processes inherit it)."""
    monkeypatch.setenv("TESLA_STORE_URL", pg_url)
    return Project.init(tmp_path / "proj")


def _count(url, sql):
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.mark.slow
def test_cli_workers_share_one_study_in_postgresql(pg_project, pg_cluster, capsys):
    storage = pg_cluster.new_database(empty=True)  # a plain postgresql:// URL, as a user types it
    assert storage.startswith("postgresql://")
    try:
        # trials of ~0.5 s (80 epochs), so both processes are busy at once
        code = main(["--project", str(pg_project.path), "automl", "-d", "iris", "--families", "mlp", "-n", "4",
                     "-t", "120", "--workers", "2", "--storage", storage, "--study", "iris-pg", "--seed", "0",
                     "--space", "mlp.epochs=80", "--space", "mlp.width=16", "--space", "mlp.depth=1", "--json"])
        assert code == 0
        result = json.loads(capsys.readouterr().out)
        board = result["leaderboard"]
        assert sorted(r["trial"] for r in board) == [0, 1, 2, 3] and all(r["status"] == "ok" for r in board)
        # no trial ran twice: distinct trial numbers, runs and sampled parameters
        assert len({r["run_id"] for r in board}) == 4
        assert len({json.dumps(r["params"], sort_keys=True) for r in board}) == 4
        workers = {r["worker"] for r in board}
        assert len(workers) == 2 and f"{socket.gethostname()}:{os.getpid()}" in workers, workers
        # the study is in that PostgreSQL database: Optuna's tables, four trials, every one with its record
        import optuna

        study = optuna.load_study(study_name="iris-pg", storage=open_storage(storage))
        assert [r.trial for r in trial_records(study, 4)] == [0, 1, 2, 3]
        assert _count(storage, "SELECT count(*) FROM trials WHERE number < 4") == 4
        assert _count(storage, "SELECT count(DISTINCT number) FROM trials") == _count(storage,
                                                                                    "SELECT count(*) FROM trials")
        # the trial runs are in the project's PostgreSQL store, recorded by both processes
        children = [pg_project.get_run(i) for i in pg_project.runs()["id"]]
        children = [r for r in children if r.info()["parent_run_id"] == result["run_id"]]
        assert sorted(r.params()["automl.trial"] for r in children) == [0, 1, 2, 3]
        assert {r.params()["automl.worker"] for r in children} == workers
        assert pg_project.registry.get_model("iris-automl").version == 1
    finally:
        pg_cluster.drop_database(storage)


def test_a_postgresql_store_keeps_the_study_in_its_own_database(pg_project, pg_url, capsys):
    url = project_storage(pg_project)
    assert url == f"{pg_url}?options=-csearch_path%3Doptuna"
    # workers without --storage use the store's database; with the SQLite store they share a journal file
    assert _storage(pg_project, AutoMLConfig(workers=2), "s") == url
    assert _storage(pg_project, AutoMLConfig(), "s") is None  # one process: in memory
    result = run_automl(pg_project, {"dataset": "iris", "families": ["sklearn:logistic"], "max_trials": 2,
                                     "time_budget": 60, "storage": "project", "study": "in-store"})
    assert len(result.leaderboard) == 2
    assert pg_project.get_run(result.run_id).params()["automl.storage"] == url  # no password here to redact
    # Optuna's tables are in the schema "optuna" of the store's database, apart from TESLA's
    assert _count(pg_url, "SELECT count(*) FROM optuna.trials t JOIN optuna.studies s USING (study_id) "
                          "WHERE s.study_name = 'in-store'") == 2
    assert _count(pg_url, "SELECT to_regclass('public.trials') IS NULL") is True
    assert _count(pg_url, "SELECT to_regclass('public.runs') IS NOT NULL") is True
    # a worker of another machine with the same store joins without --storage (the search is over: no trial)
    capsys.readouterr()
    assert main(["--project", str(pg_project.path), "automl", "--join", "--study", "in-store"]) == 0
    assert "joined in-store: ran 0 trial(s)" in capsys.readouterr().out


def test_rdb_urls_get_the_psycopg_driver(pg_url):
    assert rdb_url("postgresql://a@h:5/d?options=-csearch_path%3Doptuna") == \
        "postgresql+psycopg://a@h:5/d?options=-csearch_path%3Doptuna"
    assert rdb_url("postgres://a@h/d") == "postgresql+psycopg://a@h/d"
    assert rdb_url("mysql+pymysql://a@h/d") == "mysql+pymysql://a@h/d"
    assert open_storage(pg_url.replace("postgresql://", "postgres://")).url == rdb_url(pg_url)


def test_a_storage_that_cannot_be_opened_is_refused_naming_it_without_the_password():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://ann:secret@127.0.0.1:{port}/lab"
    with pytest.raises(ConfigError, match=rf"cannot open the AutoML study storage 'postgresql://ann:\*\*\*@127.0.0.1:"
                                          rf"{port}/lab': .*refused.*; check the URL") as err:
        open_storage(url)
    assert "secret" not in str(err.value)
