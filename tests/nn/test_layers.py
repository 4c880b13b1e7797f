import pytest
import torch

import tesla_lab as tesla
from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn import BatchNorm, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPool2D, Reshape


def test_dense_applies_named_activation():
    layer = Dense(3, activation="relu", input_dim=4)
    out = layer(-torch.ones(5, 4) * 100)
    assert out.shape == (5, 3)
    assert torch.all(out >= 0)


def test_dense_default_activation_is_leaky_relu():
    layer = Dense(3, activation="default", input_dim=2)
    assert isinstance(layer.activation, torch.nn.LeakyReLU)


def test_dense_without_input_dim_is_built_on_first_call():
    layer = Dense(7)
    out = layer(torch.zeros(2, 11))
    assert out.shape == (2, 7)
    assert layer.in_features == 11


def test_dense_with_tt_rank_uses_a_tensor_train_with_fewer_params():
    layer = Dense(64, input_dim=64, tt_rank=2)
    assert isinstance(layer.linear, tesla.nn.TTLinear)
    assert sum(p.numel() for p in layer.parameters()) < 64 * 64
    assert layer(torch.randn(3, 64)).shape == (3, 64)


def test_dense_rejects_wrong_input_width_naming_both_sizes():
    with pytest.raises(ShapeError, match=r"expects inputs with 4 features.*\(2, 5\)"):
        Dense(3, input_dim=4)(torch.zeros(2, 5))


def test_unknown_activation_names_the_value_and_choices():
    msg = r"unknown activation 'rleu' \(did you mean 'relu'\?\); choose one of: .*gelu"
    with pytest.raises(ConfigError, match=msg):
        Dense(3, activation="rleu")


@pytest.mark.parametrize("units", [0, -3, 2.5, True])
def test_dense_rejects_non_positive_units(units):
    with pytest.raises(ConfigError, match="units must be a positive integer"):
        Dense(units)


def test_flatten_declares_input_shape_and_rejects_bad_entries():
    assert Flatten(input_shape=(2, 3)).input_shape == (2, 3)
    with pytest.raises(ConfigError, match=r"input_shape entries must be a positive integer; got 0"):
        Flatten(input_shape=(0, 3))


def test_batchnorm_infers_channels_and_normalizes_in_training():
    bn = BatchNorm()
    x = torch.randn(64, 3) * 5 + 7
    out = bn(x)
    assert bn.num_features == 3
    assert type(bn) is BatchNorm  # lazy class became the concrete one
    assert torch.allclose(out.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(3), atol=1e-3)


def test_batchnorm_works_on_images_and_rejects_1d():
    assert BatchNorm(2)(torch.randn(4, 2, 3, 3)).shape == (4, 2, 3, 3)
    with pytest.raises(ShapeError, match=r"expects \(N, C, \.\.\.\) inputs, got shape \(5,\)"):
        BatchNorm(5)(torch.randn(5))


def test_leaky_relu_keeps_negative_slope():
    assert torch.allclose(LeakyReLU(0.2)(torch.tensor([-1.0])), torch.tensor([-0.2]))


def test_dropout_rate_is_validated_and_only_active_in_training():
    with pytest.raises(ConfigError, match=r"Dropout rate must be in \[0, 1\).*got 1"):
        Dropout(1)
    d = Dropout(0.5).eval()
    x = torch.ones(100)
    assert torch.equal(d(x), x)


def test_conv2d_same_padding_and_pooling_shapes():
    x = torch.randn(2, 1, 8, 8)
    y = MaxPool2D(2)(Conv2D(4, 3, padding="same")(x))
    assert y.shape == (2, 4, 4, 4)


def test_conv2d_rejects_flat_input_with_a_hint():
    with pytest.raises(ShapeError, match=r"add Reshape\(\(C, H, W\)\)"):
        Conv2D(4, 3, in_channels=1)(torch.zeros(2, 64))


def test_conv2d_rejects_unknown_padding():
    with pytest.raises(ConfigError, match="padding must be 'valid', 'same' or an int; got 'full'"):
        Conv2D(4, 3, padding="full")


def test_reshape_checks_element_count():
    assert Reshape((1, 8, 8))(torch.zeros(3, 64)).shape == (3, 1, 8, 8)
    with pytest.raises(ShapeError, match=r"needs 63 values per sample, got 64"):
        Reshape((7, 9))(torch.zeros(3, 64))


def test_maxpool_rejects_zero_pool():
    with pytest.raises(ConfigError, match="pool_size must be a positive integer; got 0"):
        MaxPool2D(0)
