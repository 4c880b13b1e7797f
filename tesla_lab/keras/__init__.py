"""TESLA layers for Keras 3 (extra ``keras``): one implementation, written with ``keras.ops``, for the TensorFlow,
JAX and PyTorch backends (``KERAS_BACKEND``, read when Keras is first imported).

>>> import numpy as np
>>> from tesla_lab.keras import TTDense
>>> model = keras.Sequential([keras.Input((64,)), TTDense(32, tt_rank=4, activation="relu"), keras.layers.Dense(10)])
>>> tuple(model(np.zeros((2, 64), "float32")).shape)
(2, 10)
"""

from tesla_lab.keras._backend import backend, keras
from tesla_lab.keras.attention import SparseAttention, attention_mask
from tesla_lab.keras.export import export_keras, to_torch_module
from tesla_lab.keras.network import Residual, TensorNetwork
from tesla_lab.keras.tt_dense import TTDense

__all__ = ["TTDense", "SparseAttention", "attention_mask", "TensorNetwork", "Residual", "to_torch_module",
           "export_keras", "backend", "keras"]
