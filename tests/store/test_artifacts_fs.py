"""Artifacts on an fsspec file system (``memory://``, ``file://``): same content addressing, hash checks on read."""

import uuid

import pandas as pd
import pytest
import yaml

from tesla_lab.errors import ConfigError, NotFoundError, StoreError
from tesla_lab.store import Project
from tesla_lab.store.artifacts import sha256_bytes
from tesla_lab.store.artifacts_fs import FsArtifactStore


@pytest.fixture
def store(tmp_path):
    return FsArtifactStore(f"memory://tesla-tests/{uuid.uuid4().hex}", cache=tmp_path / "cache")


def test_put_get_list_size_and_delete_on_a_memory_file_system(store):
    sha = store.put_bytes(b"weights")
    assert sha == sha256_bytes(b"weights") and store.put_bytes(b"weights") == sha
    assert store.get_bytes(sha) == b"weights" and store.size(sha) == 7 and list(store) == [sha]
    assert store.fs.cat_file(f"{store._base}/{sha[:2]}/{sha}") == b"weights"  # the same layout as the local store
    assert store.path(sha).read_bytes() == b"weights"  # a local, verified copy
    store.delete(sha)
    assert sha not in store and not (store.root / sha[:2] / sha).exists()
    with pytest.raises(NotFoundError, match=f"no artifact {sha} in memory://tesla-tests/"):
        store.get_bytes(sha)


def test_a_corrupted_object_is_refused_on_read(store):
    sha = store.put_bytes(b"good bytes")
    store.fs.pipe_file(f"{store._base}/{sha[:2]}/{sha}", b"evil bytes")
    with pytest.raises(StoreError, match=f"is corrupted: its bytes hash to {sha256_bytes(b'evil bytes')}"):
        store.get_bytes(sha)
    with pytest.raises(StoreError, match="is corrupted"):
        store.path(sha)
    assert not (store.root / sha[:2] / sha).exists()  # nothing cached


def test_an_unknown_protocol_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"artifacts: 'nosuchfs://x' is not a file system fsspec can open"):
        FsArtifactStore("nosuchfs://x", cache=tmp_path)


def with_config(root, **keys):
    Project.init(root)
    config = yaml.safe_load((root / "tesla.yaml").read_text())
    config.update(keys)
    (root / "tesla.yaml").write_text(yaml.safe_dump(config))
    return Project(root)


def test_two_machines_share_runs_and_artifact_files_through_the_store_url_and_a_file_url(tmp_path, store_engine,
                                                                                       monkeypatch):
    shared = tmp_path / "shared-artifacts"
    if store_engine == "sqlite":  # the same store file for both "machines"
        monkeypatch.setenv("TESLA_STORE_URL", f"sqlite:///{tmp_path / 'shared.db'}")
    a = with_config(tmp_path / "alice", artifacts=shared.as_uri())
    b = with_config(tmp_path / "bob", artifacts=shared.as_uri())
    run = a.start_run(name="from-alice")
    sha = run.log_artifact("weights.bin", b"\x00\x01tensor")
    run.finish()
    assert (shared / sha[:2] / sha).read_bytes() == b"\x00\x01tensor"
    seen = b.get_run("from-alice")
    assert seen.artifact_path("weights.bin").read_bytes() == b"\x00\x01tensor"
    assert seen.artifact_path("weights.bin").is_relative_to(tmp_path / "bob" / ".tesla" / "artifacts-cache")
    assert b.runs()["name"].tolist() == ["from-alice"]
    a.datasets.snapshot("iris", pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}), message="by alice")
    shared_files = sorted(p.name for p in (shared / "datasets").rglob("*.parquet"))
    assert shared_files == [f"{a.datasets.get('iris').sha256}.parquet"]
    pd.testing.assert_frame_equal(b.datasets.load_version("iris"), a.datasets.load_version("iris"))
