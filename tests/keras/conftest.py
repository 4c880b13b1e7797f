"""Keras tests: collected only with a backend chosen (``TESLA_KERAS_BACKEND`` or ``KERAS_BACKEND``; see the root
conftest.py and ``make test-keras``), one pytest process per backend."""

import os

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

# These tests train tiny models, where a thread pool only adds overhead (and contends on a busy CI machine: up to
# 30x slower measured): one thread for every backend, set before the backend starts.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
torch.set_num_threads(1)

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



def pytest_configure(config):
    # Keras 3.15's variables and tensors warn on every numpy 2 conversion (their __array__ takes no `copy`): noise
    # from Keras itself, hundreds per run
    config.addinivalue_line("filterwarnings",
                            "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
