"""ArtifactStore: content addressing, atomic writes, integrity checks, torch objects with weights_only loads."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError
from tesla_lab.store.artifacts import ArtifactStore, check_sha, sha256_file
from tesla_lab.store.db import NotFoundError, StoreError


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(tmp_path / "artifacts")


def test_put_bytes_names_the_file_by_its_sha256_under_a_two_char_folder(store):
    sha = store.put_bytes(b"weights")
    assert sha == hashlib.sha256(b"weights").hexdigest()
    path = store.path(sha)
    assert path == store.root / sha[:2] / sha
    assert path.read_bytes() == b"weights"
    assert not stat.S_IMODE(path.stat().st_mode) & 0o222  # stored read-only


def test_identical_content_is_stored_once(store, tmp_path):
    a = store.put_bytes(b"same")
    src = tmp_path / "f.bin"
    src.write_bytes(b"same")
    b = store.put_file(src)
    assert a == b
    assert list(store) == [a]


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=2048))
def test_get_bytes_returns_what_was_put(tmp_path_factory, data):
    store = ArtifactStore(tmp_path_factory.mktemp("a"))
    assert store.get_bytes(store.put_bytes(data)) == data


def test_put_file_streams_large_files(store, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 * (1 << 20) + 17))  # more than one 1 MiB chunk
    sha = store.put_file(src)
    assert sha == sha256_file(src) and store.size(sha) == src.stat().st_size


def test_no_temporary_files_are_left_behind(store):
    store.put_bytes(b"x")
    leftovers = [p for p in store.root.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_a_truncated_stored_file_is_rewritten_by_the_next_put(store):
    sha = store.put_bytes(b"0123456789")
    path = store.path(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"01234")
    assert store.put_bytes(b"0123456789") == sha
    assert store.get_bytes(sha) == b"0123456789"


def test_reading_a_corrupted_artifact_raises_store_error(store):
    sha = store.put_bytes(b"good content")
    path = store.path(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"evil content")
    with pytest.raises(StoreError, match="is corrupted: its bytes hash to .* delete the file"):
        store.get_bytes(sha)
    with pytest.raises(StoreError, match="is corrupted"):
        store.open(sha)
    with pytest.raises(StoreError, match="is corrupted"):
        store.path(sha, verify=True)


def test_open_gives_a_readable_file_object(store):
    sha = store.put_bytes(b"abc")
    with store.open(sha) as fh:
        assert fh.read() == b"abc"


def test_unknown_artifact_is_not_found(store):
    with pytest.raises(NotFoundError, match="no artifact 0{64} in .*never stored here"):
        store.get_bytes("0" * 64)
    assert "0" * 64 not in store and not store.exists("0" * 64)


def test_invalid_ids_are_config_errors(store):
    with pytest.raises(ConfigError, match="an artifact id is a 64-digit hex SHA-256; got 'abc'"):
        store.path("abc")
    assert "abc" not in store
    assert check_sha("A" * 64) == "a" * 64


def test_put_bytes_refuses_other_types(store):
    with pytest.raises(ConfigError, match="put_bytes takes bytes; got str"):
        store.put_bytes("text")


def test_put_file_refuses_directories_and_missing_files(store, tmp_path):
    with pytest.raises(ConfigError, match="it is a directory .*make_archive"):
        store.put_file(tmp_path)
    with pytest.raises(ConfigError, match="it is missing"):
        store.put_file(tmp_path / "nope.bin")


def test_a_file_changed_while_copied_is_refused(store, tmp_path, monkeypatch):
    import tesla_lab.store.artifacts as mod

    src = tmp_path / "f.bin"
    src.write_bytes(b"edited")
    # the first pass saw other bytes than the copy reads: the file changed in between
    monkeypatch.setattr(mod, "sha256_file", lambda path: hashlib.sha256(b"original").hexdigest())
    with pytest.raises(StoreError, match="content changed while it was being stored"):
        store.put_file(src)
    assert list(store) == []
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_torch_objects_round_trip_with_weights_only(store):
    state = {"w": torch.arange(6.0).reshape(2, 3), "step": 3}
    sha = store.put_torch(state)
    back = store.load_torch(sha)
    assert torch.equal(back["w"], state["w"]) and back["step"] == 3


def test_put_torch_refuses_whole_modules(store):
    with pytest.raises(ConfigError, match=r"put_torch got a whole Linear module; store model.state_dict\(\)"):
        store.put_torch(torch.nn.Linear(2, 2))


class _Custom:  # pickled as code: weights_only refuses it
    pass


def test_load_torch_refuses_pickled_code(store):
    import io

    buf = io.BytesIO()
    torch.save({"obj": _Custom()}, buf)
    sha = store.put_bytes(buf.getvalue())
    with pytest.raises(StoreError, match=r"not loadable with torch.load\(weights_only=True\)"):
        store.load_torch(sha)
