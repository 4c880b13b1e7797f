"""Dataset versions: content hashing, snapshots stored once, head + rollback, diff, integrity, input errors."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store import DatasetDiff, DatasetVersion, NotFoundError, Project, StoreError
from tesla_lab.store.datasets import content_hash


@pytest.fixture
def project(tmp_path, store_engine):
    return Project.init(tmp_path / "proj")


def frame(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "label": rng.integers(0, 3, size=n), "name": [f"s{i}" for i in
                                                                                              range(n)]})


def parquet_files(project):
    return sorted(p for p in (project.path / ".tesla" / "datasets").rglob("*.parquet"))


def test_snapshot_stores_a_parquet_file_named_by_the_content_hash(project):
    df = frame()
    v = project.datasets.snapshot("d", df, message="raw", source="data/d.csv")
    assert isinstance(v, DatasetVersion) and v.version == 1 and v.sha256 == content_hash(df)
    assert (v.n_rows, v.n_cols, v.message, v.source) == (4, 3, "raw", "data/d.csv")
    assert v.schema == {"x": "float64", "label": "int64", "name": str(df["name"].dtype)}
    assert [p.name for p in parquet_files(project)] == [f"{v.sha256}.parquet"]
    pd.testing.assert_frame_equal(project.datasets.load_version("d"), df)


def test_the_same_content_as_the_head_adds_no_version(project):
    ds = project.datasets
    first = ds.snapshot("d", frame())
    again = ds.snapshot("d", frame().copy(), message="ignored")
    assert again.version == first.version == 1 and len(ds.versions("d")) == 1
    assert again.message == ""


def test_content_equal_to_an_older_version_is_a_new_version_sharing_the_file(project):
    ds = project.datasets
    ds.snapshot("d", frame(seed=0))
    ds.snapshot("d", frame(seed=1))
    v3 = ds.snapshot("d", frame(seed=0))
    assert v3.version == 3 and v3.sha256 == ds.get("d", 1).sha256
    assert len(parquet_files(project)) == 2  # stored once


def test_identical_content_under_two_names_is_stored_once(project):
    project.datasets.snapshot("a", frame())
    project.datasets.snapshot("b", frame())
    assert len(parquet_files(project)) == 1


def test_content_hash_depends_on_values_names_dtypes_order_and_index():
    df = frame()
    base = content_hash(df)
    assert content_hash(df.copy()) == base
    assert content_hash(pd.DataFrame(df.to_dict())) == base
    changed = df.copy()
    changed.loc[0, "x"] += 1e-9
    variants = [changed, df.rename(columns={"x": "y"}), df.astype({"label": "int32"}), df[["label", "x", "name"]],
                df.set_axis([10, 11, 12, 13]), df.iloc[::-1], df.rename(columns={"x": 1})]
    hashes = {content_hash(v) for v in variants}
    assert base not in hashes and len(hashes) == len(variants)


@settings(max_examples=10, deadline=None)
@given(values=st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(-2**62, 2**62),
                                 st.text(max_size=5)), min_size=0, max_size=8))
def test_snapshots_round_trip_with_the_same_hash(tmp_path_factory, values):
    df = pd.DataFrame(values, columns=["f", "i", "s"]).astype({"f": "float64", "i": "int64"})
    project = Project.init(tmp_path_factory.mktemp("p"))
    v = project.datasets.snapshot("d", df)
    back = project.datasets.load_version("d")
    assert content_hash(back) == v.sha256
    pd.testing.assert_frame_equal(back, df)


def test_many_dtypes_survive_the_round_trip(project):
    df = pd.DataFrame({
        "i": [1, 2, 3], "f": [0.5, np.nan, 2.0], "s": ["a", None, "c"], "b": [True, False, True],
        "c": pd.Categorical(["x", "y", "x"]), "t": pd.to_datetime(["2020-01-01", "2021-06-01", None]),
        "n": pd.array([1, None, 3], dtype="Int64"),
    }, index=pd.Index(["r1", "r2", "r3"], name="id"))
    project.datasets.snapshot("d", df)
    pd.testing.assert_frame_equal(project.datasets.load_version("d"), df)


def test_versions_lists_every_snapshot_and_marks_the_head(project):
    ds = project.datasets
    ds.snapshot("d", frame(seed=0), message="one")
    ds.snapshot("d", frame(seed=1), message="two")
    table = ds.versions("d")
    assert table[["version", "message", "head"]].values.tolist() == [[1, "one", False], [2, "two", True]]
    assert str(table["created"].dt.tz) == "UTC"
    listing = ds.list_datasets()
    assert listing[["name", "head", "versions", "n_rows"]].values.tolist() == [["d", 2, 2, 4]]
    assert ds.names() == ["d"]


def test_rollback_moves_the_head_and_deletes_nothing(project):
    ds = project.datasets
    ds.snapshot("d", frame(seed=0))
    ds.snapshot("d", frame(seed=1))
    files = parquet_files(project)
    assert ds.rollback("d", 1).version == 1
    assert ds.head("d").version == 1 and len(ds.versions("d")) == 2 and parquet_files(project) == files
    pd.testing.assert_frame_equal(ds.load_version("d"), frame(seed=0))
    assert ds.snapshot("d", frame(seed=0)).version == 1  # equal to the (rolled back) head: no new version
    assert ds.snapshot("d", frame(seed=2)).version == 3  # new content continues the numbering


def test_rollback_to_a_missing_version_lists_the_versions_and_changes_nothing(project):
    ds = project.datasets
    ds.snapshot("d", frame(seed=0))
    ds.snapshot("d", frame(seed=1))
    with pytest.raises(NotFoundError, match=r"dataset 'd' has no version 7; its versions: 1, 2"):
        ds.rollback("d", 7)
    assert ds.head("d").version == 2
    with pytest.raises(NotFoundError, match=r"no dataset named 'e'; datasets: d"):
        ds.rollback("e", 1)


def test_diff_counts_rows_columns_and_dtype_changes(project):
    ds = project.datasets
    base = pd.DataFrame({"a": [1, 2, 3, 3], "b": ["x", "y", "z", "z"]})
    ds.snapshot("d", base)
    # drop one of the duplicate rows and row 0, add two rows and a column, widen a dtype
    after = pd.DataFrame({"a": [2, 3, 4, 5], "b": ["y", "z", "w", "v"], "c": [0.1, 0.2, 0.3, 0.4]})
    ds.snapshot("d", after)
    d = ds.diff("d", 1, 2)
    assert isinstance(d, DatasetDiff) and d.changed
    assert (d.rows_added, d.rows_removed) == (2, 2)
    assert d.columns_added == ["c"] and d.columns_removed == [] and d.dtype_changes == {}
    assert d.n_rows == (4, 4) and d.n_cols == (2, 3)
    text = str(d)
    assert "d v1 → v2: rows 4 → 4 (+2 added, -2 removed); columns 2 → 3" in text and "columns added: c" in text
    ds.snapshot("d", after.drop(columns=["b"]).astype({"a": "float64"}))
    d23 = ds.diff("d", 2, 3)
    assert d23.columns_removed == ["b"] and d23.dtype_changes == {"a": ("int64", "float64")}
    assert "dtype changed: a int64 → float64" in str(d23) and "columns removed: b" in str(d23)
    assert not ds.diff("d", 1, 1).changed


def test_diff_of_an_unknown_version_is_not_found(project):
    project.datasets.snapshot("d", frame())
    with pytest.raises(NotFoundError, match=r"dataset 'd' has no version 2; its versions: 1"):
        project.datasets.diff("d", 1, 2)


def test_a_damaged_snapshot_file_is_detected_on_load(project):
    v = project.datasets.snapshot("d", frame())
    path = parquet_files(project)[0]
    os.chmod(path, 0o644)
    path.write_bytes(b"PAR1 garbage PAR1")
    with pytest.raises(StoreError, match=r"file of dataset 'd' v1 .* is not readable Parquet"):
        project.datasets.load_version("d")
    other = frame(seed=5)
    other.to_parquet(path)  # valid Parquet, wrong content
    with pytest.raises(StoreError, match=r"is corrupted: its content no longer matches its hash"):
        v.load()
    path.unlink()
    with pytest.raises(NotFoundError, match=r"the file of dataset 'd' v1 is missing"):
        project.datasets.load_version("d", 1)


def test_resolve_accepts_names_pairs_and_versions(project):
    ds = project.datasets
    v1 = ds.snapshot("d", frame(seed=0))
    ds.snapshot("d", frame(seed=1))
    assert ds.resolve("d") == ("d", 2) and ds.resolve(("d", 1)) == ("d", 1) and ds.resolve(v1) == ("d", 1)


@pytest.mark.parametrize(("df", "match"), [
    ([[1, 2]], "a dataset snapshot takes a pandas DataFrame; got list"),
    (pd.DataFrame(index=[0, 1]), "needs at least one column"),
    (pd.DataFrame([[1, 2]], columns=["a", "a"]), r"column names must be unique .*repeated: \['a'\]"),
    (pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])), "not a MultiIndex"),
    (pd.DataFrame({"a": [[1], [2]]}), r"cannot hash the rows .*columns holding lists/dicts/sets: a"),
    (pd.DataFrame({"a": [1, "x"]}, dtype=object), r"cannot be stored as Parquet .*give each column one type"),
])
def test_unusable_frames_are_data_errors_and_store_nothing(project, df, match):
    with pytest.raises(DataError, match=match):
        project.datasets.snapshot("d", df)
    assert project.datasets.names() == [] and parquet_files(project) == []
    assert [p for p in (project.path / ".tesla" / "datasets").rglob("*") if p.is_file()] == []


def test_bad_names_and_references_are_config_errors(project):
    with pytest.raises(ConfigError, match="a dataset name must be a non-empty string"):
        project.datasets.snapshot("", frame())
    with pytest.raises(ConfigError, match="dataset must be a dataset name"):
        project.datasets.resolve(1.5)
    with pytest.raises(NotFoundError, match=r"no dataset named 'x'; datasets: \(none yet\)"):
        project.datasets.versions("x")
