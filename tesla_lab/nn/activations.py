"""Activation functions looked up by name (``Dense(64, activation='relu')``).

>>> get_activation("leaky_relu")
LeakyReLU(negative_slope=0.01)
>>> get_activation(None)
Identity()
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from tesla_lab._registry import Registry
from tesla_lab.nn.logits import Sigmoid, Softmax

__all__ = ["ACTIVATIONS", "DEFAULT_ACTIVATION", "get_activation"]

#: The activation used where a layer asks for ``activation='default'``: LeakyReLU keeps a gradient for negative
#: inputs, which matters for the narrow TT bottlenecks (dead ReLUs there are expensive).
DEFAULT_ACTIVATION = "leaky_relu"

ACTIVATIONS: Registry[nn.Module] = Registry("activation")
ACTIVATIONS.register("relu", nn.ReLU)
ACTIVATIONS.register("leaky_relu", nn.LeakyReLU, "leakyrelu")
ACTIVATIONS.register("gelu", nn.GELU)
ACTIVATIONS.register("elu", nn.ELU)
ACTIVATIONS.register("selu", nn.SELU)
ACTIVATIONS.register("silu", nn.SiLU, "swish")
ACTIVATIONS.register("tanh", nn.Tanh)
ACTIVATIONS.register("sigmoid", Sigmoid)  # keeps its logits for the BCE loss (Keras semantics)
ACTIVATIONS.register("softplus", nn.Softplus)
ACTIVATIONS.register("softmax", Softmax)  # dim=-1; keeps its logits for cross entropy (Keras semantics)
ACTIVATIONS.register("log_softmax", lambda: nn.LogSoftmax(dim=-1))
ACTIVATIONS.register("linear", nn.Identity, "none", "identity")


def get_activation(activation: str | nn.Module | Callable[[], nn.Module] | None) -> nn.Module:
    """Return an activation module for a name (``'relu'``, ``'default'`` = leaky ReLU, ...), a module, or ``None``.

    >>> get_activation("rleu")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown activation 'rleu' (did you mean 'relu'?); choose one of: elu, gelu, \
identity, leaky_relu, leakyrelu, linear, log_softmax, none, relu, selu, sigmoid, silu, softmax, softplus, swish, tanh
    """
    if activation is None:
        return nn.Identity()
    if isinstance(activation, nn.Module):
        return activation
    if isinstance(activation, str):
        name = DEFAULT_ACTIVATION if activation.strip().lower() == "default" else activation
        return ACTIVATIONS.get(name)()
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    return ACTIVATIONS.get(activation)  # type: ignore[arg-type]  # raises ConfigError naming the bad value
