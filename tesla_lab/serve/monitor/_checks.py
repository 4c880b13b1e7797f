"""Argument checks shared by the monitoring classes.

>>> _positive_int(0, "window")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: window must be a positive integer; got 0
"""

from __future__ import annotations

from typing import Any

from tesla_lab.errors import ConfigError


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return value
