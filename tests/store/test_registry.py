"""Model registry: versions per name, artifact sources, stages with production promotion, look-up errors."""

from __future__ import annotations

import sqlite3

import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.store import MODEL_STAGES, ModelVersion, NotFoundError, Project


@pytest.fixture
def project(tmp_path, store_engine):
    return Project.init(tmp_path / "proj")


def small_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2)


def test_versions_count_up_per_name(project):
    reg = project.registry
    assert [reg.register_model("a", artifact=small_model()).version for _ in range(3)] == [1, 2, 3]
    assert reg.register_model("b", artifact=small_model()).version == 1


def test_a_module_is_stored_as_its_state_dict_and_loads_back(project):
    model = small_model(1)
    mv = project.registry.register_model("m", artifact=model, description="first", metadata={"acc": 0.98})
    assert isinstance(mv, ModelVersion) and mv.stage == "none" and mv.description == "first"
    assert mv.metadata == {"acc": 0.98} and mv.created.tzinfo is not None
    fresh = small_model(2)
    fresh.load_state_dict(project.registry.load_model("m", version=1))
    assert torch.equal(fresh.weight, model.weight)
    assert mv.path.is_file()


def test_artifacts_from_a_file_bytes_and_a_stored_id(project, tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2)}, path)
    reg = project.registry
    from_file = reg.register_model("m", artifact=path)
    from_id = reg.register_model("m", artifact=from_file.sha256)
    from_bytes = reg.register_model("m", artifact=path.read_bytes())
    assert from_file.sha256 == from_id.sha256 == from_bytes.sha256
    assert torch.equal(from_id.load()["w"], torch.ones(2))


def test_the_model_logged_by_a_run_is_picked_up_from_run_id(project):
    run = project.start_run()
    model = small_model(3)
    sha = run.log_model(model)
    mv = project.registry.register_model("m", run_id=run.id)
    assert mv.sha256 == sha and mv.run_id == run.id
    assert project.registry.register_model("m", run_id=run).run_id == run.id  # a Run works too


def test_promoting_to_production_archives_the_previous_production_version(project):
    reg = project.registry
    reg.register_model("m", artifact=small_model(), stage="production")
    reg.register_model("m", artifact=small_model(), stage="staging")
    reg.register_model("other", artifact=small_model(), stage="production")
    promoted = reg.set_stage("m", 2, "production")
    assert promoted.stage == "production"
    assert reg.get_model("m", version=1).stage == "archived"
    assert reg.get_model("m", stage="production").version == 2
    assert reg.get_model("other", stage="production").version == 1  # other names untouched
    reg.register_model("m", artifact=small_model(), stage="production")  # registering in production too
    assert [reg.get_model("m", version=v).stage for v in (1, 2, 3)] == ["archived", "archived", "production"]


def test_the_database_itself_allows_one_production_version_per_name(project):
    reg = project.registry
    mv = reg.register_model("m", artifact=small_model(), stage="production")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), project.db.transaction() as conn:
        conn.execute("INSERT INTO models (name, version, sha256, stage, created) VALUES ('m', 9, ?, 'production', 0)",
                     (mv.sha256,))


def test_setting_the_same_stage_again_is_harmless(project):
    reg = project.registry
    reg.register_model("m", artifact=small_model(), stage="production")
    assert reg.set_stage("m", 1, "production").stage == "production"


def test_get_model_defaults_to_the_newest_version(project):
    reg = project.registry
    reg.register_model("m", artifact=small_model())
    reg.register_model("m", artifact=small_model(1))
    assert reg.get_model("m").version == 2


def test_list_models_is_a_dataframe(project):
    reg = project.registry
    reg.register_model("b", artifact=small_model())
    reg.register_model("a", artifact=small_model(), metadata={"k": 1})
    reg.register_model("a", artifact=small_model(), stage="staging")
    frame = reg.list_models()
    assert frame[["name", "version", "stage"]].values.tolist() == [["a", 2, "staging"], ["a", 1, "none"],
                                                                   ["b", 1, "none"]]
    assert frame.loc[1, "metadata"] == {"k": 1}
    assert reg.list_models("b")["name"].tolist() == ["b"]


def test_unknown_stage_names_the_choices(project):
    reg = project.registry
    reg.register_model("m", artifact=small_model())
    choices = ", ".join(MODEL_STAGES)
    with pytest.raises(ConfigError, match=f"unknown model stage 'prod'; choose one of: {choices}"):
        reg.set_stage("m", 1, "prod")
    with pytest.raises(ConfigError, match="unknown model stage 'live'"):
        reg.register_model("m", artifact=small_model(), stage="live")
    with pytest.raises(ConfigError, match="unknown model stage 'x'"):
        reg.get_model("m", stage="x")
    assert reg.get_model("m").version == 1 and reg.get_model("m").stage == "none"


def test_unknown_models_and_versions_list_what_exists(project):
    reg = project.registry
    with pytest.raises(NotFoundError, match=r"no model named 'm'; registered models: \(none yet\)"):
        reg.get_model("m")
    reg.register_model("m", artifact=small_model(), stage="staging")
    with pytest.raises(NotFoundError, match=r"no model named 'n'; registered models: m"):
        reg.get_model("n")
    with pytest.raises(NotFoundError, match=r"model 'm' has no version 5; its versions: v1 \(staging\)"):
        reg.get_model("m", version=5)
    with pytest.raises(NotFoundError, match=r"model 'm' has no version in stage 'production'; its versions: v1"):
        reg.get_model("m", stage="production")
    with pytest.raises(NotFoundError, match=r"model 'm' has no version 7"):
        reg.set_stage("m", 7, "production")
    with pytest.raises(ConfigError, match="pass either stage= or version= to get_model, not both"):
        reg.get_model("m", stage="none", version=1)


def test_register_errors(project):
    reg = project.registry
    run = project.start_run()
    with pytest.raises(ConfigError, match="register_model needs artifact= .* or run_id="):
        reg.register_model("m")
    with pytest.raises(NotFoundError, match=r"has no artifact of kind 'model'; log one with run.log_model"):
        reg.register_model("m", run_id=run.id)
    with pytest.raises(NotFoundError, match=r"no run 'nope' in this project"):
        reg.register_model("m", run_id="nope", artifact=small_model())
    with pytest.raises(NotFoundError, match=r"no artifact 0{64} in"):
        reg.register_model("m", artifact="0" * 64)
    with pytest.raises(ConfigError, match="artifact must be a state dict, a torch.nn.Module, .*; got int"):
        reg.register_model("m", artifact=3)
    with pytest.raises(ConfigError, match="a model name must be a non-empty string"):
        reg.register_model(" ", artifact=small_model())
    with pytest.raises(ConfigError, match="metadata must be JSON-like data"):
        reg.register_model("m", artifact=small_model(), metadata={"x": object()})
    assert reg.list_models().empty


def test_an_unattached_model_version_says_where_to_get_one():
    from datetime import datetime, timezone

    mv = ModelVersion("m", 1, None, "0" * 64, "none", datetime.now(timezone.utc))
    from tesla_lab.store import StoreError

    with pytest.raises(StoreError, match="not attached to a store; get it from project.registry"):
        mv.load()
