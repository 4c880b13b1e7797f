"""Artifacts and dataset snapshots on ``s3://`` against a real S3 HTTP server: moto's server mode, started by the
test on 127.0.0.1 (no network); s3fs finds it through ``AWS_ENDPOINT_URL``, as it would a MinIO or Ceph gateway.

Needs ``moto[server]`` and ``s3fs``, which are *not* in the test extras: both need botocore, which pins
``python-dateutil<3`` and so would downgrade the python-dateutil 4 of our environment. Without them these tests skip.
"""

import logging
import socket
import uuid

import pandas as pd
import pytest
import torch
import yaml

from tesla_lab.errors import NotFoundError, StoreError
from tesla_lab.store import Project
from tesla_lab.store.artifacts import sha256_bytes
from tesla_lab.store.artifacts_fs import FsArtifactStore

_WHY = "needs moto[server] and s3fs (not in the test extras: botocore pins python-dateutil<3)"
moto_server = pytest.importorskip("moto.server", reason=_WHY)
s3fs = pytest.importorskip("s3fs", reason=_WHY)


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free loopback port, with fake credentials; s3fs is pointed at it by the environment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(key, raising=False)
        s3fs.S3FileSystem.clear_instance_cache()  # an instance made before would keep its own endpoint
        try:
            yield endpoint
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    """A new, empty bucket; ``(name, a file system client of its own)``."""
    name = f"tesla-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir(name)
    return name, fs


def test_put_get_list_size_and_delete_on_s3(bucket, tmp_path):
    name, other = bucket
    store = FsArtifactStore(f"s3://{name}/artifacts", cache=tmp_path / "cache")
    sha = store.put_bytes(b"weights")
    assert sha == sha256_bytes(b"weights") and store.put_bytes(b"weights") == sha
    assert store.get_bytes(sha) == b"weights" and store.size(sha) == 7 and list(store) == [sha]
    # the object as another client sees it: the local store's layout, no temporary .part object left behind
    assert other.find(name) == [f"{name}/artifacts/{sha[:2]}/{sha}"]
    assert other.cat_file(f"{name}/artifacts/{sha[:2]}/{sha}") == b"weights"
    assert store.path(sha).read_bytes() == b"weights"  # a local, verified copy
    assert store.path(sha).is_relative_to(tmp_path / "cache")
    store.delete(sha)
    assert sha not in store and other.find(name) == []
    with pytest.raises(NotFoundError, match=f"no artifact {sha} in s3://{name}/artifacts"):
        store.get_bytes(sha)


def test_a_corrupted_s3_object_is_refused_on_read(bucket, tmp_path):
    name, other = bucket
    store = FsArtifactStore(f"s3://{name}/a", cache=tmp_path / "cache")
    sha = store.put_bytes(b"good bytes")
    other.pipe_file(f"{name}/a/{sha[:2]}/{sha}", b"evil bytes")  # another client overwrites the object
    with pytest.raises(StoreError, match=f"is corrupted: its bytes hash to {sha256_bytes(b'evil bytes')}"):
        store.get_bytes(sha)
    with pytest.raises(StoreError, match="is corrupted"):
        store.verify(sha)
    assert not (tmp_path / "cache" / sha[:2] / sha).exists()  # nothing cached


def _project(root, **keys):
    Project.init(root)
    config = yaml.safe_load((root / "tesla.yaml").read_text())
    config.update(keys)
    (root / "tesla.yaml").write_text(yaml.safe_dump(config))
    return Project(root)


def test_two_machines_share_run_artifacts_and_dataset_snapshots_through_s3(bucket, tmp_path, monkeypatch):
    name, other = bucket
    monkeypatch.setenv("TESLA_STORE_URL", f"sqlite:///{tmp_path / 'shared.db'}")  # the runs: one shared store
    url = f"s3://{name}/team"
    alice = _project(tmp_path / "alice", artifacts=url)
    bob = _project(tmp_path / "bob", artifacts=url)

    run = alice.start_run(name="from-alice")
    sha = run.log_artifact("weights.bin", b"\x00\x01tensor")
    model_sha = run.log_model(torch.nn.Linear(3, 2))
    run.finish()
    assert other.cat_file(f"{name}/team/{sha[:2]}/{sha}") == b"\x00\x01tensor"
    assert other.exists(f"{name}/team/{model_sha[:2]}/{model_sha}")

    seen = bob.get_run("from-alice")
    assert seen.load_artifact("weights.bin") == b"\x00\x01tensor"
    assert seen.artifact_path("weights.bin").is_relative_to(tmp_path / "bob" / ".tesla" / "artifacts-cache")
    state = torch.load(seen.artifact_path("model"), weights_only=True)
    assert sorted(state) == ["bias", "weight"] and state["weight"].shape == (2, 3)

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "c"]})
    alice.datasets.snapshot("iris", frame, message="by alice")
    version = alice.datasets.get("iris").sha256
    assert other.find(f"{name}/team/datasets") == [f"{name}/team/datasets/{version[:2]}/{version}.parquet"]
    local = tmp_path / "bob" / ".tesla" / "datasets" / version[:2] / f"{version}.parquet"
    assert not local.exists()
    pd.testing.assert_frame_equal(bob.datasets.load_version("iris"), frame)
    assert local.is_file()  # downloaded from S3 once, into bob's working copy
