import json

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler

from tesla_lab.data import (
    FillMissing,
    LabelEncode,
    MinMaxScale,
    Normalize,
    OneHot,
    Pipeline,
    PixelScale,
    Standardize,
    fill_missing,
    one_hot,
    prepare_xy,
    transform_from_dict,
)
from tesla_lab.errors import ConfigError, DataError, NotFittedError

# multiples of 1/8: exact in binary; values like 1e-300 only probe where libraries pick different "is this column
# constant?" thresholds (scikit-learn treats a scale below 10 * eps as zero), which is a convention, not math
finite = st.integers(-8000, 8000).map(lambda v: v / 8)
matrices = hnp.arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 4)), elements=finite)

ALL = [Standardize(), MinMaxScale(), Normalize(), PixelScale(), FillMissing(), OneHot(), LabelEncode()]


def _round_trip(t):
    return transform_from_dict(json.loads(json.dumps(t.to_dict())))


# --------------------------------------------------------------------------------------- vs scikit-learn
@settings(max_examples=40, deadline=None)
@given(train=matrices, test_rows=st.integers(1, 4), data=st.data())
def test_standardize_and_minmax_match_scikit_learn(train, test_rows, data):
    test = data.draw(hnp.arrays(np.float64, (test_rows, train.shape[1]), elements=finite))
    for ours, theirs in ((Standardize(), StandardScaler()), (MinMaxScale((-1, 2)), MinMaxScaler((-1, 2)))):
        ours.fit(train)
        theirs.fit(train)
        np.testing.assert_allclose(ours.transform(test), theirs.transform(test), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ours.inverse_transform(ours.transform(test)), test, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(_round_trip(ours).transform(test), ours.transform(test))


@settings(max_examples=30, deadline=None)
@given(X=matrices, norm=st.sampled_from(["l2", "l1", "max"]))
def test_normalize_matches_scikit_learn(X, norm):
    np.testing.assert_allclose(Normalize(norm).fit_transform(X), Normalizer(norm=norm).fit_transform(X), atol=1e-12)


# ------------------------------------------------------------------------------------------ no leakage
def test_statistics_come_from_the_training_data_only():
    train = pd.DataFrame({"x": [0.0, 2.0, 4.0]})
    test = pd.DataFrame({"x": [100.0, 200.0]})
    s = Standardize().fit(train)
    before = s.to_dict()
    out = s.transform(test)
    assert s.to_dict() == before  # transform learned nothing
    assert s.mean_ == [2.0]
    np.testing.assert_allclose(out["x"], (test["x"] - 2.0) / np.std([0.0, 2.0, 4.0]))
    m = MinMaxScale().fit(train)
    assert m.transform(test)["x"].tolist() == [25.0, 50.0]  # outside [0, 1]: test data does not refit
    f = FillMissing().fit(train)
    assert f.transform(pd.DataFrame({"x": [None, 1000.0]}))["x"].tolist() == [2.0, 1000.0]


# ------------------------------------------------------------------------------------- frames and arrays
def test_frames_keep_names_index_and_untouched_columns():
    df = pd.DataFrame({"a": [1.0, 3.0], "b": [10, 30], "c": ["x", "y"]}, index=[7, 9])
    out = Standardize(columns=["a", "b"]).fit_transform(df)
    assert out.columns.tolist() == ["a", "b", "c"] and out.index.tolist() == [7, 9]
    assert out["a"].tolist() == [-1.0, 1.0] and out["b"].tolist() == [-1.0, 1.0] and out["c"].tolist() == ["x", "y"]
    assert df["a"].tolist() == [1.0, 3.0]  # the input is not modified


def test_float32_stays_float32_and_tensors_become_arrays():
    X = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    assert Standardize().fit_transform(X).dtype == np.float32
    out = MinMaxScale().fit_transform(torch.tensor([[0.0], [4.0]]))
    assert isinstance(out, np.ndarray) and out.ravel().tolist() == [0.0, 1.0]


def test_arrays_and_frames_meet_by_position():
    df = pd.DataFrame({"a": [0.0, 2.0], "b": [0.0, 4.0]})
    s = Standardize().fit(df)
    np.testing.assert_allclose(s.transform(np.array([[2.0, 4.0]])), [[1.0, 1.0]])
    s_arr = Standardize().fit(df.to_numpy())
    assert s_arr.transform(df.rename(columns={"a": "p", "b": "q"})).columns.tolist() == ["p", "q"]
    with pytest.raises(DataError, match=r"Standardize was fitted on 2 column\(s\) but got 3"):
        s.transform(np.zeros((1, 3)))


def test_unknown_columns_are_named_with_the_available_ones():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    with pytest.raises(DataError, match=r"Standardize: column\(s\) 'zz' not found; columns are: a, b"):
        Standardize(columns=["zz"]).fit(df)
    s = Standardize(columns=["b"]).fit(df)
    with pytest.raises(DataError, match=r"column\(s\) 'b' not found; columns are: a"):
        s.transform(df[["a"]])


def test_text_columns_given_to_a_scaler_suggest_encoding():
    df = pd.DataFrame({"city": ["Oslo", "Rome"], "n": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"MinMaxScale needs numeric columns; column 'city' has dtype .* "
                                        r"\(e.g. 'Oslo'\); encode it first with OneHot or LabelEncode"):
        MinMaxScale().fit(df)


@pytest.mark.parametrize("t", ALL, ids=lambda t: type(t).__name__)
def test_every_transform_refuses_use_before_fit(t):
    with pytest.raises(NotFittedError, match=f"{type(t).__name__} is not fitted yet; call fit\\(X_train\\) first"):
        t.transform(np.ones((2, 2)))


@pytest.mark.parametrize("t", [Standardize(), OneHot(), FillMissing()], ids=lambda t: type(t).__name__)
def test_fit_on_nothing_is_refused(t):
    with pytest.raises(DataError, match="got 0 rows"):
        t.fit(pd.DataFrame({"a": []}))


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match=r"feature_range must be \(low, high\) with low < high; got \(1, 1\)"):
        MinMaxScale(feature_range=(1, 1)).fit([[1.0]])
    with pytest.raises(ConfigError, match="unknown FillMissing strategy 'mode'; choose one of: mean, median"):
        FillMissing("mode").fit([[1.0]])
    with pytest.raises(ConfigError, match=r"strategy='constant'\) needs fill_value"):
        FillMissing("constant").fit([[1.0]])
    with pytest.raises(ConfigError, match="unknown norm 'l3'"):
        Normalize("l3").fit([[1.0]])
    with pytest.raises(ConfigError, match="handle_unknown must be 'error' or 'ignore'"):
        OneHot(handle_unknown="skip").fit(["a"])


def test_constant_and_all_nan_columns():
    X = np.array([[1.0, np.nan], [1.0, np.nan]])
    with pytest.raises(DataError, match=r"column\(s\) 1 hold no values \(all NaN\)"):
        Standardize().fit(X)
    assert Standardize().fit_transform(X[:, :1]).ravel().tolist() == [0.0, 0.0]
    assert MinMaxScale().fit_transform(X[:, :1]).ravel().tolist() == [0.0, 0.0]


# ------------------------------------------------------------------------------------------ FillMissing
def test_fill_missing_strategies():
    df = pd.DataFrame({"n": [1.0, None, 3.0, 3.0], "c": ["a", "b", None, "b"]})
    assert FillMissing("mean").fit_transform(df)["n"].tolist() == [1.0, 7 / 3, 3.0, 3.0]
    assert FillMissing("mean").fit(df).columns_ == ["n"]  # text columns are skipped by default
    assert FillMissing("median").fit_transform(df)["n"].tolist() == [1.0, 3.0, 3.0, 3.0]
    filled = FillMissing("most_frequent").fit_transform(df)
    assert filled["c"].tolist() == ["a", "b", "b", "b"] and filled["n"].tolist() == [1.0, 3.0, 3.0, 3.0]
    assert FillMissing("constant", fill_value="?", columns=["c"]).fit_transform(df)["c"].tolist()[2] == "?"
    with pytest.raises(DataError, match="FillMissing needs numeric columns; column 'c'"):
        FillMissing("median", columns=["c"]).fit(df)
    with pytest.raises(DataError, match="column 'e' is entirely missing"):
        FillMissing("mean", columns=["e"]).fit(pd.DataFrame({"e": [np.nan, np.nan]}))


# -------------------------------------------------------------------------------------- OneHot / labels
def test_one_hot_frames_arrays_unknowns_and_inverse():
    df = pd.DataFrame({"n": [1, 2, 3], "city": ["Rome", "Oslo", "Rome"]})
    enc = OneHot().fit(df)
    out = enc.transform(df)
    assert out.columns.tolist() == ["n", "city_Oslo", "city_Rome"]
    assert out["city_Rome"].tolist() == [1.0, 0.0, 1.0] and out["city_Rome"].dtype == np.float32
    pd.testing.assert_frame_equal(enc.inverse_transform(out), df, check_dtype=False)
    with pytest.raises(DataError, match=r"column 'city' has value\(s\) not seen in fit: 'Paris'; .*"
                                        r"OneHot\(handle_unknown='ignore'\)"):
        enc.transform(pd.DataFrame({"n": [1], "city": ["Paris"]}))
    lenient = OneHot(handle_unknown="ignore").fit(df)
    row = lenient.transform(pd.DataFrame({"n": [1], "city": ["Paris"]}))
    assert row[["city_Oslo", "city_Rome"]].to_numpy().tolist() == [[0.0, 0.0]]
    assert lenient.inverse_transform(row)["city"].tolist() == [None]


def test_one_hot_of_labels_matches_torch_one_hot():
    y = np.array([2, 0, 1, 2])
    out = OneHot().fit_transform(y)
    np.testing.assert_array_equal(out, torch.nn.functional.one_hot(torch.from_numpy(y)).numpy())
    assert OneHot().fit(y).inverse_transform(out).tolist() == y.tolist()


def test_one_hot_refuses_missing_values():
    with pytest.raises(DataError, match=r"OneHot: column 'c' has 1 missing value\(s\); fill them first"):
        OneHot().fit(pd.DataFrame({"c": ["a", None]}))


def test_label_encode_round_trip_and_unknowns():
    df = pd.DataFrame({"size": ["S", "L", "M", "S"], "w": [1.0, 2.0, 3.0, 4.0]})
    enc = LabelEncode().fit(df)
    codes = enc.transform(df)
    assert enc.columns_ == ["size"] and enc.categories_ == [["L", "M", "S"]]
    assert codes["size"].tolist() == [2, 0, 1, 2] and codes["w"].tolist() == df["w"].tolist()
    assert enc.inverse_transform(codes)["size"].tolist() == df["size"].tolist()
    with pytest.raises(DataError, match=r"value\(s\) not seen in fit: 'XL'; fit on data that contains every category"):
        enc.transform(pd.DataFrame({"size": ["XL"], "w": [1.0]}))
    with pytest.raises(DataError, match=r"code\(s\) \[7\] outside 0..2"):
        enc.inverse_transform(pd.DataFrame({"size": [7], "w": [1.0]}))
    labels = LabelEncode().fit(np.array([10, 30, 20]))
    assert labels.transform(np.array([30, 10])).tolist() == [2, 0]
    assert labels.inverse_transform(np.array([1])).tolist() == [20]


# ----------------------------------------------------------------------------------------------- images
def test_pixel_scale_learns_the_training_maximum_and_keeps_shape():
    images = np.array([[[0, 100], [200, 50]]], dtype=np.uint8)  # (1, 2, 2)
    s = PixelScale().fit(images)
    assert s.max_value_ == 200.0
    out = s.transform(images)
    assert out.shape == (1, 2, 2) and out.dtype == np.float32 and out.max() == 1.0
    np.testing.assert_allclose(s.inverse_transform(out), images)
    assert PixelScale(max_value=255).fit(images).max_value_ == 255.0
    with pytest.raises(DataError, match="positive maximum pixel value; got 0.0; pass max_value=255"):
        PixelScale().fit(np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"fitted on samples of 4 values; got shape \(1, 3, 3\)"):
        s.transform(np.zeros((1, 3, 3)))


def test_normalize_works_per_image_and_has_no_inverse():
    images = np.random.default_rng(0).random((3, 4, 4))
    out = Normalize().fit_transform(images)
    np.testing.assert_allclose(np.sqrt((out.reshape(3, -1) ** 2).sum(1)), 1.0)
    with pytest.raises(ConfigError, match=r"Normalize cannot be inverted \(per-sample norms are not kept\)"):
        Normalize().fit(images).inverse_transform(out)


# ------------------------------------------------------------------------------------------------ Pipeline
def test_pipeline_chains_inverts_and_survives_json():
    train = pd.DataFrame({"size": ["S", "M", None, "S"], "w": [1.0, None, 3.0, 5.0]})
    test = pd.DataFrame({"size": ["M", None], "w": [None, 9.0]})
    pipe = Pipeline([FillMissing("most_frequent"), OneHot(), Standardize()])
    fitted = pipe.fit_transform(train)
    assert fitted.columns.tolist() == ["size_M", "size_S", "w"]
    np.testing.assert_allclose(fitted.mean().to_numpy(), 0.0, atol=1e-7)
    again = _round_trip(pipe)
    pd.testing.assert_frame_equal(again.transform(test), pipe.transform(test))
    assert json.loads(json.dumps(again.to_dict())) == pipe.to_dict()
    back = pipe.inverse_transform(pipe.transform(test))  # FillMissing is not undone: values stay filled
    assert back["size"].tolist() == ["M", "S"] and back["w"].tolist() == [1.0, 9.0]


def test_pipeline_accepts_named_steps_and_refuses_other_things():
    pipe = Pipeline([("scale", Standardize())]).fit(np.array([[1.0], [3.0]]))
    assert pipe[0].mean_ == [2.0] and len(pipe) == 1
    with pytest.raises(NotFittedError, match=r"Pipeline is not fitted yet \(step\(s\) Standardize\)"):
        Pipeline([Standardize()]).transform([[1.0]])
    with pytest.raises(ConfigError, match="Pipeline steps must be transforms .*got StandardScaler"):
        Pipeline([StandardScaler()]).fit([[1.0]])


@pytest.mark.parametrize("t", ALL, ids=lambda t: type(t).__name__)
def test_every_transform_round_trips_through_json(t):
    X = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [0.0, 5.0, 5.0], "c": ["x", "y", "x"]})
    data = X if isinstance(t, (OneHot, LabelEncode, FillMissing)) else X[["a", "b"]]
    expected = t.fit_transform(data)
    restored = _round_trip(t)
    assert type(restored) is type(t) and restored.get_params() == json.loads(json.dumps(t.get_params()))
    got = restored.transform(data)
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected)
    else:
        np.testing.assert_array_equal(got, expected)


def test_saved_state_that_is_not_a_transform_is_refused():
    with pytest.raises(ConfigError, match="a saved transform is a dict with a 'type' key"):
        transform_from_dict({"params": {}})
    with pytest.raises(DataError, match="cannot save a value of type Timestamp"):
        LabelEncode(columns=["t"]).fit(pd.DataFrame({"t": pd.to_datetime(["2024-01-01"])}).astype(object))


# ---------------------------------------------------------------------------------------------- prepare_xy
def test_prepare_xy_classification_and_regression():
    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 0.1, 0.2], "label": ["yes", "no", "yes"], "y": [1.5, 2.5, 0.1]})
    X, y, info = prepare_xy(df, "label", features=["a", "b"])
    assert X.dtype == np.float32 and X.shape == (3, 2)
    assert y.dtype == np.int64 and y.tolist() == [1, 0, 1]
    assert (info.task, info.classes, info.n_classes, info.features) == ("classification", ["no", "yes"], 2, ["a", "b"])
    X, y, info = prepare_xy(df, "y", features=["a", "b"])
    assert y.dtype == np.float32 and info.task == "regression" and info.classes is None
    _, y, info = prepare_xy(df, "a", features=["b"])  # integer target: classes
    assert info.task == "classification" and y.tolist() == [0, 1, 2]
    _, y, _ = prepare_xy(df, "a", features=["b"], task="regression")
    assert y.dtype == np.float32
    assert json.dumps(info.to_dict())


def test_prepare_xy_refuses_what_would_train_wrong():
    df = pd.DataFrame({"a": [1.0, None], "city": ["x", "y"], "t": [0, 1], "tn": [1.0, None]})
    with pytest.raises(DataError, match=r"target column 'price' not found; columns are: a, city, t, tn"):
        prepare_xy(df, "price")
    with pytest.raises(DataError, match=r"'city' are not numeric \(e.g. 'x'\); encode them with OneHot or LabelEncode"):
        prepare_xy(df, "t", features=["city"])
    with pytest.raises(DataError, match=r"'a' contain 1 NaN/inf value\(s\); use FillMissing or df.dropna\(\)"):
        prepare_xy(df, "t", features=["a"])
    with pytest.raises(DataError, match=r"target column 'tn' has 1 missing value\(s\); .*dropna\(subset=\['tn'\]\)"):
        prepare_xy(df, "tn", features=["t"])
    with pytest.raises(DataError, match="regression needs a numeric target; column 'city'"):
        prepare_xy(df, "city", features=["t"], task="regression")
    with pytest.raises(DataError, match="is also listed as a feature"):
        prepare_xy(df, "t", features=["t"])
    with pytest.raises(ConfigError, match="task must be 'classification', 'regression' or None"):
        prepare_xy(df, "t", task="ranking")
    with pytest.raises(DataError, match="prepare_xy takes a DataFrame; got ndarray"):
        prepare_xy(np.zeros((2, 2)), "t")


def test_one_shot_helpers_fit_on_what_they_are_given():
    df = pd.DataFrame({"a": [1.0, None, 5.0], "c": ["x", "y", "x"]})
    assert fill_missing(df)["a"].tolist() == [1.0, 3.0, 5.0]
    assert fill_missing(df, "constant", fill_value=0.0, columns=["a"])["a"].tolist() == [1.0, 0.0, 5.0]
    assert one_hot(df[["c"]]).columns.tolist() == ["c_x", "c_y"]
