"""ModelBundle: raw rows in, original labels out; saved as JSON + weights and read back identically."""

import json

import numpy as np
import pandas as pd
import pytest

from tesla_lab.data import OneHot, Pipeline, Standardize
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models import ModelBundle, load_bundle, make_model, save_bundle, summary_metrics
from tesla_lab.store import Project


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    color = np.where(rng.random(120) > 0.5, "red", "blue")
    label = np.where(x + (color == "red") > 0.5, "yes", "no")
    return pd.DataFrame({"x": x, "color": color, "label": label})


@pytest.fixture(scope="module")
def bundle(frame):
    pipe = Pipeline([OneHot(["color"], handle_unknown="ignore"), Standardize(columns=["x"])])
    X = pipe.fit_transform(frame[["x", "color"]])
    model = make_model("logistic", 3, 2, "classification")
    model.fit(X.to_numpy(np.float32), (frame["label"] == "yes").astype(int), epochs=60, lr=0.2, seed=0, device="cpu")
    return ModelBundle(model, features=["x", "color"], target="label", task="classification", classes=["no", "yes"],
                       preprocessing=pipe, encoded_features=list(X.columns), metrics={"accuracy": 1.0})


def test_predict_takes_raw_rows_in_every_shape_and_answers_in_labels(bundle, frame):
    labels = bundle.predict(frame)
    assert set(labels) <= {"no", "yes"} and (labels == frame["label"].to_numpy()).mean() > 0.9
    record = {"x": 3.0, "color": "red"}
    assert bundle.predict(record).tolist() == ["yes"]
    assert bundle.predict([record, {"x": -3.0, "color": "blue"}]).tolist() == ["yes", "no"]
    assert bundle.predict(np.array([[3.0, "red"]], dtype=object)).tolist() == ["yes"]
    assert bundle.predict({"x": [3.0], "color": ["green"]}).shape == (1,)  # unseen category: all-zero indicators
    proba = bundle.predict_proba(frame.head(4))
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
    assert bundle.input_shape == (3,)


def test_bad_rows_are_refused_with_the_columns_named(bundle, frame):
    with pytest.raises(DataError, match=r"missing feature column\(s\) 'color'; the model reads: x, color"):
        bundle.predict(frame[["x"]])
    with pytest.raises(DataError, match=r"the 2 feature columns \(x, color\) in order; got shape \(1, 3\)"):
        bundle.predict([[1.0, "red", 5]])
    with pytest.raises(DataError, match="no rows to predict"):
        bundle.predict(frame.head(0))
    with pytest.raises(DataError, match="hold NaN/inf after preprocessing"):
        bundle.predict({"x": float("inf"), "color": "red"})


def test_evaluate_maps_labels_and_refuses_unknown_ones(bundle, frame):
    report = bundle.evaluate(frame)
    assert report["summary"]["accuracy"] > 0.9 and set(report["per_class"]) == {"no", "yes"}
    with pytest.raises(DataError, match="the evaluation data has no target column 'label'; columns are: x, color"):
        bundle.evaluate(frame[["x", "color"]])
    odd = frame.head(3).assign(label=["no", "maybe", "yes"])
    unknown = r"has value\(s\) the model was not trained on: maybe; the model knows: no, yes"
    with pytest.raises(DataError, match=unknown):
        bundle.evaluate(odd)
    with pytest.raises(DataError, match="target column 'label' has 1 missing value"):
        bundle.evaluate(frame.head(3).assign(label=["no", None, "yes"]))


def test_regression_bundles_scale_predictions_back_to_target_units():
    X = np.linspace(-1, 1, 50, dtype=np.float32)[:, None]
    y = 1000 + 50 * X[:, 0]
    model = make_model("linear", 1, 1, "regression")
    model.fit(X, (y - 1000) / 50, epochs=100, lr=0.1, seed=0, device="cpu")
    b = ModelBundle(model, ["x"], "y", "regression", target_scaling={"mean": 1000.0, "std": 50.0})
    pred = b.predict(pd.DataFrame({"x": [0.0, 1.0]}))
    np.testing.assert_allclose(pred, [1000.0, 1050.0], atol=2.0)
    assert b.evaluate(pd.DataFrame({"x": X[:, 0], "y": y}))["summary"]["r2"] > 0.99
    with pytest.raises(DataError, match="must be numeric for this regression model"):
        b.evaluate(pd.DataFrame({"x": [0.0], "y": ["high"]}))


def test_folder_round_trip_gives_identical_answers(tmp_path, bundle, frame):
    assert save_bundle(bundle, tmp_path) == "bundle.json"
    manifest = json.loads((tmp_path / "bundle.json").read_text())
    assert manifest["classes"] == ["no", "yes"] and manifest["estimator"]["payload"] == "weights.pt"
    again = load_bundle(tmp_path)
    assert again.encoded_features == bundle.encoded_features and again.metrics == {"accuracy": 1.0}
    np.testing.assert_array_equal(again.predict(frame), bundle.predict(frame))


def test_store_and_run_round_trips(tmp_path, bundle, frame):
    project = Project.init(tmp_path)
    sha = bundle.save(project)
    np.testing.assert_array_equal(load_bundle(project, sha).predict(frame), bundle.predict(frame))
    run = project.start_run(name="r")
    save_bundle(bundle, run)
    assert {"bundle.json", "weights.pt"} <= set(run.artifacts()["name"])
    assert run.artifacts().set_index("name").loc["weights.pt", "kind"] == "model"
    np.testing.assert_array_equal(load_bundle(run).predict(frame), bundle.predict(frame))
    with pytest.raises(ConfigError, match="load_bundle from an artifact store or project needs ref="):
        load_bundle(project)


def test_sklearn_bundles_need_a_store_and_trust(tmp_path, frame):
    X = frame[["x"]].to_numpy(np.float32)
    model = make_model("sklearn:logistic", 1, 2, "classification").fit(X, (frame["label"] == "yes").astype(int))
    b = ModelBundle(model, ["x"], "label", "classification", classes=["no", "yes"])
    with pytest.raises(ConfigError, match="only writes into a project's artifact store"):
        save_bundle(b, tmp_path / "folder")
    project = Project.init(tmp_path / "p")
    sha = save_bundle(b, project)
    with pytest.raises(ConfigError, match="refusing to unpickle"):
        load_bundle(project, sha)
    assert load_bundle(project, sha, trust=True).predict({"x": 5.0}).tolist() == ["yes"]


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path):
    (tmp_path / "bundle.json").write_text('{"format": "other/1"}')
    with pytest.raises(DataError, match="is not a TESLA Lab model bundle \\(format 'other/1'"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text("{broken")
    with pytest.raises(DataError, match="the bundle manifest bundle.json is not valid JSON"):
        load_bundle(tmp_path)


def test_inconsistent_bundles_are_refused():
    model = make_model("logistic", 2, 3, "classification")
    with pytest.raises(ConfigError, match="needs one class label per model output \\(3\\); got classes=\\['a', 'b'\\]"):
        ModelBundle(model, ["x", "y"], "t", "classification", classes=["a", "b"])
    with pytest.raises(ConfigError, match="needs at least one feature column"):
        ModelBundle(model, [], "t", "classification", classes=["a", "b", "c"])
    with pytest.raises(ConfigError, match="the model takes 2 inputs but encoded_features names 1"):
        ModelBundle(model, ["x"], "t", "classification", classes=["a", "b", "c"])


def test_summary_metrics_pick_the_headline_numbers():
    report = {"accuracy": 0.5, "macro": {"f1": 0.4, "precision": 0.3, "recall": 0.2}, "roc_auc": 0.9}
    assert summary_metrics(report, "classification")["roc_auc"] == 0.9
    assert summary_metrics({"mse": 1.0, "n_samples": 1}, "regression") == {"mse": 1.0}
    assert summary_metrics({"mse": 1.0, "r2": float("nan")}, "regression") == {"mse": 1.0}  # strict JSON
