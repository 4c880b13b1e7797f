"""TESLA Lab: tensor-network neural networks on PyTorch (placeholder; re-exports are added as modules land)."""

from tesla_lab import errors, loss, optim, utils

__all__ = ["errors", "loss", "optim", "utils"]
__version__ = "0.1.0"
