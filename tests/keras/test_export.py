"""Keras models export to the TESLA serving bundle (TorchScript + ONNX) from any backend, via the torch conversion."""

import numpy as np
import pytest

from tesla_lab.errors import ExportError
from tesla_lab.keras import TensorNetwork, TTDense, backend, export_keras, keras, to_torch_module
from tesla_lab.serve.predictor import load_exported


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def test_tensor_network_exports_and_serves_the_same_predictions(tmp_path, digits):
    X, *_ = digits
    tn = TensorNetwork(input_dim=64, hidden_dim=16, output_dim=3, tt_rank=4, batch_norm=True,
                       output_activation="softmax")
    tn.add_layer(attention_type="local", hidden_dim=16, output_dim=16).add_layer("dense", 8, activation="gelu")
    expected = to_numpy(tn(X[:8]))  # the example's batch size: JAX compiles eager ops per shape
    info = export_keras(tn, X[:8], tmp_path / "tn", class_labels=["a", "b", "c"])
    assert info.metadata["metadata"]["keras"]["backend"] == backend()
    assert info.metadata["formats"]["onnx"]["status"] == "ok"
    served = load_exported(tmp_path / "tn").predict(X[:8])
    np.testing.assert_allclose(np.asarray(served["probabilities"]), expected, rtol=1e-4, atol=1e-5)
    assert served["predictions"] == [["a", "b", "c"][i] for i in expected.argmax(1)]


def test_conv_model_converts_in_channels_last(digits):
    X, *_ = digits
    images = X[:6].reshape(-1, 8, 8, 1)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(), TTDense(10, tt_rank=2)])
    import torch

    with torch.no_grad():
        got = to_torch_module(model)(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(got, to_numpy(model(images)), rtol=1e-5, atol=1e-5)


def test_functional_chain_converts_and_a_subclassed_model_is_refused(digits):
    X, *_ = digits
    inputs = keras.Input((64,))
    outputs = keras.layers.Dense(5)(TTDense(16, tt_rank=2, activation="tanh")(inputs))
    model = keras.Model(inputs, outputs)
    import torch

    with torch.no_grad():
        got = to_torch_module(model)(torch.from_numpy(X[:8])).numpy()
    np.testing.assert_allclose(got, to_numpy(model(X[:8])), rtol=1e-5, atol=1e-5)

    class Doubled(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x) * 2

    doubled = Doubled()
    doubled(X[:8])
    with pytest.raises(ExportError, match=r"cannot export the subclassed Keras model .* \(Doubled\): its call\(\)"):
        to_torch_module(doubled)


def test_a_layer_without_converter_is_refused_before_writing(tmp_path):
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.LSTM(2)])
    with pytest.raises(ExportError, match=r"cannot export the Keras layer 'lstm.*' \(LSTM\): tesla_lab.keras converts"):
        export_keras(model, np.zeros((2, 4, 3), np.float32), tmp_path / "m")
    assert not (tmp_path / "m").exists()
    with pytest.raises(ExportError, match="is not built"):
        to_torch_module(TTDense(3))
