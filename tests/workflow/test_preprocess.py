"""From a raw table to arrays: task detection, automatic encoding, fitting on the training rows only."""

import numpy as np
import pandas as pd
import pytest

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.workflow import build_pipeline, column_kinds, detect_task, prepare
from tesla_lab.workflow.preprocess import parse_steps, sorted_labels


def test_detect_task_from_the_target_values():
    assert detect_task(pd.Series(["a", "b", "a"])) == "classification"
    assert detect_task(pd.Series([True, False])) == "classification"
    assert detect_task(pd.Series([0.0, 1.0, 1.0])) == "classification"  # whole numbers, few values
    assert detect_task(pd.Series(np.arange(50))) == "regression"  # too many distinct values for classes
    assert detect_task(pd.Series([0.5, 1.5])) == "regression"
    assert detect_task(pd.Series(np.arange(50)), max_classes=100) == "classification"


def test_text_columns_with_few_values_are_one_hot_encoded(iris_csv):
    df = pd.read_csv(iris_csv[0])
    data = prepare(df, "species", seed=0)
    assert data.task == "classification" and data.classes == ["setosa", "versicolor", "virginica"]
    assert data.encoded_features[:2] == ["lab_north", "lab_south"]  # in the text column's place
    assert set(np.unique(data.X_train[:, 0])) == {0.0, 1.0}  # indicators are not standardized
    assert len(data.X_train) == 96 and len(data.test_frame) == 24
    counts = df["species"].value_counts()
    expected = (counts * 24 / 120).round().sort_index().tolist()
    assert data.test_frame["species"].value_counts().sort_index().tolist() == expected  # stratified


def test_preprocessing_is_fitted_on_the_training_rows_only():
    df = pd.DataFrame({"x": np.arange(100, dtype=float), "y": np.arange(100, dtype=float) * 2})
    data = prepare(df, "y", test_size=0.25, seed=1)
    train_rows = df.drop(index=data.test_frame.index)
    scaler = data.pipeline[-1]
    assert scaler.mean_ == pytest.approx([train_rows["x"].mean()])
    assert scaler.mean_ != pytest.approx([df["x"].mean()])
    assert data.target_scaling["mean"] == pytest.approx(train_rows["y"].mean())
    assert abs(float(data.y_train.mean())) < 1e-5  # the model learns the standardized target


def test_missing_feature_values_are_filled_with_training_statistics():
    df = pd.DataFrame({"x": [1.0, np.nan, 3.0, 5.0] * 10, "c": ["a", None, "b", "a"] * 10, "y": [0, 1] * 20})
    data = prepare(df, "y", val_size=0.1, seed=0)
    assert np.isfinite(data.X_train).all() and data.X_val is not None and len(data.X_val) == 4


def test_free_text_dates_and_empty_columns_are_refused():
    n = 40
    df = pd.DataFrame({"note": [f"comment {i}" for i in range(n)], "y": [0, 1] * (n // 2)})
    with pytest.raises(DataError, match="feature column 'note' looks like free text \\(40 distinct values"):
        prepare(df, "y")
    when = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=4), "y": [0, 1, 0, 1]})
    with pytest.raises(DataError, match="feature column 't' holds dates/times"):
        column_kinds(when, ["t"])
    with pytest.raises(DataError, match="feature column 'e' holds no values"):
        column_kinds(pd.DataFrame({"e": [None, None]}, dtype=object), ["e"])
    assert column_kinds(df, ["note"], max_categories=100) == ([], ["note"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target": "label"}, "target column 'label' not found; columns are: x, y"),
    ({"target": "y", "features": ["z"]}, r"column\(s\) 'z' not found"),
    ({"target": "y", "features": ["x", "y"]}, "target column 'y' is also listed as a feature"),
    ({"target": "y", "task": "ranking"}, "task must be 'auto', 'classification' or 'regression'"),
])
def test_bad_columns_and_options_are_named(kwargs, message):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    error = ConfigError if "task" in kwargs else DataError
    with pytest.raises(error, match=message):
        prepare(df, **kwargs)


def test_bad_targets_are_refused():
    with pytest.raises(DataError, match="no feature columns left besides the target 'y'"):
        prepare(pd.DataFrame({"y": [0, 1]}), "y")
    with pytest.raises(DataError, match="target column 'y' has 1 missing value"):
        prepare(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, None, 1]}), "y")
    with pytest.raises(DataError, match="target column 'y' has a single class \\('a'\\)"):
        prepare(pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "a"]}), "y")
    with pytest.raises(DataError, match="regression needs a numeric target; column 'y'"):
        prepare(pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}), "y", task="regression")
    with pytest.raises(DataError, match="training data must be a pandas DataFrame"):
        prepare([[1, 2]], "y")


def test_steps_are_parsed_and_applied_to_numeric_columns():
    assert parse_steps("min-max") == [("minmaxscale", {})]
    pipe = build_pipeline(["a"], [], [{"type": "fill_missing", "strategy": "median"}, "minmax"])
    assert [type(t).__name__ for t in pipe] == ["FillMissing", "MinMaxScale"]
    assert [type(t).__name__ for t in build_pipeline([], ["c"], ["pixel_scale"])] == ["FillMissing", "OneHot",
                                                                                     "PixelScale"]
    with pytest.raises(ConfigError, match="bad options for preprocessing step 'standardize'"):
        build_pipeline(["a"], [], [{"type": "standardize", "scale": 2}])
    with pytest.raises(ConfigError, match="a preprocessing step is a name .* or a dict with a 'type'"):
        parse_steps([{"columns": ["a"]}])
    with pytest.raises(ConfigError, match="preprocessing must be a list of step names"):
        parse_steps(3)


def test_labels_sort_even_with_mixed_types():
    assert sorted_labels([np.int64(2), 1, 2]) == [1, 2]
    assert sorted_labels(["b", 1]) == [1, "b"]
