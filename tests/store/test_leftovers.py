"""Opening a project removes the temporary files of atomic writes a kill interrupted, never a fresh one."""

import os
import time

import pytest

from tesla_lab._atomic import atomic_write
from tesla_lab.store import Project, leftovers
from tesla_lab.store.leftovers import remove_leftovers


def _touch(path, age):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half written")
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_opening_a_project_removes_old_leftovers_only(tmp_path):
    store = Project.init(tmp_path).path / ".tesla"
    old = [
        _touch(store / ".store.db.k2j3h4.tmp", 120),  # atomic_write's default suffix
        _touch(store / "artifacts" / "ab" / ".ab12.x9y8.part", 120),  # an artifact being stored
    ]
    ckpt_dir = store / "artifacts" / ".ckpt-q1w2e3"  # StoreCallback's checkpoint folder
    _touch(ckpt_dir / "checkpoint-epoch0003.pt", 120)
    os.utime(ckpt_dir, (time.time() - 120, time.time() - 120))
    kept = [
        _touch(store / ".meta.json.a1b2.tmp", 5),  # a concurrent writer's, still being written
        _touch(store / "notes.tmp", 120),  # not hidden: not ours
        _touch(store / "artifacts" / ".ckpt-busy" / "checkpoint-epoch0009.pt", 5),  # a checkpoint being stored
    ]
    os.utime(kept[2].parent, (time.time() - 120, time.time() - 120))  # old folder, fresh content: busy

    Project(tmp_path)

    assert [p.exists() for p in old] == [False, False] and not ckpt_dir.exists()
    assert [p.exists() for p in kept] == [True, True, True]
    assert (store / "store.db").exists()


def test_remove_leftovers_matches_what_atomic_write_leaves(tmp_path):
    target = tmp_path / "checkpoint-epoch0001.pt"
    try:
        with atomic_write(target) as fh:
            fh.write(b"partial")
            leftover = next(tmp_path.glob(".checkpoint-epoch0001.pt.*.tmp"))
            os.link(leftover, tmp_path / ("." + leftover.name[1:].replace("epoch0001", "epoch0002")))
            raise KeyboardInterrupt  # the kill: atomic_write removes its own file, the hard link stays behind
    except KeyboardInterrupt:
        pass
    (orphan,) = tmp_path.glob(".checkpoint-*.tmp")
    assert remove_leftovers(tmp_path) == []  # too fresh
    os.utime(orphan, (time.time() - 61, time.time() - 61))
    assert remove_leftovers(tmp_path) == [orphan] and list(tmp_path.iterdir()) == []


def _age_folders(root, seconds):
    stamp = time.time() - seconds
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(folder, (stamp, stamp))


class _CountingOs:
    """The os module as the leftover finder sees it, counting the entries its scandir lists."""

    def __init__(self):
        self.entries = 0

    def __getattr__(self, name):
        return getattr(os, name)

    def scandir(self, path):
        listed = list(os.scandir(path))
        self.entries += len(listed)
        return iter(listed)


@pytest.mark.slow  # creating 20k files takes seconds
def test_opening_a_project_with_20k_artifact_files_does_not_list_them_again(tmp_path, monkeypatch):
    project = Project.init(tmp_path)
    artifacts = project.path / ".tesla" / "artifacts"
    for i in range(20_000):
        sha = f"{i:064x}"[::-1]
        (artifacts / sha[:2]).mkdir(parents=True, exist_ok=True)
        (artifacts / sha[:2] / sha).write_bytes(b"")
    _age_folders(project.path / ".tesla", 3600)  # written an hour ago ...
    (project.path / ".tesla" / leftovers.SCAN_RECORD).unlink()  # ... before any open recorded a walk
    Project(tmp_path)  # the first open lists them once
    counting = _CountingOs()
    monkeypatch.setattr(leftovers, "os", counting)
    Project(tmp_path)
    folders = sum(1 for p in (project.path / ".tesla").rglob("*") if p.is_dir())
    assert folders >= 256 and counting.entries < 100  # the store folder itself (its files), not 20k artifacts
    # a kill during a later write: its folder changed, so it is listed and the leftover found
    leftover = _touch(artifacts / "ab" / ".abcd.x9y8.part", 120)
    (artifacts / "cd" / "new-artifact").write_bytes(b"")
    counting.entries = 0
    Project(tmp_path)
    assert not leftover.exists() and counting.entries < 1000  # the two changed folders of 256


def test_a_leftover_too_fresh_to_remove_is_looked_at_again_next_time(tmp_path):
    store = tmp_path / ".tesla"
    busy = _touch(store / "artifacts" / "ab" / ".ab12.q1w2.part", 5)  # a write in progress
    os.utime(busy, (time.time() - 5, time.time() - 5))
    _age_folders(store, 3600)  # and its folder looks old: it was created long ago, written to since
    assert remove_leftovers(store, quick=True) == []
    os.utime(busy, (time.time() - 120, time.time() - 120))  # the writer was killed; now it is old
    assert remove_leftovers(store, quick=True) == [busy]


def test_a_copied_or_damaged_scan_record_means_a_full_walk(tmp_path):
    store = tmp_path / ".tesla"
    _touch(store / "datasets" / "ab" / "x.parquet", 0)
    _age_folders(store, 3600)
    assert remove_leftovers(store, quick=True) == []
    hidden = _touch(store / "datasets" / "ab" / f".{'ab' * 32}.parquet.k2j3.parquet", 120)  # a killed snapshot
    _age_folders(store, 3600)  # hidden from the record by an old mtime, as a restored backup would be
    (store / "leftovers-scan.json").write_text("{not json")
    assert remove_leftovers(store, quick=True) == [hidden]
