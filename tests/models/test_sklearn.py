"""scikit-learn families: same interface as the torch ones; pickles only in an artifact store, loaded only trusted."""

import warnings

import numpy as np
import pytest

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models import SklearnModel, load_estimator, make_model
from tesla_lab.models.sklearn import kinds
from tesla_lab.store import ArtifactStore


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64), X @ np.array([1.0, 2.0, -1.0])


def test_classifier_and_regressor_share_the_estimator_interface(data):
    X, labels, values = data
    clf = make_model("sklearn:logistic", 3, 2, "classification")
    clf.fit(X, labels, epochs=99, lr=0.1)  # training-loop options do not apply to sklearn: ignored
    assert clf.hparams["max_iter"] == 1000  # TESLA Lab's default over sklearn's warning-prone 100
    assert clf.predict(X).dtype == np.int64 and clf.evaluate(X, labels)["accuracy"] > 0.9
    reg = make_model("sklearn:ridge", 3, 1, "regression", alpha=0.1).fit(X, values)
    assert reg.predict(X).shape == (60,) and reg.evaluate(X, values)["r2"] > 0.99
    assert "svm" in kinds()


def test_probabilities_cover_classes_missing_from_the_training_data(data):
    X, labels, _ = data
    model = make_model("sklearn:random_forest", 3, 3, "classification", n_estimators=5).fit(X, labels, seed=0)
    proba = model.predict_proba(X)
    assert proba.shape == (60, 3) and np.all(proba[:, 2] == 0)  # class 2 never seen: probability 0
    knn = make_model("sklearn:knn", 3, 2, "classification", n_neighbors=3).fit(X, labels)
    assert knn.get_config()["estimator"] == "sklearn.neighbors.KNeighborsClassifier"


def test_pickles_go_only_into_an_artifact_store_and_load_only_with_trust(tmp_path, data):
    X, labels, _ = data
    model = make_model("sklearn:logistic", 3, 2, "classification").fit(X, labels)
    with pytest.raises(ConfigError, match="only writes into a project's artifact store"):
        model.save(tmp_path / "folder")
    assert not (tmp_path / "folder").exists()
    store = ArtifactStore(tmp_path / "artifacts")
    entry = model.save(store)
    assert entry["format"] == "pickle" and entry["payload"] in store
    with pytest.raises(ConfigError, match="refusing to unpickle the sklearn:logistic estimator"):
        load_estimator(store, entry)
    again = load_estimator(store, entry, trust=True)
    assert isinstance(again, SklearnModel)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def test_a_pickle_in_a_folder_is_never_loaded(tmp_path):
    entry = {"config": {}, "payload": "estimator.pkl", "format": "pickle"}
    with pytest.raises(ConfigError, match="refusing to unpickle an estimator from the folder"):
        load_estimator(tmp_path, entry, trust=True)


def test_a_damaged_or_mismatched_pickle_is_reported(tmp_path, data):
    X, labels, _ = data
    store = ArtifactStore(tmp_path)
    entry = make_model("sklearn:logistic", 3, 2, "classification").fit(X, labels).save(store)
    bad = dict(entry, payload=store.put_bytes(b"not a pickle"))
    with pytest.raises(DataError, match="cannot unpickle the sklearn:logistic estimator"):
        load_estimator(store, bad, trust=True)
    other = make_model("sklearn:knn", 3, 2, "classification").fit(X, labels).save(store)
    mixed = dict(entry, payload=other["payload"])
    with pytest.raises(DataError, match="the stored estimator is a KNeighborsClassifier, not the LogisticRegression"):
        load_estimator(store, mixed, trust=True)


def test_bad_inputs_are_refused(data):
    X, labels, _ = data
    with pytest.raises(DataError, match="X has 60 samples but y has 3"):
        make_model("sklearn:logistic", 3, 2, "classification").fit(X, labels[:3])
    with pytest.raises(DataError, match="unknown saved model format 'onnx'"):
        load_estimator("unused", {"config": {}, "payload": "x", "format": "onnx"})
    with pytest.raises(DataError, match="a saved model entry needs 'config', 'payload' and 'format'"):
        load_estimator("unused", {"config": {}})
    with pytest.raises(ConfigError, match="load_estimator from a store needs the entry"):
        load_estimator(ArtifactStore("unused"))


def test_svm_probabilities_come_from_calibration_without_a_deprecation_warning(data, tmp_path):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    X, labels, _ = data
    model = make_model("sklearn:svm", 3, 2, "classification", C=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn 1.9 deprecated SVC(probability=True) with a FutureWarning
        model.fit(X, labels, seed=0)
        proba = model.predict_proba(X)
    est = model.estimator_
    assert isinstance(est, CalibratedClassifierCV) and est.ensemble is False and est.cv == 5
    assert len(est.calibrated_classifiers_) == 1  # one SVC refit on all the data, as SVC(probability=True) did
    svc = est.calibrated_classifiers_[0].estimator
    assert isinstance(svc, SVC) and svc.C == 2.0 and "probability" not in model.hparams
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(1))
    assert model.evaluate(X, labels)["accuracy"] > 0.9
    store = ArtifactStore(tmp_path / "artifacts")
    again = load_estimator(store, model.save(store), trust=True)
    assert isinstance(again.estimator_, CalibratedClassifierCV)
    np.testing.assert_array_equal(again.predict_proba(X), proba)


def test_svm_calibration_folds_follow_the_rarest_class(data):
    X, _, _ = data
    y = np.zeros(60, dtype=np.int64)
    y[:3] = 1  # 3 samples of class 1: 3 folds
    model = make_model("sklearn:svm", 3, 2, "classification").fit(X, y)
    assert model.estimator_.cv == 3
    y[1:3] = 0  # a single sample: no cross-validation possible
    with pytest.raises(DataError, match=r"needs at least 2 training samples of every class; class 1 has 1"):
        make_model("sklearn:svm", 3, 2, "classification").fit(X, y)


def test_an_svm_saved_with_probability_true_still_loads(tmp_path, data):
    X, labels, _ = data
    old = make_model("sklearn:svm", 3, 2, "classification", probability=True)  # how models were saved before
    with pytest.warns(FutureWarning, match="probability"):
        old.fit(X, labels, seed=0)
    store = ArtifactStore(tmp_path / "artifacts")
    again = load_estimator(store, old.save(store), trust=True)
    assert type(again.estimator_).__name__ == "SVC" and again.hparams["probability"] is True
    np.testing.assert_allclose(again.predict_proba(X), old.predict_proba(X))
