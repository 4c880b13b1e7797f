"""ModelState: editing layers, live summary and memory, inline errors, and the training config it produces."""

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.nn import summarize
from tesla_lab.ui.state import ModelState, layer_config, training_memory
from tesla_lab.workflow import TrainConfig


def test_the_default_tt_model_is_valid_and_compressed():
    state = ModelState(n_inputs=64, n_outputs=10)
    assert state.can_launch and state.error == "" and state.message == "valid model: ready to train"
    assert state.compression_ratio > 1 and state.total_params == state.summary.total_params
    table = state.summary_table()
    assert table["layer"].tolist() == ["layer 1 (TT)", "output layer"]
    assert "TT compression" in state.stats_text()


def test_editing_layers_updates_the_parameter_count():
    state = ModelState(n_inputs=64, n_outputs=10)
    before = state.total_params
    state.add_layer("Dense", units=32)
    state.add_layer("Dropout", index=1)
    assert [s["kind"] for s in state.layers] == ["TT", "Dropout", "Dense"]
    assert state.total_params > before
    state.move_layer(2, -1)
    assert [s["kind"] for s in state.layers] == ["TT", "Dense", "Dropout"]
    state.update_layer(1, kind="TT")
    assert state.layers[1]["units"] == 32 and state.layers[1]["tt_rank"] == 4  # shared fields kept
    state.remove_layer(2)
    state.remove_layer(0)
    assert [s["kind"] for s in state.layers] == ["TT"] and state.can_launch
    state.add_layer("Pool")
    assert "unknown layer kind 'Pool'" in state.error


def test_a_conv_net_on_images_gets_a_reshape_and_a_flatten():
    state = ModelState(n_inputs=64, n_outputs=10, image_shape=(8, 8), image_input=True,
                       layers=[{"kind": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relu"},
                               {"kind": "BatchNorm"}, {"kind": "MaxPool2D", "pool_size": 2},
                               {"kind": "LeakyReLU", "negative_slope": 0.1}])
    assert state.can_launch, state.error
    assert state.summary_table()["layer"].tolist() == [
        "input reshape", "layer 1 (Conv2D)", "layer 2 (BatchNorm)", "layer 3 (MaxPool2D)", "layer 4 (LeakyReLU)",
        "flatten", "output layer"]
    assert state.train_config().model["input_shape"] == [1, 8, 8]


@pytest.mark.parametrize("index, fields, message", [
    (0, {"tt_rank": 0}, "layer 1 (TT): TT ranks must be integers >= 1; got rank=0"),
    (0, {"in_shape": "3,3"}, "layer 1 (TT): in_shape (3, 3) multiplies to 9 but in_features is 64"),
    (0, {"in_shape": "a,b"}, "in_shape must be mode sizes like '4,4,4'"),
    (0, {"units": 0}, "layer 1 (TT): units must be a positive integer; got 0"),
    (1, {"rate": 1.5}, "layer 2 (Dropout): Dropout rate must be in [0, 1)"),
])
def test_bad_layers_show_the_layer_and_the_rule(index, fields, message):
    state = ModelState(n_inputs=64, n_outputs=10)
    state.add_layer("Dropout")
    state.update_layer(index, **fields)
    assert not state.can_launch and state.summary is None and state.total_params == 0
    assert message in state.error


@pytest.mark.parametrize("field, value, message", [
    ("batch_size", 0, "batch_size must be an integer >= 1; got 0"),
    ("epochs", 0, "epochs must be an integer >= 1; got 0"),
    ("lr", -1.0, "lr must be a positive number or None; got -1.0"),
    ("test_size", 1.5, "test_size must be a fraction in (0, 1)"),
    ("model_name", "a@b", "the model name must be a non-empty name without '@'"),
    ("device", "tpu", "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got 'tpu'"),
])
def test_bad_training_settings_block_the_launch(field, value, message):
    state = ModelState(n_inputs=64, n_outputs=10)
    setattr(state, field, value)
    assert not state.can_launch
    assert state.error.startswith("invalid training settings: ") and message in state.error
    assert state.summary is not None  # the model itself is still shown


def test_train_config_is_a_validated_sequential_config():
    state = ModelState(n_inputs=4, n_outputs=3, epochs=5, preprocessing="none", checkpoint_every=0, loss="auto")
    config = state.train_config(dataset="iris", target="target")
    assert isinstance(config, TrainConfig)
    assert (config.family, config.epochs, config.preprocessing, config.checkpoint_every, config.loss) == (
        "sequential", 5, [], None, None)
    assert config.model["layers"][0]["tt_rank"] == 4


def test_use_data_fits_inputs_and_outputs():
    state = ModelState(image_input=True, image_shape=(8, 8))
    state.use_data(n_inputs=4, n_outputs=3, task="classification", image_shape=None)
    assert (state.n_inputs, state.n_outputs, state.image_input) == (4, 3, False)
    assert state.summary.rows[-1].output_shape == (3,)


def test_layer_config_and_memory_estimate():
    assert layer_config({"kind": "Conv2D"})["padding"] == "same"
    assert layer_config({"kind": "Dense", "activation": "none"})["activation"] is None
    with pytest.raises(ConfigError, match="unknown layer kind 'Pool'"):
        layer_config({"kind": "Pool"})
    with pytest.raises(ConfigError, match="in_shape sizes must be integers >= 1"):
        layer_config({"kind": "TT", "in_shape": "0,4"})
    import torch

    memory = training_memory(summarize(torch.nn.Linear(10, 10), (10,)), batch_size=4, optimizer="sgd",
                             precision="bf16")
    assert memory["optimizer"] == 440 and memory["activations"] == 2 * 2 * 4 * 10
