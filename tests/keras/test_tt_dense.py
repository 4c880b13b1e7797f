"""TTDense on the backend of this process: the planning, init and outputs of TTLinear, conversion both ways, saving."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tesla_lab.errors import ConfigError, FactorizationError, ShapeError
from tesla_lab.keras import TTDense, backend, keras
from tesla_lab.nn import TTLinear


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def test_backend_is_the_requested_one():
    assert backend() == os.environ["KERAS_BACKEND"]


SHAPES = {"in_shape": (4, 5, 6), "out_shape": (3, 4, 5)}


@pytest.mark.parametrize("in_f, units, rank, shapes", [(64, 32, 4, {}), (100, 10, 16, {}),
                                                       (120, 60, [3, 5], SHAPES)])
def test_same_factorisation_ranks_and_parameter_count_as_ttlinear(in_f, units, rank, shapes):
    layer = TTDense(units, tt_rank=rank, **shapes)
    layer.build((None, in_f))
    torch_layer = TTLinear(in_f, units, rank=rank, **shapes)
    assert (layer.in_shape, layer.out_shape, layer.ranks) == (torch_layer.in_shape, torch_layer.out_shape,
                                                             torch_layer.ranks)
    assert layer.count_params() == torch_layer.num_params
    assert layer.compression_ratio == pytest.approx(torch_layer.compression_ratio)
    assert [tuple(c.shape) for c in layer.cores] == [tuple(c.shape) for c in torch_layer.cores]


def test_init_gives_the_rebuilt_kernel_the_std_of_torch_linear():
    eye = np.eye(256, dtype=np.float32)
    stds = []
    for seed in range(4):  # one draw of a few random cores varies; the mean over draws is what the init sets
        keras.utils.set_random_seed(seed)
        layer = TTDense(128, tt_rank=8)
        kernel = to_numpy(layer(eye)) - to_numpy(layer.bias)  # row i = W[:, i]: the rebuilt kernel (256, 128)
        stds.append(kernel.std())
    assert layer.ranks == (1, 8, 8, 1)
    assert np.mean(stds) == pytest.approx(1 / np.sqrt(3 * 256), rel=0.15)  # as TTLinear's test
    bias = to_numpy(layer.bias)
    assert np.abs(bias).max() <= 1 / np.sqrt(256) and bias.std() > 0.5 / np.sqrt(3 * 256)


def test_to_torch_gives_the_same_outputs():
    layer = TTDense(32, tt_rank=4, activation="relu")
    x = np.random.default_rng(1).normal(size=(5, 64)).astype(np.float32)
    y = to_numpy(layer(x))
    linear = layer.to_torch()
    with torch.no_grad():
        out = torch.relu(linear(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(out, y, rtol=0, atol=1e-6)


def test_from_torch_gives_the_same_outputs_and_round_trips_the_weights():
    torch.manual_seed(0)
    linear = TTLinear(120, 60, rank=[3, 5], **SHAPES)
    layer = TTDense.from_torch(linear)
    x = np.random.default_rng(2).normal(size=(7, 120)).astype(np.float32)
    with torch.no_grad():
        expected = linear(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=0, atol=1e-6)
    back = layer.to_torch()
    for a, b in zip(back.state_dict().values(), linear.state_dict().values()):
        assert torch.equal(a, b)


def test_leading_dimensions_are_kept():
    layer = TTDense(12, tt_rank=2)
    x = np.random.default_rng(3).normal(size=(2, 3, 16)).astype(np.float32)
    y = to_numpy(layer(x))
    assert y.shape == (2, 3, 12)
    np.testing.assert_allclose(y[1], to_numpy(layer(x[1])), atol=1e-6)


def test_save_and_load_model_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((64,)), TTDense(32, tt_rank=[4], activation="relu"),
                              TTDense(10, tt_rank=2, in_shape=(4, 8), out_shape=(2, 5))])
    x = np.random.default_rng(4).normal(size=(3, 64)).astype(np.float32)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[0], TTDense) and loaded.layers[1].in_shape == (4, 8)
    assert loaded.layers[0].get_config()["activation"] == "relu"
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))


def test_wrong_input_width_is_a_shape_error():
    layer = TTDense(8, tt_rank=2)
    layer(np.zeros((2, 16), np.float32))
    with pytest.raises(ShapeError, match=r"TTDense expected input with last dimension in_features=16; got shape "
                                         r"\(2, 15\)"):
        layer(np.zeros((2, 15), np.float32))


def test_bad_ranks_and_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="TT ranks must be integers >= 1; got tt_rank=0"):
        TTDense(8, tt_rank=0)
    with pytest.raises(ConfigError, match="units must be a positive integer; got 0"):
        TTDense(0)
    with pytest.raises(ConfigError, match="tt_rank as a list needs one rank per cut between cores, i.e. 1 entries"):
        TTDense(8, tt_rank=[2, 2])(np.zeros((1, 16), np.float32))
    with pytest.raises(FactorizationError, match="13"):
        TTDense(13)(np.zeros((1, 16), np.float32))
    with pytest.raises(ConfigError, match="needs the layer built"):
        TTDense(8).to_torch()
    with pytest.raises(ConfigError, match="from_torch needs a tesla_lab.nn.TTLinear; got Linear"):
        TTDense.from_torch(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("env, error", [
    ({"KERAS_BACKEND": "tensorfow"}, "ConfigError: unknown Keras backend KERAS_BACKEND='tensorfow'; set it to one of: "
                                     "tensorflow, jax, torch"),
    ({"KERAS_BACKEND": "jax", "HIDE": "jax"}, "MissingDependencyError: the Keras backend jax could not be imported"),
])
def test_unknown_or_missing_backend_is_one_clear_error(env, error):
    hide = f"import sys; sys.modules[{env['HIDE']!r}] = None; " if "HIDE" in env else ""
    code = hide + "import tesla_lab.keras"
    run_env = {**os.environ, "KERAS_BACKEND": env["KERAS_BACKEND"]}
    run_env.pop("TESLA_KERAS_BACKEND", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=run_env)
    assert out.returncode != 0
    assert error in out.stderr.strip().splitlines()[-1]


def test_tesla_keras_is_tesla_lab_keras():
    import tesla.keras

    import tesla
    import tesla_lab
    import tesla_lab.keras

    assert tesla.keras is tesla_lab.keras and tesla_lab.keras.TTDense is TTDense
    from tesla.keras import TensorNetwork

    assert TensorNetwork is tesla_lab.keras.TensorNetwork


@pytest.mark.skipif(backend() != "jax", reason="checked once, on the backend that imports fastest")
def test_layers_on_a_non_torch_backend_import_no_torch():
    code = ("import sys, numpy as np; from tesla_lab.keras import TTDense, TensorNetwork, keras; "
            "TensorNetwork(64, 16, 4).add_layer(attention_type='local')(np.zeros((2, 64), 'float32')); "
            "print('torch' in sys.modules)")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.stdout.split()[-1:] == ["False"], out.stderr[-2000:]
