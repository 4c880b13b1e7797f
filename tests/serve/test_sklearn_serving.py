"""scikit-learn models exported to ONNX (pipeline included) answer like the bundle and scikit-learn, served by the same
server as torch models; a family skl2onnx cannot convert is refused before anything changes."""

import numpy as np
import pandas as pd
import pytest

from tesla_lab.errors import ExportError
from tesla_lab.models import sklearn as sk_models
from tesla_lab.serve import export_registered, load_exported
from tesla_lab.serve.onnx_pipeline import emulate, split_pipeline
from tesla_lab.serve.sklearn_onnx import load_onnx
from tesla_lab.store import Project
from tesla_lab.workflow import load_registered, train_model

# every estimator a `tesla train -f scikit-learn` family builds, with small settings
SMALL = {"random_forest": {"n_estimators": 8}, "gradient_boosting": {"max_iter": 10}}
CASES = [(kind, task) for kind in sk_models.kinds() for task in ("classification", "regression")
         if task in sk_models.ESTIMATORS[kind]]


def frame(n=90, seed=0, text=True):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(3.0, 2.0, size=n), "c": rng.uniform(0, 10, size=n)})
    if text:
        df["color"] = rng.choice(["red", "green", "blue"], size=n)
    score = df["a"] + 0.3 * df["b"] + (df["color"] == "red" if text else 0)
    df["kind"] = np.where(score > 1.5, "hi", np.where(score > 0.5, "mid", "lo"))
    df["value"] = 3 * df["a"] - df["c"] + rng.normal(scale=0.1, size=n)
    return df


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return Project.init(tmp_path_factory.mktemp("sk") / "p")


def _train(project, kind, task, df, name):
    target = "kind" if task == "classification" else "value"
    features = [c for c in df.columns if c not in ("kind", "value")]
    train_model(project, {"framework": "scikit-learn", "family": f"sklearn:{kind}", "task": task, "target": target,
                          "features": ",".join(features), "seed": 0, "model": SMALL.get(kind, {})},
                name=name, data=df, progress=False)
    return load_registered(project, name), features


@pytest.mark.parametrize(("kind", "task"), CASES)
def test_every_family_exports_and_answers_like_scikit_learn(project, kind, task):
    bundle, features = _train(project, kind, task, frame(), f"{kind}-{task[:3]}")
    info = export_registered(project, f"{kind}-{task[:3]}")
    assert info.formats == ["onnx"] and info.metadata["model"]["family"] == f"sklearn:{kind}"
    exported = load_exported(info.path)
    rows = frame(40, seed=7)[features]
    got = exported.predict(rows.to_dict("records"))
    est = bundle.estimator.estimator_
    X = bundle.transform(rows)
    if task == "classification":
        want = np.zeros((len(X), len(bundle.classes)))
        want[:, np.asarray(est.classes_, dtype=int)] = est.predict_proba(X)  # scikit-learn itself
        np.testing.assert_allclose(got["probabilities"], want, rtol=0, atol=1e-5)
        assert got["predictions"] == bundle.predict(rows).tolist()  # exact labels
        assert got["class_labels"] == ["hi", "lo", "mid"]
    else:
        want = est.predict(X) * bundle.target_scaling["std"] + bundle.target_scaling["mean"] \
            if bundle.target_scaling else est.predict(X)
        np.testing.assert_allclose(got["predictions"], want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_a_numeric_pipeline_lives_in_the_onnx_graph_missing_values_included(project):
    df = frame(text=False)
    df.loc[::7, "b"] = np.nan
    bundle, features = _train(project, "logistic", "classification", df, "num")
    info = export_registered(project, "num")
    meta = info.metadata
    assert meta["preprocessing"] is None
    assert [s["type"] for s in meta["graph_preprocessing"]] == ["FillMissing", "Standardize"]
    assert meta["input"] == {"shape": [None, 3], "dtype": "float64", "raw_shape": [None, 3], "allow_nan": True}
    rows = frame(12, seed=3, text=False)[features]
    rows.loc[[0, 5], "b"] = np.nan
    # the ONNX file alone (what Triton / KServe / MLServer run) takes the raw numbers, NaN for missing
    onnx_only = load_onnx(info.path / "model.onnx", "classification")
    import torch

    got = onnx_only(torch.from_numpy(rows.to_numpy(np.float64).copy())).numpy()
    np.testing.assert_allclose(got, bundle.predict_proba(rows), rtol=0, atol=1e-5)
    records = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows.to_dict("records")]
    assert records[0]["b"] is None
    answer = load_exported(info.path).predict(records)  # null → filled with the training mean, in the graph
    np.testing.assert_allclose(answer["probabilities"], bundle.predict_proba(rows), rtol=0, atol=1e-5)


def test_text_columns_stay_with_the_server_and_the_numeric_tail_goes_into_the_graph():
    from tesla_lab.workflow.preprocess import build_pipeline

    df = frame()
    pipe = build_pipeline(["a", "b", "c"], ["color"]).fit(df[["a", "b", "c", "color"]])
    raw = df[["a", "b", "c", "color"]]
    head, tail, ops = split_pipeline(pipe.to_dict(), raw)
    assert [s["type"] for s in head["steps"]] == ["FillMissing", "FillMissing", "OneHot"]
    assert [s["type"] for s in tail] == ["Standardize"] and ops[0][0] == "scale"
    offset, scale = ops[0][1], ops[0][2]  # (x - offset) / scale; the one-hot columns pass unchanged
    assert offset[3:].tolist() == [0.0, 0.0, 0.0] and scale[3:].tolist() == [1.0, 1.0, 1.0]
    before = pipe.steps[2].transform(pipe.steps[1].transform(pipe.steps[0].transform(raw))).to_numpy(np.float64)
    assert np.array_equal(emulate(ops, before), pipe.transform(raw).to_numpy(np.float64))  # bit for bit


def test_trees_see_the_same_bits_as_in_the_bundle(project):
    """Tree thresholds equal training values: a float32 standardisation one ulp off flipped decisions of a
    100-tree forest on iris (the probabilities differed by 0.01 and the export was refused)."""
    from tesla_lab.data import load_sample

    frame, _ = load_sample("iris")
    train_model(project, {"framework": "scikit-learn", "dataset": "iris", "seed": 0}, name="iris-rf", data=frame,
                progress=False)
    bundle = load_registered(project, "iris-rf")
    assert len(bundle.estimator.estimator_.estimators_) == 100
    served = load_exported(export_registered(project, "iris-rf").path)
    rows = frame[bundle.features]
    np.testing.assert_allclose(served.predict(rows)["probabilities"], bundle.predict_proba(rows), rtol=0, atol=1e-6)


def test_a_family_skl2onnx_cannot_convert_names_itself(project, monkeypatch):
    bundle, _ = _train(project, "knn", "classification", frame(), "centroid")
    monkeypatch.setattr(bundle.estimator, "estimator", "sklearn.neighbors.NearestCentroid")
    monkeypatch.setattr(bundle.estimator, "family", "sklearn:centroid")
    from tesla_lab.serve.sklearn_onnx import export_sklearn

    with pytest.raises(ExportError, match=r"cannot export sklearn:centroid: skl2onnx .* has no ONNX converter for "
                                          r"NearestCentroid; deploy it without --export/--serve"):
        export_sklearn(bundle, project.path / "exports" / "x")
    assert not (project.path / "exports" / "x").exists()


def test_a_class_the_training_split_lacked_gets_probability_zero_in_its_column(tmp_path):
    from tesla_lab.models import ModelBundle, make_model
    from tesla_lab.serve.sklearn_onnx import export_sklearn

    X = np.linspace(-2, 2, 30, dtype=np.float32).reshape(-1, 1)
    model = make_model("sklearn:logistic", 1, 3, "classification").fit(X, np.where(X[:, 0] > 0, 2, 0))
    bundle = ModelBundle(model, features=["x"], target="y", task="classification", classes=["a", "b", "c"])
    info = export_sklearn(bundle, tmp_path / "e")
    got = load_exported(info.path).predict([{"x": -1.5}, {"x": 0.1}, {"x": 1.5}])
    want = bundle.predict_proba(pd.DataFrame({"x": [-1.5, 0.1, 1.5]}))
    assert (want[:, 1] == 0).all()
    np.testing.assert_allclose(got["probabilities"], want, rtol=0, atol=1e-6)
    assert got["predictions"] == ["a", "c", "c"] and info.metadata["output"]["shape"] == [None, 3]


def test_labels_are_exact_and_ties_go_to_the_first_class(tmp_path):
    """A 10-tree forest votes 5/5 on some rows. scikit-learn sums the votes in float64, ONNX in float32: each may
    come out an ulp off either way, so a tie (top two within 1e-6) goes to the first class, as numpy's argmax does
    on an exact tie; every other row gets scikit-learn's label."""
    from tesla_lab.models import ModelBundle, make_model
    from tesla_lab.serve.sklearn_onnx import export_sklearn

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=2000) > 0).astype(int) + (X[:, 1] > 1)
    model = make_model("sklearn:random_forest", 4, 3, "classification", n_estimators=10, min_samples_leaf=3)
    model.fit(X[:1000], y[:1000], seed=0)
    names = ["x0", "x1", "x2", "x3"]
    bundle = ModelBundle(model, features=names, target="y", task="classification", classes=["a", "b", "c"])
    rows = pd.DataFrame(X[1000:].astype(np.float64), columns=names)
    proba = bundle.predict_proba(rows)
    top = proba.max(axis=1, keepdims=True)
    tied = (proba >= top - 1e-6).sum(axis=1) > 1
    assert 2 <= tied.sum() <= 50  # the forest ties on a few rows (some exactly, some an ulp apart)
    got = np.asarray(load_exported(export_sklearn(bundle, tmp_path / "e").path).predict(rows)["predictions"])
    want = bundle.predict(rows)
    assert (got[~tied] == want[~tied]).all()
    first = np.asarray(["a", "b", "c"])[(proba >= top - 1e-6).argmax(axis=1)]
    assert (got[tied] == first[tied]).all()
