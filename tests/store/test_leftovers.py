"""Opening a project removes the temporary files of atomic writes a kill interrupted, never a fresh one."""

import os
import time

from tesla_lab._atomic import atomic_write
from tesla_lab.store import Project
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
