"""A full disk gets one message wherever it is met (the store's SQLite file, a dataset snapshot): where, how much
is free, what happened, what to do."""

import errno
import re
import sqlite3

import pandas as pd
import pytest

from tesla_lab.errors import StoreError
from tesla_lab.store import Project
from tesla_lab.store.sqlite_errors import is_disk_full

SAME = r"the disk holding {} \([\d.]+ (bytes|KiB|MiB|GiB|TiB) free\) is full \(.*\); {}\. Free some space on that " \
       r"disk \(or move the project to a larger one\), then {}"


def test_the_store_and_a_snapshot_say_disk_full_the_same_way(tmp_path, monkeypatch):
    project = Project.init(tmp_path / "p")
    store_err = project.db._error(sqlite3.OperationalError("database or disk is full"))
    folder = re.escape(str(project.path / ".tesla"))
    assert re.fullmatch(SAME.format(folder, "the change was rolled back and nothing stored was lost",
                                    "run the command again; do NOT delete or move store.db: it is not corrupt"),
                        str(store_err))

    def full(self, *args, **kwargs):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(StoreError) as err:
        project.datasets.snapshot("d", pd.DataFrame({"a": [1.0]}))
    assert re.fullmatch(SAME.format(folder + "/datasets/[0-9a-f]{2}", r"nothing was stored \(writing the dataset "
                                    r"snapshot\)", "load the data again"), str(err.value))


def test_disk_full_is_found_anywhere_in_the_chain():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("pyarrow: write failed") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))


def test_a_full_disk_while_storing_an_artifact_is_a_store_error_and_leaves_no_temp_file(tmp_path, monkeypatch):
    project = Project.init(tmp_path / "p")
    real_write = open

    class FullFile:
        def __init__(self, path, mode):
            self._fh = real_write(path, mode)

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self._fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

    monkeypatch.setattr("tesla_lab._atomic.open", FullFile, raising=False)
    with pytest.raises(StoreError, match=r"the disk holding .*artifacts/.. \(.* free\) is full \(\[Errno 28\] No "
                                         r"space left on device\); nothing was stored \(the temporary file was "
                                         r"removed\)\. .*then store it again"):
        project.artifacts.put_bytes(b"weights")
    assert [p for p in (tmp_path / "p" / ".tesla" / "artifacts").rglob("*") if p.is_file()] == []


def test_a_snapshot_past_a_file_size_limit_blames_the_write_not_the_data(tmp_path, monkeypatch):
    project = Project.init(tmp_path / "p")

    def too_large(self, *args, **kwargs):
        raise OSError("[Errno 27] Error writing bytes to file. Detail: [errno 27] File too large")  # as pyarrow says

    monkeypatch.setattr(pd.DataFrame, "to_parquet", too_large)
    with pytest.raises(StoreError, match=r"could not write in .*datasets/.. \(.*File too large\); nothing was stored "
                                         r"\(writing the dataset snapshot\)\. .*ulimit -f"):
        project.datasets.snapshot("d", pd.DataFrame({"a": [1.0]}))
