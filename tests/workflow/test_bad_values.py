"""Bad values get messages a CLI user can act on: infinities, deeply nested JSON, a full disk during a snapshot."""

import errno

import numpy as np
import pandas as pd
import pytest

from tesla_lab.cli import main
from tesla_lab.data.formats import load_json
from tesla_lab.errors import DataError, StoreError
from tesla_lab.store import Project
from tesla_lab.workflow.preprocess import prepare


def test_infinite_features_name_the_column_and_the_cli_way_to_fill_them(tmp_path, capsys):
    frame = pd.DataFrame({"a": [1.0, np.inf, 2.0, 4.0] * 3, "b": range(12), "y": [0, 1] * 6})
    with pytest.raises(DataError, match=r"'a' \(3\) hold infinite values.*tesla load -d FILE -o NAME --inf-as-missing"):
        prepare(frame, "y")
    project = Project.init(tmp_path / "p")
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert main(["--project", str(project.path), "load", "-d", str(tmp_path / "d.csv"), "-o", "d",
                 "--inf-as-missing"]) == 0
    stored = Project(project.path).datasets.load_version("d")
    assert stored["a"].isna().sum() == 3 and not np.isinf(stored["a"]).any()


def test_deeply_nested_json_is_a_depth_message_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match=r"deep\.json' is nested too deeply to read as a table .*json_normalize"):
        load_json(path)


def test_a_full_disk_during_a_snapshot_says_so_and_stores_nothing(tmp_path, monkeypatch):
    project = Project.init(tmp_path / "p")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(StoreError, match=r"disk holding .* is full .*nothing was stored"):
        project.datasets.snapshot("d", pd.DataFrame({"a": [1.0]}))
    assert project.datasets.names() == []
