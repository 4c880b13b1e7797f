"""The ``sequential`` model family: the dashboard's layer list as a trainable model."""

import numpy as np
import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.models import families, make_model
from tesla_lab.models.sequential import network_config


def test_sequential_is_a_registered_torch_family():
    assert "sequential" in families("torch")


def test_images_get_a_reshape_first_and_a_flatten_before_the_head():
    config = network_config([{"type": "Conv2D", "filters": 2, "kernel_size": 3, "padding": "same"},
                             {"type": "MaxPool2D", "pool_size": 2}], 64, 10, [1, 8, 8])
    assert [c["type"] for c in config["layers"]] == ["Reshape", "Conv2D", "MaxPool2D", "Flatten", "Dense"]
    flat = network_config([{"type": "Dense", "units": 4}], 64, 3)
    assert [c["type"] for c in flat["layers"]] == ["Dense", "Dense"]


def test_the_built_model_trains_and_predicts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 16)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")
    model = make_model("sequential", 16, 2, "classification",
                       layers=[{"type": "Dense", "units": 16, "activation": "relu", "tt_rank": 2}])
    model.fit(X, y, epochs=30, lr=0.05, seed=0, device="cpu")
    assert model.evaluate(X, y)["accuracy"] > 0.8
    assert model.module.summary().compression_ratio > 1


@pytest.mark.parametrize("hparams, match", [
    ({"layers": "Dense"}, "layers must be a list of layer configs"),
    ({"layers": [{"units": 3}]}, "layers must be a list of layer configs"),
    ({"layers": [], "input_shape": [0, 8]}, "input_shape must be a list of positive sizes"),
    ({"layers": [], "input_shape": [3, 8, 8]}, r"input_shape \[3, 8, 8\] holds 192 values but the data has 64"),
])
def test_bad_hyper_parameters_are_refused(hparams, match):
    with pytest.raises(ConfigError, match=match):
        make_model("sequential", 64, 10, "classification", **hparams)
