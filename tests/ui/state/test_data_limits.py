"""The Data view refuses hostile uploads fast, with the name the user knows."""

import gzip
import time

from tesla_lab.store import Project
from tesla_lab.ui.state.data import DataState


def test_an_upload_with_a_100k_field_row_is_refused_in_milliseconds(tmp_path):
    state = DataState(Project.init(tmp_path / "p"))
    content = ("a,b,target\n" + ",".join("1" for _ in range(100_000)) + "\n").encode()
    start = time.perf_counter()
    state.load_upload("wide.csv", content)
    assert time.perf_counter() - start < 2.0
    assert state.frame is None
    assert "'wide.csv' has 100,000 fields in line 2" in state.error and "tesla-upload" not in state.error


def test_an_upload_past_the_size_limit_is_refused_before_parsing(monkeypatch, tmp_path):
    monkeypatch.setenv("TESLA_MAX_UPLOAD_MB", "1")
    state = DataState(Project.init(tmp_path / "p"))
    state.load_upload("big.csv", b"a,b\n" + b"1,2\n" * 300_000)
    assert "more than the 1 MB an upload may have; give its path" in state.error


def test_a_gzip_bomb_upload_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("TESLA_MAX_EXPANDED_MB", "4")
    state = DataState(Project.init(tmp_path / "p"))
    state.load_upload("bomb.csv.gz", gzip.compress(b"a,b\n" + b"1,2\n" * 2**21))
    assert "'bomb.csv.gz' expands to more than 4 MB" in state.error
