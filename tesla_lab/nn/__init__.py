"""Layers and models: tensor-train and sparse layers, Keras-style layers, ``Sequential`` and ``TensorNetwork``.

>>> import tesla_lab as tesla
>>> tesla.nn.Dense(8, activation="relu", input_dim=4)
Dense(
  units=8, dense
  (activation): ReLU()
  (linear): Linear(in_features=4, out_features=8, bias=True)
)
"""

from tesla_lab.nn.activations import ACTIVATIONS, DEFAULT_ACTIVATION, get_activation
from tesla_lab.nn.attention import SparseAttention
from tesla_lab.nn.block_sparse import block_layout, block_sparse_attention
from tesla_lab.nn.compress import CompressionReport, compress
from tesla_lab.nn.config import build_model, layer_config, layer_from_config
from tesla_lab.nn.layers import (
    Activation,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    Reshape,
    ZeroPad,
)
from tesla_lab.nn.logits import Sigmoid, Softmax
from tesla_lab.nn.model import CompileConfig, Model
from tesla_lab.nn.network import Residual, TensorNetwork
from tesla_lab.nn.parallel import ModelParallel
from tesla_lab.nn.sequential import Sequential
from tesla_lab.nn.sparse import PruneReport, SparseLinear, prune
from tesla_lab.nn.summary import LayerSummary, ModelSummary, count_params, summarize
from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.nn.wrappers import Checkpointed, MixedPrecision

__all__ = [
    "ACTIVATIONS", "DEFAULT_ACTIVATION", "get_activation",
    "Activation", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "LeakyReLU", "MaxPool2D", "Reshape", "ZeroPad",
    "Softmax", "Sigmoid",
    "TTLinear", "compress", "CompressionReport",
    "SparseLinear", "prune", "PruneReport", "SparseAttention",
    "block_sparse_attention", "block_layout",
    "Checkpointed", "MixedPrecision", "ModelParallel", "Residual",
    "Model", "CompileConfig", "Sequential", "TensorNetwork",
    "build_model", "layer_config", "layer_from_config",
    "summarize", "count_params", "ModelSummary", "LayerSummary",
]
