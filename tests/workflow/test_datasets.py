"""Finding data: store versions first, then files, then samples; loading snapshots and remembers the target."""

import pandas as pd
import pytest

from tesla_lab.errors import ConfigError, DataError, NotFoundError
from tesla_lab.store import Project
from tesla_lab.workflow import dataset_target, last_dataset, load_dataset, parse_ref, resolve_data, snapshot_source


@pytest.fixture
def project(tmp_path):
    return Project.init(tmp_path / "proj")


def _counts(project):
    return len(project.datasets.names()), len(project.runs()), len(project.registry.list_models())


def test_load_snapshots_a_file_and_remembers_its_target(project, iris_csv):
    v = load_dataset(project, str(iris_csv[0]), "train", target="species", message="first")
    assert (v.name, v.version, v.n_rows, v.n_cols, v.message) == ("train", 1, 120, 6, "first")
    assert dataset_target(project, "train") == "species" and last_dataset(project) == "train"
    assert load_dataset(project, str(iris_csv[0]), "train").version == 1  # same content: no new version
    assert dataset_target(project, "train") == "species"  # a load without --target keeps the remembered one
    v2 = load_dataset(project, str(iris_csv[1]), "train")
    assert v2.version == 2 and project.datasets.head("train").n_rows == 30


def test_resolve_prefers_the_store_then_files_then_samples(project, iris_csv):
    load_dataset(project, str(iris_csv[0]), "train", target="species")
    load_dataset(project, str(iris_csv[1]), "train")
    head = resolve_data(project, "train")
    assert (head.kind, head.version, head.target, len(head.frame)) == ("store", 2, "species", 30)
    assert resolve_data(project, "train@1").frame.shape == (120, 6)
    assert resolve_data(project, None).ref == "train@2"  # the dataset loaded last
    file = resolve_data(project, str(iris_csv[1]))
    assert (file.kind, file.name, file.version) == ("file", "test", None)
    digits = resolve_data(project, "sample:digits")
    assert (digits.kind, digits.target, digits.image_shape) == ("sample", "target", (8, 8))
    assert parse_ref("a@b") == ("a@b", None)


def test_snapshot_source_stores_files_once(project, iris_csv):
    source = resolve_data(project, str(iris_csv[1]))
    stored = snapshot_source(project, source)
    assert stored.ref == "test@1" and snapshot_source(project, source).ref == "test@1"
    assert snapshot_source(project, stored) is stored  # already a version: nothing to do


def test_bad_sources_change_nothing(project, tmp_path, iris_csv):
    before = _counts(project)
    with pytest.raises(DataError, match="file not found: '.*missing.csv'"):
        load_dataset(project, str(tmp_path / "missing.csv"), "train")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match="malformed CSV in '.*bad.csv' at line 3"):
        load_dataset(project, str(bad), "train")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[{"a": 1},')
    with pytest.raises(DataError, match="malformed JSON in '.*bad.json'"):
        load_dataset(project, str(bad_json), "train")
    with pytest.raises(DataError, match="target column 'kind' not found; columns are: lab, sepal length"):
        load_dataset(project, str(iris_csv[0]), "train", target="kind")
    with pytest.raises(ConfigError, match="a dataset name must be a non-empty string without '@'"):
        load_dataset(project, str(iris_csv[0]), "train@2")
    with pytest.raises(ConfigError, match="tesla load needs a file path or sample name"):
        load_dataset(project, "", "train")
    assert _counts(project) == before and last_dataset(project) is None


def test_unknown_datasets_and_versions_list_what_exists(project, iris_csv):
    with pytest.raises(ConfigError, match="no dataset given and none loaded yet; run `tesla load"):
        resolve_data(project, None)
    load_dataset(project, str(iris_csv[0]), "train")
    with pytest.raises(NotFoundError, match="dataset 'train' has no version 9; its versions: 1"):
        resolve_data(project, "train@9")
    with pytest.raises(NotFoundError, match="no dataset named 'other'; datasets: train"):
        resolve_data(project, "other@1")
    with pytest.raises(DataError, match="dataset 'trian' is not a dataset of this project \\(train\\)"):
        resolve_data(project, "trian")
    with pytest.raises(ConfigError, match="a dataset is a file path, a sample name or NAME"):
        resolve_data(project, "  ")
    assert isinstance(resolve_data(project, "iris").frame, pd.DataFrame)
