"""Project: layout, init / open / find, the runs table, run look-up, dataset links, git commit, bad files."""

from __future__ import annotations

import pickle
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from tesla_lab.errors import ConfigError
from tesla_lab.store import NotFoundError, Project, StoreError


@pytest.fixture
def project(tmp_path, store_engine):
    return Project.init(tmp_path / "proj", name="demo")


def test_init_creates_the_layout(tmp_path):
    project = Project.init(tmp_path / "new", name="mnist")
    root = tmp_path / "new"
    assert project.path == root.resolve() and project.name == "mnist"
    for sub in ("data", "notebooks", ".tesla/artifacts", ".tesla/datasets"):
        assert (root / sub).is_dir(), sub
    assert (root / ".tesla" / "store.db").is_file()
    config = yaml.safe_load((root / "tesla.yaml").read_text())
    assert config["name"] == "mnist" and config["defaults"]["device"] == "auto" and "created" in config
    assert ".tesla/" in (root / ".gitignore").read_text()
    assert project.data_dir == root.resolve() / "data" and project.notebooks_dir == root.resolve() / "notebooks"


def test_init_defaults_the_name_to_the_folder_and_merges_defaults(tmp_path):
    project = Project.init(tmp_path / "cifar", defaults={"precision": "bf16"})
    assert project.name == "cifar"
    assert project.defaults["precision"] == "bf16" and project.defaults["device"] == "auto"


def test_init_keeps_an_existing_gitignore(tmp_path):
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    Project.init(tmp_path)
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n"


def test_init_refuses_an_existing_project_and_changes_nothing(project):
    config = (project.path / "tesla.yaml").read_bytes()
    with pytest.raises(StoreError, match=r"a TESLA project already exists at .*open it with Project\("):
        Project.init(project.path, name="other")
    assert (project.path / "tesla.yaml").read_bytes() == config


@pytest.mark.sqlite_only
def test_init_refuses_a_store_without_tesla_yaml(project):
    (project.path / "tesla.yaml").unlink()
    with pytest.raises(StoreError, match=r"already holds a store but there is no tesla.yaml; restore"):
        Project.init(project.path)
    assert not (project.path / "tesla.yaml").exists()


def test_init_refuses_a_file_path_and_a_bad_name(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="it is a file; pass a folder path"):
        Project.init(tmp_path / "file")
    with pytest.raises(ConfigError, match="a project name must be a non-empty string; got ''"):
        Project.init(tmp_path / "p", name="")


def test_opening_a_folder_that_is_not_a_project_tells_how_to_create_one(tmp_path):
    with pytest.raises(StoreError, match=r"no TESLA project at .* or any parent folder .*run `tesla init NAME`"):
        Project(tmp_path)


def test_a_project_is_found_upward_like_git(project, monkeypatch):
    nested = project.path / "notebooks" / "deep"
    nested.mkdir()
    assert Project.find(nested).path == project.path
    monkeypatch.chdir(nested)
    assert Project().path == project.path


@pytest.mark.sqlite_only
def test_a_fresh_clone_without_the_store_folder_gets_an_empty_store(project):
    shutil.rmtree(project.path / ".tesla")
    reopened = Project(project.path)
    assert (project.path / ".tesla" / "store.db").is_file() and reopened.runs().empty


def test_an_unreadable_tesla_yaml_is_a_store_error(project):
    (project.path / "tesla.yaml").write_text("name: [unclosed\n")
    with pytest.raises(StoreError, match=r"tesla.yaml is not readable YAML"):
        Project(project.path)
    (project.path / "tesla.yaml").write_text("- a list\n")
    with pytest.raises(StoreError, match=r"must hold a YAML mapping .*got list"):
        Project(project.path)


@pytest.mark.sqlite_only
def test_a_store_that_is_not_a_database_is_refused_untouched(project):
    db = project.path / ".tesla" / "store.db"
    project.close()
    for suffix in ("-wal", "-shm"):
        (db.parent / (db.name + suffix)).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 10)
    with pytest.raises(StoreError, match="store.db is not a readable TESLA store .*move it aside"):
        Project(project.path)
    assert db.read_bytes() == b"this is not a database" * 10


def test_runs_table_has_one_row_per_run_with_final_metrics_and_params(project):
    a = project.start_run(name="a", params={"rank": 4, "opt": "adam"})
    a.log_metrics({"loss": 1.0, "acc": 0.5}, step=0)
    a.log_metrics({"loss": 0.5, "acc": 0.9}, step=1)
    a.finish()
    b = project.start_run(name="b", params={"rank": 8})
    b.log_metric("loss", 0.7, step=0)
    frame = project.runs()
    assert frame["name"].tolist() == ["b", "a"]  # newest first
    assert list(frame.columns[:8]) == ["id", "name", "status", "created", "duration", "device", "dataset",
                                       "dataset_version"]
    row_a = frame.set_index("name").loc["a"]
    assert row_a["loss"] == 0.5 and row_a["acc"] == 0.9 and row_a["param.opt"] == "adam"
    assert row_a["status"] == "finished" and row_a["duration"] >= 0
    assert pd.isna(frame.set_index("name").loc["b", "acc"])
    assert frame["param.rank"].dtype.kind in "if"  # numeric params are numbers
    assert frame.set_index("name").loc["b", "duration"] >= 0  # a running run shows its live duration
    assert project.runs(status="finished")["name"].tolist() == ["a"]


def test_runs_table_of_an_empty_project_has_the_base_columns(project):
    frame = project.runs()
    assert frame.empty and "status" in frame.columns


def test_a_metric_named_like_a_run_column_does_not_hide_it(project):
    run = project.start_run(name="x")
    run.log_metric("status", 1.0, step=0)
    frame = project.runs()
    assert frame.loc[0, "status"] == "running" and frame.loc[0, "metric.status"] == 1.0


def test_runs_refuses_an_unknown_status(project):
    with pytest.raises(ConfigError, match="unknown run status 'done'"):
        project.runs(status="done")


def test_get_run_by_id_prefix_or_name(project):
    run = project.start_run(name="unique-name")
    assert project.get_run(run.id) == run
    assert project.get_run(run.id[:6]) == run
    assert project.get_run(run.id.upper()) == run
    assert project.get_run("unique-name") == run
    assert project.get_run(run) == run


def test_get_run_errors_list_candidates(project):
    first = project.start_run(name="same")
    project.start_run(name="same")
    with pytest.raises(StoreError, match=r"'same' matches 2 runs: .*\(same\).*pass a longer id prefix"):
        project.get_run("same")
    with pytest.raises(NotFoundError, match=rf"no run with id, id prefix or name 'nope'; most recent runs: .*"
                                            rf"{first.id[:8]} \(same\)"):
        project.get_run("nope")
    with pytest.raises(ConfigError, match="get_run takes a run id, id prefix or name; got 3"):
        project.get_run(3)


def test_log_metric_convenience_writes_to_the_run(project):
    run = project.start_run()
    project.log_metric(run.id[:8], "loss", 0.3, step=2)
    assert run.summary() == {"loss": 0.3}


def test_start_run_links_a_dataset_version_and_a_parent(project):
    project.datasets.snapshot("iris", pd.DataFrame({"x": [1, 2]}))
    v2 = project.datasets.snapshot("iris", pd.DataFrame({"x": [1, 2, 3]}))
    by_name = project.start_run(dataset="iris")
    by_pair = project.start_run(dataset=("iris", 1), parent=by_name.id[:8])
    by_version = project.start_run(dataset=v2, parent=by_name)
    assert (by_name.info()["dataset_name"], by_name.info()["dataset_version"]) == ("iris", 2)
    assert by_pair.info()["dataset_version"] == 1 and by_pair.info()["parent_run_id"] == by_name.id
    assert by_version.info()["dataset_version"] == 2 and by_version.info()["parent_run_id"] == by_name.id
    frame = project.runs().set_index("id")
    assert frame.loc[by_pair.id, "dataset"] == "iris" and frame.loc[by_pair.id, "dataset_version"] == 1


def test_start_run_refuses_unknown_datasets_and_bad_names(project):
    with pytest.raises(NotFoundError, match=r"no dataset named 'nope'; datasets: \(none yet\)"):
        project.start_run(dataset="nope")
    with pytest.raises(ConfigError, match="dataset must be a dataset name, a \\(name, version\\) pair"):
        project.start_run(dataset=3)
    with pytest.raises(ConfigError, match="a run name must be a non-empty string or None"):
        project.start_run(name=" ")
    assert project.runs().empty


def test_no_git_commit_outside_a_repository(project):
    assert project.start_run().info()["git_commit"] is None


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_git_commit_is_recorded_inside_a_repository(project):
    def git(*args):
        return subprocess.run(["git", *args], cwd=project.path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "init")
    head = git("rev-parse", "HEAD").strip()
    assert project.start_run().info()["git_commit"] == head


def test_a_project_pickles_by_path_for_other_processes(project):
    run = project.start_run(name="p")
    copy = pickle.loads(pickle.dumps(project))
    assert copy.path == project.path and copy.get_run("p") == run
    with copy:
        assert copy.runs()["name"].tolist() == ["p"]
    assert "demo" in repr(project)
