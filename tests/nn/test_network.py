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


# ------------------------------------------------------------------------- add_layer(input_dim, hidden_dim, ...)
def test_add_layer_sizes_build_an_input_hidden_output_block():
    net = tesla.TensorNetwork(input_dim=16, hidden_dim=8, output_dim=3)
    net.add_layer(input_dim=8, hidden_dim=32, output_dim=4)
    block = net.body[1]
    layers = [m for m in block.modules() if isinstance(m, (TTLinear, torch.nn.Linear))]
    assert [(m.in_features, m.out_features) for m in layers] == [(8, 32), (32, 4)]
    assert net.head.in_features == 4 and net(torch.randn(5, 16)).shape == (5, 3)
    net.add_layer(input_dim=4, output_dim=6, kind="dense")  # one layer 4 -> 6
    assert isinstance(net.body[2][0], torch.nn.Linear) and net.body[2][0].out_features == 6


def test_a_block_back_to_its_input_width_is_residual():
    from tesla_lab.nn import Residual

    net = tesla.TensorNetwork(16, 8, 2).add_layer(input_dim=8, hidden_dim=8, output_dim=8, kind="dense")
    block = net.body[1]
    assert isinstance(block, Residual)
    x = torch.randn(4, 8)
    assert torch.allclose(block(x), x + block.module(x))


def test_add_layer_input_dim_is_checked_against_the_previous_layer():
    net = tesla.TensorNetwork(16, 8, 2).add_layer(input_dim=8, output_dim=4)
    with pytest.raises(ShapeError, match=r"add_layer\(input_dim=8\) does not match the previous layer hidden1, "
                                         r"which outputs 4 features; pass input_dim=4"):
        net.add_layer(input_dim=8, hidden_dim=8, output_dim=8)
    assert len(net.body) == 2 and net.head.in_features == 4  # nothing was added


def test_add_layer_size_mistakes_are_named():
    net = tesla.TensorNetwork(16, 8, 2)
    with pytest.raises(ConfigError, match="units=4 and output_dim=5 both give the layer's output width"):
        net.add_layer("dense", 4, output_dim=5)
    with pytest.raises(ConfigError, match="hidden_dim must be a positive integer .*got 0"):
        net.add_layer(hidden_dim=0)
    with pytest.raises(ShapeError, match=r"add_layer\(output_dim=3\) does not match the module, which outputs 8"):
        net.add_layer(torch.nn.Tanh(), output_dim=3)
    with pytest.raises(ShapeError, match=r"a dropout layer keeps the width 8 of its input; pass output_dim=8"):
        net.add_layer("dropout", output_dim=4)
    with pytest.raises(ConfigError, match="model_parallel must be True or False; got 'yes'"):
        net.add_layer(model_parallel="yes")
    assert len(net.body) == 1


def test_attention_type_sparse_is_the_block_sparse_pattern_followed_by_its_feed_forward():
    net = tesla.TensorNetwork(32, 16, 2).add_layer(input_dim=16, hidden_dim=24, output_dim=16,
                                                   attention_type="sparse", block_size=2)
    attn = [m for m in net.body[1].modules() if isinstance(m, SparseAttention)]
    assert len(attn) == 1 and attn[0].attention_type == "block"
    ffn = [(m.in_features, m.out_features) for m in net.body[1].modules() if isinstance(m, TTLinear)]
    assert ffn == [(16, 24), (24, 16)]
    with pytest.raises(ConfigError, match="attention_type"):
        tesla.TensorNetwork(32, 16, 2).add_layer(attention_type="sparce")


def test_summary_lists_the_flags_of_each_layer():
    net = tesla.TensorNetwork(16, 8, 2)
    net.add_layer(input_dim=8, output_dim=8)
    net.add_layer(input_dim=8, output_dim=8, checkpoint_gradients=True, mixed_precision="fp16")
    net.add_layer(input_dim=8, output_dim=8, attention_type="local", data_parallel=True)
    rows = net.summary().rows
    assert [r.flags for r in rows] == [(), (), ("checkpoint_gradients", "mixed_precision=fp16"),
                                       ("attention_type=local", "data_parallel"), ()]
    text = str(net.summary())
    assert "Flags" in text.splitlines()[0]
    assert text.splitlines()[4].endswith("checkpoint_gradients, mixed_precision=fp16")
    assert "Parallel: data_parallel=True is inactive" in text
    assert "Flags" not in str(tesla.TensorNetwork(16, 8, 2).summary())  # no options, no column


def test_flags_survive_a_config_round_trip():
    from tesla_lab.nn import build_model

    net = tesla.TensorNetwork(16, 8, 2).add_layer(input_dim=8, hidden_dim=8, output_dim=8, model_parallel=True)
    net.add_layer(torch.nn.Tanh(), data_parallel=True)
    rebuilt = build_model(net.get_config())
    assert rebuilt.get_config() == net.get_config()
    assert rebuilt.layer_flags() == {"hidden1": ("model_parallel",), "hidden2": ("data_parallel",)}
