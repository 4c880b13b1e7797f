"""Tags, notes, archiving and deleting runs (tesla_lab.store.annotations), and the v3 → v4 schema step."""

import sqlite3

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.store.annotations import delete_run, deletion_preview, run_tags, set_note, set_tags, tag_run
from tesla_lab.store.db import Database
from tesla_lab.store.schema import MIGRATIONS


def _finished(project, name="a", payload=b"weights"):
    run = project.start_run(name=name, params={"lr": 0.1})
    run.log_metrics({"loss": 1.0, "accuracy": 0.5}, step=0)
    run.log_artifact("blob.bin", payload)
    run.finish()
    return run


def test_tags_and_note_are_stored_and_listed_in_runs(tmp_path):
    project = Project.init(tmp_path)
    run = _finished(project)
    assert tag_run(run, add=["baseline", "tt-8"]) == ["baseline", "tt-8"]
    assert tag_run(run, add=["baseline", "rank=8"], remove=["tt-8"]) == ["baseline", "rank=8"]
    set_note(run, "  rank 8 is enough  ")
    row = project.runs().iloc[0]
    assert row["tags"] == ["baseline", "rank=8"] and row["note"] == "rank 8 is enough"
    assert row["author"] and not row["archived"]
    assert set_tags(run, []) == [] and run_tags(run) == []


@pytest.mark.parametrize("bad", ["two words", "", "x" * 41, 3])
def test_a_bad_tag_is_refused_naming_it(tmp_path, bad):
    run = _finished(Project.init(tmp_path))
    with pytest.raises(ConfigError, match=r"a tag is 1-40 letters.*got"):
        tag_run(run, add=[bad])
    with pytest.raises(ConfigError, match="takes a list of tags; got the string"):
        set_tags(run, "one")
    assert run_tags(run) == []


def test_a_too_long_note_is_refused(tmp_path):
    run = _finished(Project.init(tmp_path))
    with pytest.raises(ConfigError, match="at most 10,000 characters; got 10,001"):
        set_note(run, "x" * 10_001)


def test_archived_runs_leave_the_list_and_come_back(tmp_path):
    project = Project.init(tmp_path)
    a, b = _finished(project, "a"), _finished(project, "b")
    project.archive_run(a)
    assert list(project.runs()["name"]) == ["b"]
    assert set(project.runs(archived=True)["name"]) == {"a", "b"}
    assert a.metrics()["value"].tolist() == [0.5, 1.0]  # kept
    project.archive_run(a, archived=False)
    assert set(project.runs()["name"]) == {"a", "b"} and b.status == "finished"


def test_a_running_run_cannot_be_archived_or_deleted(tmp_path):
    project = Project.init(tmp_path)
    run = project.start_run(name="live")
    with pytest.raises(ConfigError, match="live .* is running; stop it before deleting it"):
        project.delete_run(run)
    with pytest.raises(ConfigError, match="is running; stop it before archiving it"):
        project.archive_run(run)


def test_delete_removes_rows_and_unshared_files_but_keeps_a_registered_model(tmp_path):
    project = Project.init(tmp_path)
    a = _finished(project, "a", b"only-a")
    b = _finished(project, "b", b"shared")
    c = _finished(project, "c", b"shared")
    a.log_model({"w": __import__("torch").zeros(2)})
    version = project.registry.register_model("m", run_id=a.id)
    model_sha = a.artifact_sha("model")
    only_a = a.artifact_sha("blob.bin")
    assert deletion_preview(a) == {"metrics": 2, "artifacts": 2, "bytes": deletion_preview(a)["bytes"], "models": 1}
    removed = delete_run(a)
    assert removed["metrics"] == 2 and removed["artifacts"] == 2
    assert only_a not in project.artifacts  # its own file is gone
    assert model_sha in project.artifacts  # the registry still points to it
    assert project.db.query_one("SELECT run_id FROM models WHERE name = ?", (version.name,))["run_id"] is None
    assert project.db.query_one("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (a.id,))[0] == 0
    delete_run(b)
    assert c.artifact_sha("blob.bin") in project.artifacts  # still used by c
    assert list(project.runs()["name"]) == ["c"]


def test_a_v3_store_migrates_to_v4_keeping_its_runs(tmp_path):
    path = tmp_path / "s.db"
    old = Database(path, migrations=MIGRATIONS[:3])
    with old.transaction() as conn:
        conn.execute("INSERT INTO runs (id, name, status, created) VALUES ('r1', 'old', 'finished', 0)")
    old.close()
    new = Database(path)
    assert new.schema_version == 4
    row = new.query_one("SELECT name, tags, note, archived FROM runs WHERE id = 'r1'")
    assert tuple(row) == ("old", "[]", "", 0)
    with pytest.raises(sqlite3.OperationalError):
        sqlite3.connect(path).execute("ALTER TABLE runs ADD COLUMN tags TEXT")  # already there
