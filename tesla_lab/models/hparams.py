"""Checks shared by the family builders: layer sizes, rates, and the output loss that fits a task.

>>> sizes("hidden_sizes", [64, 32]), sizes("hidden_sizes", 16)
((64, 32), (16,))
>>> rate("dropout", 1.0)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: dropout must be a fraction in [0, 1); got 1.0
"""

from __future__ import annotations

from typing import Any

from tesla_lab.errors import ConfigError

__all__ = ["sizes", "rate", "positive", "output_loss", "dense"]


def positive(name: str, value: Any) -> int:
    """``value`` as a positive int, or a ConfigError naming ``name``.

    >>> positive("tt_rank", 0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: tt_rank must be a positive integer; got 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return value


def sizes(name: str, value: Any, *, allow_empty: bool = False) -> tuple[int, ...]:
    """Layer widths: an int or a list of positive ints.

    >>> sizes("filters", [])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: filters must be a positive integer or a non-empty list of them (e.g. [64, 32]); got []
    """
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, (list, tuple)) or (not items and not allow_empty):
        raise ConfigError(f"{name} must be a positive integer or a non-empty list of them (e.g. [64, 32]); got "
                          f"{value!r}")
    return tuple(positive(f"every entry of {name}", v) for v in items)


def rate(name: str, value: Any) -> float:
    """A fraction in [0, 1) (dropout)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise ConfigError(f"{name} must be a fraction in [0, 1); got {value!r}")
    return float(value)


def output_loss(task: str, n_outputs: int) -> str:
    """The loss a network head is trained with: cross entropy over C logits, or MSE for regression.

    >>> output_loss("classification", 3), output_loss("regression", 1)
    ('cross_entropy', 'mse')
    """
    return "cross_entropy" if task == "classification" else "mse"


def dense(units: int, activation: str | None = None, input_dim: int | None = None) -> dict[str, Any]:
    """The config of one ``tesla_lab.nn.Dense`` layer.

    >>> dense(3, input_dim=4)
    {'type': 'Dense', 'units': 3, 'activation': None, 'input_dim': 4}
    """
    return {"type": "Dense", "units": units, "activation": activation, "input_dim": input_dim}
