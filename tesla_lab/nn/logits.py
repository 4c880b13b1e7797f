"""Output activations that keep their logits for the loss: ``Softmax`` and ``Sigmoid`` (Keras semantics).

``Dense(10, activation='softmax')`` returns probabilities, but cross entropy must see the logits: a softmax fed
into PyTorch's cross entropy (which applies log-softmax itself) trains a different, worse model. These modules
return the probabilities and record on them the logits they came from (:func:`tesla_lab.loss.attach_logits`);
TESLA's ``CrossEntropyLoss`` / ``BCEWithLogitsLoss`` read those. So with a final softmax (sigmoid) layer:

- ``tesla.train``, ``model.fit``, ``Trainer``, ``evaluate`` and a plain PyTorch loop using ``tesla.loss``'s losses
  train and score exactly like the same model without the activation;
- ``model(x)`` and ``predict`` return probabilities;
- a plain loop with ``torch.nn.CrossEntropyLoss`` itself gets the probabilities (PyTorch semantics: a second
  softmax); pass it through ``tesla.loss.get_loss`` or use ``tesla.loss.CrossEntropyLoss``.

>>> import torch
>>> from tesla_lab.loss import CrossEntropyLoss
>>> z = torch.tensor([[3.0, 1.0, -2.0]], requires_grad=True)
>>> probs = Softmax(dim=-1)(z)
>>> probs.sum().item()
1.0
>>> CrossEntropyLoss()(probs, torch.tensor([0])).item() == CrossEntropyLoss()(z, torch.tensor([0])).item()
True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tesla_lab.loss import attach_logits

__all__ = ["Softmax", "Sigmoid", "final_activation", "binary_threshold"]


class Softmax(nn.Softmax):
    """Softmax whose output remembers its logits, so TESLA's cross entropy trains on them (``activation='softmax'``).

    >>> Softmax(dim=-1)(torch.zeros(1, 4))
    tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__(dim=dim)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 (torch's name)
        return attach_logits(super().forward(input), input, "softmax", self.dim if self.dim is not None else -1)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}


class Sigmoid(nn.Sigmoid):
    """Sigmoid whose output remembers its logits, so TESLA's BCE loss trains on them (``activation='sigmoid'``).

    >>> Sigmoid()(torch.zeros(2))
    tensor([0.5000, 0.5000])
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        return attach_logits(super().forward(input), input, "sigmoid")


def final_activation(model: nn.Module) -> nn.Module:
    """The module that produces ``model``'s output, looking into the last layer of (nested) ``Sequential`` models
    and the ``activation`` of a final ``Dense``.

    >>> from tesla_lab.nn import Dense, Sequential
    >>> final_activation(Sequential([Dense(4, input_dim=3), Dense(2, activation="sigmoid")]))
    Sigmoid()
    """
    module = model
    for _ in range(32):  # nested containers; bounded against cycles
        if isinstance(module, nn.Sequential) and len(module):
            module = module[-1]
        elif isinstance(getattr(module, "activation", None), nn.Module):
            module = module.activation
        else:
            break
    return module


def binary_threshold(model: nn.Module, loss: Any) -> float:
    """Decision threshold of a single-output binary classifier: 0.5 on probabilities (final sigmoid, or a loss
    on probabilities), 0.0 on the logits that ``BCEWithLogitsLoss`` is given by a model without a sigmoid.

    >>> from tesla_lab.nn import Dense
    >>> binary_threshold(Dense(1, activation="sigmoid", input_dim=2), torch.nn.BCEWithLogitsLoss())
    0.5
    >>> binary_threshold(Dense(1, input_dim=2), torch.nn.BCEWithLogitsLoss())
    0.0
    """
    if isinstance(final_activation(model), nn.Sigmoid):
        return 0.5
    return 0.0 if isinstance(loss, nn.BCEWithLogitsLoss) else 0.5
