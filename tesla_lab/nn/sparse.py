"""Unstructured sparse linear layers and magnitude pruning (re-exports :mod:`tesla_lab.nn.sparse_linear` and
:mod:`tesla_lab.nn.pruning`).

>>> import torch
>>> from tesla_lab.nn.sparse import SparseLinear, prune
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 16))
>>> pruned, report = prune(model, 0.9)
>>> type(pruned[0]).__name__, round(pruned[0].sparsity, 3)
('SparseLinear', 0.9)
"""

from tesla_lab.nn.pruning import LayerPruneStats, PruneReport, prune
from tesla_lab.nn.sparse_linear import SparseLinear, check_sparsity

__all__ = ["SparseLinear", "prune", "PruneReport", "LayerPruneStats", "check_sparsity"]
