import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import tesla_lab as tesla
from tesla_lab.errors import ConfigError, FactorizationError, ShapeError
from tesla_lab.nn import Checkpointed, MixedPrecision, SparseAttention, TTLinear


def test_seed_003_tensor_network_compile_fit_evaluate_predict():
    d = load_digits()
    X, y = (d.data / 16.0).astype(np.float32), d.target
    model = tesla.TensorNetwork(input_dim=64, hidden_dim=64, output_dim=10, tt_rank=4)
    model.add_layer("tt", tt_rank=4, checkpoint_gradients=True)
    model.add_layer(attention_type="local", num_heads=2)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.01, seed=0)
    history = model.fit(X[:1400], y[:1400], epochs=12, batch_size=64, validation_data=(X[1400:], y[1400:]))
    assert history.history["val_accuracy"][-1] > 0.85
    assert model.evaluate(X[1400:], y[1400:])["accuracy"] > 0.85
    assert model.predict(X[:3]).shape == (3, 10)


def test_first_layer_is_a_tensor_train_when_sizes_factorize():
    net = tesla.TensorNetwork(64, 64, 10, tt_rank=2)
    assert isinstance(net.body[0][0], TTLinear)
    assert net.summary().compression_ratio > 1.5


def test_first_layer_falls_back_to_dense_for_prime_input_sizes():
    net = tesla.TensorNetwork(13, 16, 3)  # wine has 13 features
    assert isinstance(net.body[0][0], torch.nn.Linear)
    with pytest.raises(FactorizationError):
        tesla.TensorNetwork(13, 16, 3, input_layer="tt")


def test_add_layer_options_wrap_the_block():
    net = tesla.TensorNetwork(16, 16, 2, tt_rank=2)
    net.add_layer("dense", 8, checkpoint_gradients=True, mixed_precision=True)
    block = net.body[-1]
    assert isinstance(block, Checkpointed) and isinstance(block.module, MixedPrecision)
    assert net(torch.randn(4, 16)).shape == (4, 2)
    assert net.head.in_features == 8


def test_add_layer_attention_keeps_width_and_is_sparse():
    net = tesla.TensorNetwork(32, 32, 2).add_layer(attention_type="block", block_size=2)
    attn = net.body[-1].module
    assert isinstance(attn, SparseAttention)
    assert net.head.in_features == 32


def test_images_are_flattened_and_wrong_width_is_named():
    net = tesla.TensorNetwork(64, 16, 2)
    assert net(torch.zeros(3, 8, 8)).shape == (3, 2)
    with pytest.raises(ShapeError, match=r"TensorNetwork\(input_dim=64\) got inputs of shape \(3, 65\)"):
        net(torch.zeros(3, 65))


def test_bad_arguments_are_named():
    with pytest.raises(ConfigError, match="hidden_dim must be a positive integer; got 0"):
        tesla.TensorNetwork(4, 0, 2)
    with pytest.raises(ConfigError, match=r"tt_rank must be a positive integer .*got 0"):
        tesla.TensorNetwork(16, 16, 2, tt_rank=0)
    with pytest.raises(ConfigError, match="unknown layer kind 'convv'"):
        tesla.TensorNetwork(16, 16, 2).add_layer("convv")


def test_adding_layers_after_fit_is_refused():
    net = tesla.TensorNetwork(4, 4, 1, input_layer="dense")
    net.compile(optimizer="sgd", loss="mse")
    net.fit(np.random.rand(8, 4).astype(np.float32), np.random.rand(8).astype(np.float32), epochs=1)
    with pytest.raises(ConfigError, match="cannot add layers after training started"):
        net.add_layer("dense")
