"""DataState: loading from every source, the preview and schema, target / feature checks, dataset versions."""

import sqlite3

import pandas as pd
import pytest

from tesla_lab.errors import DataError
from tesla_lab.store import Project
from tesla_lab.ui.state import DataState


@pytest.fixture
def state(tmp_path):
    return DataState(Project.init(tmp_path / "p"))


def test_a_sample_loads_with_its_target_image_shape_and_task(state):
    frame = state.load_sample("digits")
    assert frame.shape == (1797, 65) and state.image_shape == (8, 8)
    assert state.target == "target" and "target" not in state.features and len(state.features) == 64
    assert state.task == "classification" and state.n_inputs() == 64 and state.n_outputs() == 10
    assert state.error == "" and "digits" in state.message


def test_an_uploaded_csv_becomes_the_table_and_a_bad_file_shows_a_readable_error(state):
    state.load_upload("prices.csv", b"size,rooms,price\n50,2,100.5\n80,3,180.0\n65,,120.0\n")
    assert state.frame.shape == (3, 3) and state.target == "price" and state.task == "regression"
    assert state.dataset_name == "prices" and state.missing().to_dict() == {"rooms": 1}
    before = state.frame
    assert state.load_upload("broken.parquet", b"this is not parquet") is None
    assert state.error.startswith("cannot read the uploaded file: 'broken.parquet' is not a readable Parquet file")
    assert "/tmp" not in state.error and state.frame is before  # the previous table is kept
    state.load_upload("empty.csv", b"")
    assert "the uploaded file 'empty.csv' is empty" in state.error
    state.load_upload(" ", b"a")
    assert "an upload needs its file name" in state.error


def test_a_path_and_a_sql_database_load(state, tmp_path):
    csv = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": ["x", "y", "x"]}).to_csv(csv, index=False)
    state.load_path(str(csv))
    assert state.frame.shape == (3, 2) and state.target == "label" and state.n_outputs() == 2
    db = tmp_path / "d.db"
    with sqlite3.connect(db) as con:
        con.executescript("CREATE TABLE pts (x REAL, y INT); INSERT INTO pts VALUES (1.0, 0), (2.0, 1);")
    state.load_path(f"sqlite:///{db}", "pts")
    assert state.frame["x"].tolist() == [1.0, 2.0]
    state.load_path(str(db), "SELECT x FROM pts WHERE y = 1")
    assert state.frame.shape == (1, 1)
    state.load_path("")
    assert "give a file path" in state.error
    state.load_path(str(tmp_path / "missing.csv"))
    assert "file not found" in state.error


def test_relative_paths_and_sqlite_urls_are_taken_from_the_project_folder(state, tmp_path, monkeypatch):
    folder = state.project.path
    (folder / "data").mkdir(exist_ok=True)  # Project.init makes one
    pd.DataFrame({"a": [1.0, 2.0], "label": ["x", "y"]}).to_csv(folder / "data" / "t.csv", index=False)
    with sqlite3.connect(folder / "data" / "d.db") as con:
        con.executescript("CREATE TABLE pts (x REAL, y INT); INSERT INTO pts VALUES (1.0, 0), (2.0, 1), (3.0, 1);")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the server was started somewhere else
    state.load_path("data/t.csv")
    assert state.error == "" and state.frame.shape == (2, 2) and state.origin == "data/t.csv"
    state.load_path("sqlite:///data/d.db", "pts")
    assert state.error == "" and state.frame.shape == (3, 2)
    state.load_path("data/missing.csv")
    assert "file not found" in state.error and str(folder / "data" / "missing.csv") in state.error


def test_schema_lists_dtype_missing_values_and_roles(state):
    state.set_frame(pd.DataFrame({"a": [1.0, None], "b": ["u", "v"], "y": [0, 1]}), target="y")
    state.features = ["a"]
    schema = state.schema().set_index("column")
    assert schema.loc["a", "missing"] == 1 and schema.loc["a", "missing_pct"] == 50.0
    assert schema["role"].to_dict() == {"a": "feature", "b": "unused", "y": "target"}
    with pytest.raises(DataError, match="set_frame takes a pandas DataFrame; got list"):
        state.set_frame([1, 2])


@pytest.mark.parametrize("change, message", [
    ({"target": None}, "choose a target column"),
    ({"target": "price"}, "target column 'price' not found; columns are: a, b, y"),
    ({"features": []}, "choose at least one feature column besides the target 'y'"),
    ({"features": ["a", "y"]}, "the target column 'y' is also selected as a feature"),
    ({"features": ["zz"]}, "column(s) 'zz' not found"),
])
def test_validate_explains_what_is_wrong_with_target_and_features(state, change, message):
    state.set_frame(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "y": [0, 1]}), target="y")
    for key, value in change.items():
        setattr(state, key, value)
    assert state.validate() is False
    assert message in state.error
    assert state.n_inputs() is None and state.n_outputs() is None


def test_single_class_and_empty_data_are_refused(state):
    state.set_frame(pd.DataFrame({"a": [1.0, 2.0], "y": [1, 1]}), target="y")
    assert not state.validate() and "has a single class" in state.error
    assert DataState().validate() is False


def test_versions_are_stored_listed_and_loaded_back(state):
    state.load_sample("iris")
    version = state.snapshot("flowers", "first")
    assert (version.name, version.version) == ("flowers", 1) and state.dataset_version == 1
    assert state.dataset_ref() == "flowers@1"
    assert state.versions()["version"].tolist() == [1]
    assert state.datasets()["name"].tolist() == ["flowers"]
    state.load_sample("wine")
    assert state.dataset_ref() == "wine"  # an unchanged sample is named, not stored
    state.load_version("flowers", 1)
    assert state.frame.shape == (150, 5) and state.origin == "flowers@1"
    state.snapshot("bad@name")
    assert "a dataset name cannot contain '@'" in state.error


def test_an_upload_is_stored_as_a_version_when_training_needs_it(state):
    state.load_upload("tiny.csv", b"a,y\n1,0\n2,1\n")
    assert state.dataset_version is None
    assert state.dataset_ref() == "tiny@1"


def test_versions_need_a_project():
    state = DataState()
    state.load_sample("iris")
    assert state.snapshot() is None
    assert "dataset versions live in a project" in state.error
    assert state.versions().empty and state.datasets().empty
    state.load_upload("tiny.csv", b"a,y\n1,0\n2,1\n")
    with pytest.raises(DataError, match="dataset versions live in a project"):
        state.dataset_ref()


def test_nothing_to_store_before_loading(tmp_path):
    state = DataState(Project.init(tmp_path))
    assert state.snapshot() is None and "no data loaded yet; nothing to store" in state.error
