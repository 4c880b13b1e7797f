"""DataLoader widget: every control drives DataState; errors show in the status line."""

from datetime import datetime, timezone

from tesla_lab.store import Project
from tesla_lab.ui.widgets import DataLoader

NOW = datetime.now(timezone.utc)


def test_sample_button_loads_and_fills_target_and_features(tmp_path):
    loader = DataLoader(Project.init(tmp_path), sample=None)
    assert loader.frame is None and "no data loaded" in loader.summary.value
    loader.sample.value = "wine"
    loader.load_sample_button.click()
    assert loader.frame.shape == (178, 14) and loader.target.value == "target"
    assert len(loader.features.value) == 13 and "pixel" not in loader.preview.value
    assert "alcohol" in loader.schema.value and "tesla-message" in loader.status.value


def test_upload_widget_reads_the_file_and_a_bad_one_shows_an_error():
    loader = DataLoader(sample=None)
    loader.upload.value = ({"name": "t.csv", "content": memoryview(b"a,b,y\n1,2,0\n3,4,1\n"), "type": "text/csv",
                            "size": 19, "last_modified": NOW},)
    assert loader.frame.shape == (2, 3) and loader.source.value == "upload"
    loader.upload.value = ({"name": "x.parquet", "content": memoryview(b"nope"), "type": "", "size": 4,
                            "last_modified": NOW},)
    assert "tesla-error" in loader.status.value and "not a readable Parquet file" in loader.status.value


def test_target_and_features_widgets_drive_the_state():
    loader = DataLoader(sample="iris")
    loader.target.value = "petal width (cm)"
    assert loader.state.target == "petal width (cm)" and loader.state.task == "regression"
    assert "petal width (cm)" not in loader.features.value
    loader.features.value = ("sepal length (cm)",)
    assert loader.state.features == ["sepal length (cm)"]


def test_save_version_button_stores_a_version(tmp_path):
    loader = DataLoader(Project.init(tmp_path), sample="iris")
    loader.dataset_name.value = "flowers"
    loader.version_message.value = "first"
    loader.save_button.click()
    assert loader.state.dataset_version == 1 and "first" in loader.versions.value
    assert "stored as flowers v1" in loader.summary.value


def test_path_button_shows_missing_files_in_red(tmp_path):
    loader = DataLoader(sample=None)
    loader.source.value = "path"
    assert loader.source_box.children[0] is loader._panels["path"]
    loader.path.value = str(tmp_path / "nope.csv")
    loader.load_path_button.click()
    assert "tesla-error" in loader.status.value and "file not found" in loader.status.value
