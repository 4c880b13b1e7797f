"""The values a store keeps, to and from their columns: run statuses, JSON params, metric keys/values/steps,
Unix times (``now``, ``to_datetime``, ``to_timestamps``) and the traceback text of a failed run.

>>> from_json(to_json({"lr": 0.01})), check_status("running"), to_datetime(0.0).year
({'lr': 0.01}, 'running', 1970)
"""

from __future__ import annotations

import json
import math
import operator
import time
import traceback
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.errors import ConfigError

__all__ = ["RUN_STATUSES", "FINAL_STATUSES", "RESUMABLE_STATUSES", "to_json", "from_json", "check_status", "now",
           "to_timestamps", "to_datetime", "format_error"]

RUN_STATUSES = ("queued", "running", "finished", "failed", "stopped", "crashed")
FINAL_STATUSES = ("finished", "failed", "stopped", "crashed")
RESUMABLE_STATUSES = ("stopped", "failed", "crashed")  # a finished run has nothing left to train
_ERROR_LIMIT = 20_000  # characters of traceback kept with a failed run


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "tolist") and hasattr(value, "numel"):  # a torch tensor, without importing torch
        return value.tolist()
    raise TypeError(type(value).__name__)


def to_json(value: Any, what: str = "value") -> str:
    """JSON text for a param / config value; numpy, tensors, paths and sets are converted.

    >>> to_json({"ranks": (4, 4), "path": __import__("pathlib").Path("a")})
    '{"ranks": [4, 4], "path": "a"}'
    >>> to_json(object(), "param 'x'")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: param 'x' must be JSON-like data (numbers, strings, lists, dicts); got object ...
    """
    try:
        return json.dumps(value, default=_json_default, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be JSON-like data (numbers, strings, lists, dicts); got "
                          f"{type(value).__name__} ({exc}); convert it, e.g. str(value)") from exc


def from_json(text: str | None) -> Any:
    """Parse what :func:`to_json` wrote (``None`` stays ``None``).

    >>> from_json('{"ranks": [4, 4]}'), from_json(None)
    ({'ranks': [4, 4]}, None)
    """
    return None if text is None else json.loads(text)


def _metric_value(key: str, value: Any) -> float | None:
    if isinstance(value, (str, bytes)) or value is None:
        raise ConfigError(f"metric {key!r} must be a number; got {value!r}")
    try:
        number = float(value)  # floats, ints, numpy scalars, 1-element tensors
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"metric {key!r} must be a number; got {type(value).__name__} {value!r}") from exc
    return None if math.isnan(number) else number  # SQLite stores NaN as NULL anyway


def _metric_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"a metric name must be a non-empty string; got {key!r}")
    return key


def _step(step: Any) -> int:
    try:
        if isinstance(step, bool):
            raise TypeError
        value = operator.index(step)
    except TypeError as exc:
        raise ConfigError(f"step must be an integer >= 0 (an epoch or step count); got {step!r}") from exc
    if value < 0:
        raise ConfigError(f"step must be an integer >= 0 (an epoch or step count); got {step!r}")
    return value


def check_status(status: Any, allowed: Iterable[str] = RUN_STATUSES) -> str:
    """Validate a run status.

    >>> check_status("done")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown run status 'done'; choose one of: queued, running, finished, failed, ...
    """
    allowed = tuple(allowed)
    if status not in allowed:
        raise ConfigError(f"unknown run status {status!r}; choose one of: {', '.join(allowed)}")
    return str(status)


def now() -> float:
    """The current Unix time rounded to the microsecond, so a stored time survives a round trip through the
    microsecond datetimes returned in DataFrames (``metrics(since=frame.timestamp.max())`` is exact).

    >>> t = now()
    >>> t == round(t, 6)
    True
    """
    return round(time.time(), 6)


def to_timestamps(seconds: pd.Series) -> pd.Series:
    """Stored Unix times (a float column, None allowed) as UTC datetimes with microsecond resolution.

    >>> to_timestamps(pd.Series([0.5, None])).tolist()
    [Timestamp('1970-01-01 00:00:00.500000+0000', tz='UTC'), NaT]
    """
    micros = (seconds.astype("float64") * 1e6).round()
    return pd.to_datetime(micros.astype("Int64"), unit="us", utc=True)


def to_datetime(seconds: float | None) -> datetime | None:
    """A stored Unix time as an aware UTC datetime (``None`` stays ``None``).

    >>> to_datetime(0.0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


def format_error(exc: BaseException) -> str:
    """The traceback text stored with a failed run (truncated to its last 20 000 characters).

    >>> try:
    ...     1 / 0
    ... except ZeroDivisionError as exc:
    ...     format_error(exc).splitlines()[-1]
    'ZeroDivisionError: division by zero'
    """
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return text[-_ERROR_LIMIT:]
