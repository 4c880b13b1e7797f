"""Model's Keras-like surface: the compile config is read by a method that fails clearly before compile."""

import warnings

import numpy as np
import pytest
import torch

import tesla_lab as tesla
from tesla_lab.errors import NotFittedError
from tesla_lab.nn.model import CompileConfig


def _model():
    return tesla.nn.Sequential([tesla.nn.Dense(2, input_dim=3)])


def test_compile_config_before_compile_says_to_compile():
    with pytest.raises(NotFittedError, match=r"Sequential is not compiled yet; call model.compile\("):
        _model().get_compile_config()


def test_evaluate_before_compile_says_to_compile():
    with pytest.raises(NotFittedError, match=r"not compiled yet; call model.compile\("):
        _model().evaluate(np.zeros((4, 3), dtype=np.float32), np.zeros((4, 2), dtype=np.float32))


def test_compile_config_records_what_compile_was_given():
    model = _model().compile(optimizer="sgd", loss="mse", metrics=["mae"], lr=0.1, seed=3)
    assert model.get_compile_config() == CompileConfig(optimizer="sgd", loss="mse", metrics=("mae",), lr=0.1, seed=3)


def test_attribute_probing_of_an_uncompiled_model_never_raises():
    model = _model()
    assert all(hasattr(model, name) for name in dir(model))  # torch.jit.trace probes every attribute like this
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation notice
        traced = torch.jit.trace(model.eval(), torch.randn(4, 3))
    x = torch.randn(6, 3)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), model(x))
