"""The error classes of TESLA Lab.

Every error is a :class:`TeslaError`; each subclass also derives from the built-in exception a Python user would
expect (``ValueError``, ``TypeError``, ...), so ``except ValueError`` keeps working. Messages state the rule, the
value received and the fix.

>>> from tesla_lab.errors import ShapeError, TeslaError
>>> issubclass(ShapeError, (TeslaError, ValueError))
True
"""

from __future__ import annotations

__all__ = [
    "TeslaError",
    "ConfigError",
    "ShapeError",
    "FactorizationError",
    "DataError",
    "NotFittedError",
    "CheckpointError",
    "StoreError",
    "NotFoundError",
]


class TeslaError(Exception):
    """Base class of every error raised on purpose by TESLA Lab."""


class ConfigError(TeslaError, ValueError):
    """An option has a value that is not allowed (unknown activation, optimizer, loss, rank < 1, ...)."""


class ShapeError(TeslaError, ValueError):
    """Tensor or layer shapes do not fit together."""


class FactorizationError(ShapeError):
    """A dimension cannot be split into the requested tensor-train mode sizes."""


class DataError(TeslaError, ValueError):
    """Input data is unusable as given: empty, non-numeric, NaN/inf, or X and y of different lengths."""


class NotFittedError(TeslaError, RuntimeError):
    """A model or transform is used before it was built, compiled or fitted."""


class CheckpointError(TeslaError, RuntimeError):
    """A checkpoint cannot be written or read back."""


class StoreError(TeslaError, RuntimeError):
    """The project store cannot be read or written (not a database, corrupted, locked too long, missing rows)."""


class NotFoundError(StoreError, LookupError):
    """A run, model version, dataset version or artifact that is not in the store; the message lists what is."""
