"""LabState: the project folder, the cached project and paths under the Jupyter root."""

import pytest

from tesla_lab.errors import ConfigError, NotFoundError
from tesla_lab.jupyter import TeslaLab
from tesla_lab.jupyter.handlers import LabState
from tesla_lab.store import Project


def test_project_dir_setting_is_relative_to_the_root(tmp_path):
    Project.init(tmp_path / "sub", name="inner")
    state = LabState(TeslaLab(project_dir="sub"), str(tmp_path))
    assert state.start == str(tmp_path / "sub")
    assert state.project().name == "inner"


def test_a_project_created_later_is_found_after_forget(tmp_path):
    state = LabState(TeslaLab(), str(tmp_path))
    with pytest.raises(NotFoundError, match="no TESLA project at .* create one with the sidebar"):
        state.require_project()
    Project.init(tmp_path, name="late")
    state.forget()
    assert state.require_project().name == "late"


def test_paths_outside_the_root_are_refused(tmp_path):
    state = LabState(TeslaLab(), str(tmp_path / "root"))
    assert state.contents_path(tmp_path / "root" / "a" / "b.ipynb") == "a/b.ipynb"
    assert state.contents_path(tmp_path / "elsewhere.ipynb") is None
    with pytest.raises(ConfigError, match="lies outside the Jupyter root folder"):
        state.resolve("../elsewhere.ipynb")
