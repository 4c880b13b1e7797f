"""User data is parsed in a worker process with a time limit: a parse past the limit is stopped with a message naming
the file and the limit, a worker that dies is a clear error, and the caller's environment and folder apply."""

import multiprocessing
import os
import pickle
import time

import pandas as pd
import pytest

from tesla_lab.data.isolated import load_isolated, parse_timeout, profile_isolated
from tesla_lab.errors import ConfigError, DataError


def _no_worker_left():
    deadline = time.monotonic() + 10
    while any(p.name == "tesla-parse" for p in multiprocessing.active_children()):
        assert time.monotonic() < deadline, "the parsing worker is still alive"
        time.sleep(0.05)


def test_a_parse_past_the_time_limit_is_stopped_with_the_file_and_the_limit(tmp_path):
    load_isolated(pd.DataFrame({"a": [1]}))  # the fork server is up: its start is not part of what is timed
    slow = tmp_path / "slow.csv"
    os.mkfifo(slow)  # reading it blocks until a writer comes: a parse that never ends
    start = time.monotonic()
    with pytest.raises(DataError, match=r"reading 'slow\.csv' took longer than the 1.5 s limit and was stopped; .*"
                                        r"TESLA_PARSE_TIMEOUT_S"):
        load_isolated(slow, timeout=1.5, label="slow.csv")
    assert 1.5 <= time.monotonic() - start < 8
    _no_worker_left()


def test_the_time_limit_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TESLA_PARSE_TIMEOUT_S", "0.5")
    assert parse_timeout() == 0.5
    slow = tmp_path / "slow.jsonl"
    os.mkfifo(slow)
    with pytest.raises(DataError, match=rf"reading '{slow}' took longer than the 0.5 s limit"):
        load_isolated(slow)
    monkeypatch.setenv("TESLA_PARSE_TIMEOUT_S", "soon")
    with pytest.raises(ConfigError, match=r"\$TESLA_PARSE_TIMEOUT_S must be a number of seconds; got 'soon'"):
        parse_timeout()
    with pytest.raises(ConfigError, match="positive number of seconds; got -1"):
        load_isolated(slow, timeout=-1)


class _Abort:
    def __reduce__(self):
        return (os.abort, ())  # what a crash in a C library does to the process reading the file


def test_a_worker_that_dies_is_a_clear_error_and_the_caller_lives_on(tmp_path):
    path = tmp_path / "crash.pkl"
    path.write_bytes(pickle.dumps(_Abort()))
    with pytest.raises(DataError, match=r"the worker process reading 'crash\.pkl' was killed by SIGABRT before it "
                                        "finished"):
        load_isolated(path, trust=True, label="crash.pkl")
    _no_worker_left()


def test_the_worker_reads_relative_paths_from_the_callers_folder_with_its_limits(tmp_path, monkeypatch):
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESLA_MAX_COLUMNS", "2")
    with pytest.raises(DataError, match=r"'t\.csv' has 3 fields in line 1, more than the 2 columns allowed"):
        load_isolated("t.csv")
    monkeypatch.delenv("TESLA_MAX_COLUMNS")
    frame, profile = profile_isolated("t.csv", columns=["a"], target="c")
    assert frame.to_dict("list") == {"a": [1], "c": [3]}
    assert profile.to_dict("list") == {"column": ["a", "c"], "dtype": ["int64", "int64"], "missing": [0, 0],
                                       "missing_pct": [0.0, 0.0], "unique": [1, 1], "example": ["1", "3"]}


def test_frame_attributes_come_back_from_the_worker(tmp_path):
    import numpy as np

    from tesla_lab.data.mnist import write_idx

    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 4, 5), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2], dtype=np.uint8))
    frame = load_isolated(tmp_path)
    assert frame.shape == (3, 21) and tuple(frame.attrs["image_shape"]) == (4, 5)


def test_a_daemonic_process_reads_in_process(tmp_path, monkeypatch):
    # a daemonic process may not have children (multiprocessing refuses): the table is read where it is asked for
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)
    started = []
    monkeypatch.setattr(multiprocessing.get_context("forkserver").Process, "start", lambda self: started.append(self))
    assert load_isolated(tmp_path / "t.csv").to_dict("list") == {"a": [1], "b": [2]} and started == []
