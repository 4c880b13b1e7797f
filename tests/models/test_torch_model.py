"""Torch families: what each network looks like, that it learns, and that save → load gives the same answers."""

import json

import numpy as np
import pytest
import torch

from tesla_lab.errors import ConfigError, DataError, NotFittedError
from tesla_lab.models import TorchModel, load_estimator, make_model
from tesla_lab.models.cnn import image_shape
from tesla_lab.models.hparams import positive, rate, sizes
from tesla_lab.models.tt_mlp import factorizes
from tesla_lab.nn import TTLinear


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)  # 3 classes
    return X, y


def test_binary_logistic_regression_uses_one_logit_and_learns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    model = make_model("logistic", 2, 2, "classification")
    assert model.single_logit and model.config["layers"][0]["units"] == 1
    model.fit(X, y, epochs=40, lr=0.2, seed=0, device="cpu")
    proba = model.predict_proba(X)
    assert proba.shape == (80, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert model.evaluate(X, y)["accuracy"] > 0.9


def test_multinomial_models_learn_a_three_class_problem(blobs):
    X, y = blobs
    for family, hp in (("logistic", {}), ("mlp", {"hidden_sizes": [16]}), ("tt_mlp", {"hidden_sizes": [16, 16]})):
        model = make_model(family, 4, 3, "classification", **hp).fit(X, y, epochs=20, lr=0.1, seed=0, device="cpu")
        assert model.predict(X).dtype == np.int64
        assert model.evaluate(X, y)["accuracy"] > 0.75, family


def test_linear_regression_recovers_a_linear_target():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5], dtype=np.float32) + 0.3
    model = make_model("linear", 3, 1, "regression").fit(X, y, epochs=80, lr=0.1, seed=0, device="cpu")
    assert model.predict(X).shape == (64,)
    assert model.evaluate(X, y)["r2"] > 0.98


def test_mlp_options_shape_the_network():
    model = make_model("mlp", 5, 2, "classification", hidden_sizes=[8, 4], batch_norm=True, dropout=0.1)
    kinds = [layer["type"] for layer in model.config["layers"]]
    assert kinds == ["Dense", "BatchNorm", "Activation", "Dropout", "Dense", "BatchNorm", "Activation", "Dropout",
                     "Dense"]
    with pytest.raises(ConfigError, match=r"dropout must be a fraction in \[0, 1\); got 1.5"):
        make_model("mlp", 5, 2, "classification", dropout=1.5)
    with pytest.raises(ConfigError, match="hidden_sizes must be a positive integer or a non-empty list"):
        make_model("mlp", 5, 2, "classification", hidden_sizes=[])


def test_cnn_takes_digit_images_as_pixel_rows():
    model = make_model("cnn", 64, 10, "classification")
    assert model.hparams["image_shape"] == [1, 8, 8]
    out = model.module(torch.zeros(3, 64))
    assert out.shape == (3, 10)
    assert image_shape(48, [3, 4, 4]) == (3, 4, 4) and image_shape(12, [3, 4]) == (1, 3, 4)
    with pytest.raises(ConfigError, match="10 is not a square number of pixels"):
        make_model("cnn", 10, 2, "classification")
    with pytest.raises(ConfigError, match=r"image_shape must be \[height, width\] .* with product 64"):
        make_model("cnn", 64, 2, "classification", image_shape=[7, 7])


def test_tt_mlp_hidden_layers_are_tensor_trains_unless_a_size_is_prime():
    model = make_model("tt_mlp", 16, 3, "classification", hidden_sizes=[32, 32], tt_rank=2)
    tts = [m for m in model.module.modules() if isinstance(m, TTLinear)]
    assert len(tts) == 2 and all(max(t.ranks) <= 2 for t in tts)
    prime = make_model("tt_mlp", 13, 3, "classification", hidden_sizes=[32, 13])
    assert [layer["kind"] for layer in prime.config["layers"]] == ["dense"]  # 32→13: 13 is prime
    assert factorizes(64, 64) and not factorizes(13, 8)
    with pytest.raises(ConfigError, match="tt_rank must be a positive integer; got 0"):
        make_model("tt_mlp", 16, 3, "classification", tt_rank=0)


def test_saved_model_folder_reloads_with_identical_predictions(tmp_path, blobs):
    X, y = blobs
    model = make_model("tt_mlp", 4, 3, "classification", hidden_sizes=[8, 8]).fit(X, y, epochs=2, seed=0,
                                                                                     device="cpu")
    entry = model.save(tmp_path)
    assert entry["payload"] == "weights.pt" and json.loads((tmp_path / "model.json").read_text())["format"] == "torch"
    again = load_estimator(tmp_path)
    assert isinstance(again, TorchModel) and again.is_fitted
    np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path, blobs):
    X, y = blobs
    make_model("mlp", 4, 3, "classification", hidden_sizes=[8]).fit(X, y, epochs=1, device="cpu").save(tmp_path)
    entry = json.loads((tmp_path / "model.json").read_text())
    entry["config"]["model"]["layers"][0]["units"] = 9
    (tmp_path / "model.json").write_text(json.dumps(entry))
    with pytest.raises(DataError, match="the saved weights do not load into the mlp model"):
        load_estimator(tmp_path)


def test_unfitted_models_and_bad_inputs_are_refused(blobs):
    X, y = blobs
    model = make_model("mlp", 4, 3, "classification")
    with pytest.raises(NotFittedError, match="this mlp model is not fitted yet; call fit"):
        model.predict(X)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.save("unused")
    with pytest.raises(DataError, match=r"takes 4 feature\(s\) per sample; got X of shape \(90, 3\)"):
        model.fit(X[:, :3], y, epochs=1)
    with pytest.raises(DataError, match=r"class indices must lie in 0..2"):
        model.fit(X, y + 5, epochs=1)
    with pytest.raises(DataError, match="classification targets must be class indices"):
        model.fit(X, np.full(len(X), 0.5), epochs=1)
    with pytest.raises(DataError, match="X contains NaN/inf"):
        model.fit(np.full((4, 4), np.nan), y[:4], epochs=1)
    with pytest.raises(DataError, match="X must be numeric"):
        model.fit([["a", "b", "c", "d"]], [0], epochs=1)
    regression = make_model("mlp", 4, 1, "regression")
    regression.is_fitted = True
    with pytest.raises(ConfigError, match="predict_proba is for classification"):
        regression.predict_proba(X)


def test_hparam_checks_name_the_option():
    assert sizes("s", 3) == (3,) and rate("r", 0) == 0.0 and positive("p", 2) == 2
    with pytest.raises(ConfigError, match="every entry of hidden_sizes must be a positive integer; got -1"):
        sizes("hidden_sizes", [4, -1])
