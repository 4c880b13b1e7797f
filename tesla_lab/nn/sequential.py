"""``Sequential``: a stack of layers with Keras' ``add / compile / fit / evaluate / predict / summary``.

>>> import torch, tesla_lab as tesla
>>> model = tesla.nn.Sequential([
...     tesla.nn.Flatten(input_shape=(8, 8)),
...     tesla.nn.Dense(32, activation="relu", tt_rank=4),
...     tesla.nn.Dense(10),
... ])
>>> model(torch.zeros(5, 8, 8)).shape
torch.Size([5, 10])
>>> model.summary().rows[1].output_shape
(32,)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn.model import Model

__all__ = ["Sequential"]


def _declared_input_shape(layer: nn.Module) -> tuple[int, ...] | None:
    shape = getattr(layer, "input_shape", None)
    if shape is not None:
        return tuple(shape)
    dim = getattr(layer, "input_dim", None) or getattr(layer, "in_features", None)
    return (int(dim),) if isinstance(dim, int) else None


class Sequential(Model, nn.Sequential):
    """Layers applied in order. Accepts ``Sequential([l1, l2])`` (Keras) or ``Sequential(l1, l2)`` (PyTorch).

    When the first layer declares its input (``Flatten(input_shape=...)``, ``Dense(..., input_dim=...)``), each
    added layer is built right away from the previous layer's output shape, so a wrong size fails at ``add``
    with the layer named, not deep inside training.
    """

    def __init__(self, *layers: nn.Module | Iterable[nn.Module], input_shape: Sequence[int] | None = None) -> None:
        nn.Sequential.__init__(self)
        if len(layers) == 1 and isinstance(layers[0], dict):
            layers = tuple(layers[0].values())  # nn.Sequential slicing passes an OrderedDict
        elif len(layers) == 1 and not isinstance(layers[0], nn.Module):
            layers = tuple(layers[0])  # Keras style: one list
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self._output_shape: tuple[int, ...] | None = self.input_shape
        for layer in layers:
            self.add(layer)  # type: ignore[arg-type]

    def add(self, layer: nn.Module) -> Sequential:
        """Append ``layer`` (building it when the incoming shape is known); returns ``self``."""
        if not isinstance(layer, nn.Module):
            raise ConfigError(
                f"Sequential.add expects a layer (torch.nn.Module), got {type(layer).__name__} {layer!r}; "
                "e.g. model.add(tesla.nn.Dense(64, activation='relu'))"
            )
        if hasattr(self, "_optimizer") and self._optimizer is not None:
            raise ConfigError("cannot add layers after training started (the optimizer holds the old parameters); "
                              "add every layer before compile()/fit(), or build a new model")
        if len(self) == 0 and self.input_shape is None:
            self.input_shape = _declared_input_shape(layer)
            self._output_shape = self.input_shape
        index = len(self)
        if self._output_shape is not None:
            self._output_shape = self._infer(layer, self._output_shape, index)
        self.append(layer)
        return self

    @staticmethod
    def _infer(layer: nn.Module, shape: tuple[int, ...], index: int) -> tuple[int, ...]:
        build = getattr(layer, "build", None)
        if callable(build):
            build(shape)
        was_training = layer.training
        layer.eval()
        try:
            with torch.no_grad():
                out = layer(torch.zeros(2, *shape))
        except (RuntimeError, ShapeError) as exc:
            raise ShapeError(
                f"layer {index} ({type(layer).__name__}) cannot take inputs of shape (N, {', '.join(map(str, shape))}) "
                f"coming from the previous layer: {exc}"
            ) from exc
        finally:
            layer.train(was_training)
        return tuple(out.shape[1:])

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        return self._output_shape

    def get_config(self) -> dict[str, Any]:
        from tesla_lab.nn.config import layer_config

        return {"type": "Sequential", "input_shape": self.input_shape, "layers": [layer_config(m) for m in self]}
