"""The documents' data stages (``tesla.data``): DataIngestion loaders with a target, DataPreparation transforms
that never touch the target."""

import pickle

import numpy as np
import pandas as pd
import pytest

from tesla_lab.data import DataIngestion, DataPreparation, frame_target, with_target
from tesla_lab.errors import ConfigError, DataError, NotFittedError

FRAME = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [10, 20, 30, 50], "y": [0.5, 1.5, 2.5, 3.5]})


@pytest.fixture
def files(tmp_path):
    FRAME.to_csv(tmp_path / "t.csv", index=False)
    FRAME.to_json(tmp_path / "t.json", orient="records")
    FRAME.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    with open(tmp_path / "t.pkl", "wb") as fh:
        pickle.dump(FRAME, fh)
    return tmp_path


# ------------------------------------------------------------------------------------------------- ingestion
def test_load_csv_records_the_target_given_once(files):
    assert "target" not in DataIngestion(root=files).load_csv("t.csv").attrs
    assert DataIngestion(root=files, target="a").load_csv("t.csv").attrs["target"] == "a"
    assert DataIngestion(root=files, target="a").load_csv("t.csv", target="b").attrs["target"] == "b"  # call wins
    df = DataIngestion(root=files).load_csv("t.csv")
    assert df.attrs["source"] == str(files / "t.csv")
    pd.testing.assert_frame_equal(df, FRAME)


def test_unknown_target_names_the_columns(files):
    with pytest.raises(DataError, match="target column 'price' not found; columns are: a, b, y"):
        DataIngestion(root=files, target="price").load_csv("t.csv")


def test_load_json_records_and_lines(files):
    ingest = DataIngestion(root=files, target="y")
    records, lines = ingest.load_json("t.json"), ingest.load_json("t.jsonl")
    pd.testing.assert_frame_equal(records, FRAME, check_dtype=False)  # JSON writes 1.0 as 1
    pd.testing.assert_frame_equal(lines, FRAME, check_dtype=False)
    assert records.attrs["target"] == lines.attrs["target"] == "y"


def test_load_pickle_needs_trust(files):
    with pytest.raises(DataError, match="refusing to unpickle 't.pkl': loading a pickle can execute arbitrary code"):
        DataIngestion(root=files).load_pickle("t.pkl")
    df = DataIngestion(root=files).load_pickle("t.pkl", trust=True, target="b")
    pd.testing.assert_frame_equal(df, FRAME)
    assert df.attrs["target"] == "b"


def test_load_sample_takes_the_samples_target():
    df = DataIngestion().load_sample("iris")
    assert (df.shape, df.attrs["target"], frame_target(df)) == ((150, 5), "target", "target")


def test_frame_target_precedence():
    df = FRAME.copy()
    assert frame_target(df) == "y"  # the last column
    assert frame_target(with_target(df, "a")) == "a"  # attrs
    assert frame_target(df, "b") == "b"  # explicit
    with pytest.raises(ConfigError, match="target must be a column name"):
        with_target(df, 3)
    with pytest.raises(DataError, match="pipeline data must be a pandas DataFrame"):
        frame_target([[1, 2]])


# ----------------------------------------------------------------------------------------------- preparation
@pytest.mark.parametrize("given", ["last column", "attrs", "constructor"])
def test_normalize_never_rescales_the_target(given):
    df = FRAME[["y", "a", "b"]] if given != "last column" else FRAME.copy()
    target = "y"
    if given == "attrs":
        df = with_target(df.copy(), "y")
    prepare = DataPreparation(target="y" if given == "constructor" else None)
    out = prepare.normalize(df)
    pd.testing.assert_series_equal(out[target], df[target])
    features = [c for c in df.columns if c != target]
    np.testing.assert_allclose(out[features].mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(out[features].std(ddof=0), 1.0)
    np.testing.assert_allclose(out["b"], (FRAME["b"] - 27.5) / np.std([10, 20, 30, 50]))
    assert frame_target(out) == "y" and list(out.columns) == list(df.columns)


def test_normalize_refuses_the_target_in_columns():
    with pytest.raises(DataError, match="normalize never rescales the target column 'y'"):
        DataPreparation().normalize(FRAME, columns=["a", "y"])
    with pytest.raises(DataError, match="normalize found no numeric feature columns besides the target 'y'"):
        DataPreparation().normalize(pd.DataFrame({"name": ["x", "z"], "y": [1.0, 2.0]}))


def test_scale_then_transform_new_rows_the_same_way():
    prepare = DataPreparation()
    out = prepare.scale(FRAME)
    assert out["a"].tolist() == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert out["b"].tolist() == pytest.approx([0.0, 0.25, 0.5, 1.0])
    assert out["y"].tolist() == FRAME["y"].tolist()
    prepare.normalize(out)
    new = prepare.transform(pd.DataFrame({"a": [2.5], "b": [30]}))  # no target column needed
    assert new["a"].tolist() == pytest.approx([0.0])  # scaled to 0.5, the mean of the scaled column
    assert [type(t).__name__ for t in prepare.pipeline_] == ["MinMaxScale", "Standardize"]
    with pytest.raises(NotFittedError, match="call normalize\\(data\\) or scale\\(data\\) first"):
        DataPreparation().transform(FRAME)


def test_augment_tables_adds_noisy_copies_with_the_same_target():
    out = DataPreparation(seed=0).augment(FRAME, copies=3, noise=0.1)
    assert len(out) == 16
    assert out["y"].tolist() == FRAME["y"].tolist() * 4
    pd.testing.assert_frame_equal(out.iloc[:4], FRAME.astype({"b": out["b"].dtype}))
    jitter = out[["a", "b"]].to_numpy()[4:] - np.tile(FRAME[["a", "b"]].to_numpy(), (3, 1))
    assert 0 < np.abs(jitter).max() < 1.0 * FRAME[["a", "b"]].std(ddof=0).max()
    np.testing.assert_array_equal(out, DataPreparation(seed=0).augment(FRAME, copies=3, noise=0.1))  # seeded
    with pytest.raises(ConfigError, match="copies must be a whole number >= 0; got -1"):
        DataPreparation().augment(FRAME, copies=-1)


def test_augment_images_shifts_and_rotates_pixels():
    digits = DataIngestion().load_sample("digits").head(20)
    out = DataPreparation(seed=0).augment(digits, copies=1, noise=0.0, shift=1, rotate=0.0)
    assert out.shape == (40, 65) and out["target"].tolist() == digits["target"].tolist() * 2
    pixels = digits.drop(columns="target").to_numpy().reshape(20, 8, 8)
    moved = out.drop(columns="target").to_numpy()[20:].reshape(20, 8, 8)
    assert not np.array_equal(moved, pixels)
    # whole-pixel shifts without rotation or noise keep the pixel values (what moves out is lost)
    assert set(np.unique(moved)) <= set(np.unique(pixels))
