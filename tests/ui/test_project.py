"""Which project the workbench opens."""

import pytest

from tesla_lab.errors import StoreError
from tesla_lab.store import Project
from tesla_lab.ui.project import demo_dir, open_project


def test_the_project_around_the_folder_wins_over_the_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("TESLA_DEMO_DIR", str(tmp_path / "demo"))
    Project.init(tmp_path / "mine", name="mine")
    assert open_project(None, start=tmp_path / "mine" / "notebooks").name == "mine"
    assert open_project(tmp_path / "mine").name == "mine"


def test_the_demo_project_is_created_once_with_the_digits_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("TESLA_DEMO_DIR", str(tmp_path / "demo"))
    assert demo_dir() == tmp_path / "demo"
    first = open_project(None, start=tmp_path)
    assert first.name == "tesla-demo" and first.datasets.get("digits").n_rows == 1797
    again = open_project(None, start=tmp_path)
    assert again.path == first.path and again.datasets.get("digits").version == 1
    with pytest.raises(StoreError, match="no TESLA project at"):
        open_project(None, start=tmp_path, demo=False)
    monkeypatch.delenv("TESLA_DEMO_DIR")
    assert demo_dir().parts[-2:] == (".tesla", "demo")
