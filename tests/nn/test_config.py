import json

import pytest
import torch

import tesla_lab as tesla
from tesla_lab.errors import ConfigError
from tesla_lab.nn import build_model


def _same_outputs(a, b, shape):
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, *shape)
    a.eval(), b.eval()
    return torch.allclose(a(x), b(x), atol=1e-6)


def test_sequential_round_trips_through_json():
    model = tesla.nn.Sequential([
        tesla.nn.Reshape((1, 8, 8), input_shape=(64,)),
        tesla.nn.Conv2D(4, 3, padding="same", activation="relu"),
        tesla.nn.MaxPool2D(2),
        tesla.nn.Flatten(),
        tesla.nn.BatchNorm(),
        tesla.nn.Dense(16, activation="default", tt_rank=2),
        tesla.nn.Dropout(0.1),
        tesla.nn.Dense(3),
    ])
    cfg = json.loads(json.dumps(model.get_config()))
    rebuilt = build_model(cfg)
    assert rebuilt.get_config() == model.get_config()
    assert _same_outputs(model, rebuilt, (64,))


def test_tensor_network_round_trips_through_json():
    net = tesla.TensorNetwork(16, 16, 3, tt_rank=2)
    net.add_layer("tt", 8, tt_rank=3).add_layer("dense", 4, checkpoint_gradients=True)
    net.add_layer(torch.nn.Tanh())
    cfg = json.loads(json.dumps(net.get_config()))
    rebuilt = build_model(cfg)
    assert rebuilt.get_config() == net.get_config()
    assert _same_outputs(net, rebuilt, (16,))


def test_unknown_model_and_layer_types_are_named():
    with pytest.raises(ConfigError, match="unknown model type 'MLP'; choose one of: Sequential, TensorNetwork"):
        build_model({"type": "MLP"})
    with pytest.raises(ConfigError, match="unknown layer type 'Dens'"):
        build_model({"type": "Sequential", "layers": [{"type": "Dens", "units": 3}]})
    with pytest.raises(ConfigError, match="bad arguments for layer Dense"):
        build_model({"type": "Sequential", "layers": [{"type": "Dense", "unitz": 3}]})


def test_layers_without_config_cannot_be_saved():
    class Custom(torch.nn.Module):
        def forward(self, x):
            return x

    model = tesla.nn.Sequential([tesla.nn.Dense(2, input_dim=2), Custom()])
    with pytest.raises(ConfigError, match="layer Custom cannot be saved as a config"):
        model.get_config()
