"""Keras tests: collected only with a backend chosen (``TESLA_KERAS_BACKEND`` or ``KERAS_BACKEND``; see the root
conftest.py and ``make test-keras``), one pytest process per backend."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

keras = pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)  # python, numpy and the backend's generator
    yield


@pytest.fixture(scope="session")
def digits():
    """sklearn digits as float32 (N, 64) in [0, 1]: 1200 training rows, 597 test rows."""
    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    return X[:1200], d.target[:1200].astype(np.int64), X[1200:], d.target[1200:].astype(np.int64)

