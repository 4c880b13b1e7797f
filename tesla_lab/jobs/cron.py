"""Cron expressions for notebook schedules, evaluated with croniter: :func:`check_cron` validates one (5 fields or
an ``@daily``-style shortcut), :func:`next_time` and :func:`latest_slot` find slots in a time zone (``UTC`` unless
given, e.g. ``Europe/Berlin``).

>>> check_cron("*/30 * * * *")
'*/30 * * * *'
>>> from datetime import datetime, timezone
>>> t = datetime(2024, 1, 1, 10, 7, tzinfo=timezone.utc).timestamp()
>>> datetime.fromtimestamp(next_time("*/30 * * * *", t), timezone.utc).strftime("%H:%M")
'10:30'
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tesla_lab.errors import ConfigError

__all__ = ["check_cron", "next_time", "latest_slot"]

_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")

_FIELDS = (("minute", 59), ("hour", 23), ("day-of-month", 31), ("month", 12), ("day-of-week", 7))

_EXAMPLE = ("e.g. '*/30 * * * *' (every 30 minutes), '0 3 * * *' (daily at 03:00) or '0 9 * * 1-5' (weekdays at "
            "09:00); 5 fields: minute hour day-of-month month day-of-week, or @hourly / @daily / @weekly / @monthly")

_MISSED_CAP = 1000  # missed slots counted at most (an every-minute schedule down for a month: 43 200)



def _croniter() -> Any:
    try:
        from croniter import croniter
    except ImportError as exc:  # optional dependency: name the extra
        raise ConfigError("schedules need croniter; install it with `pip install 'tesla-lab[jobs]'`") from exc
    return croniter



def check_cron(expr: Any) -> str:
    """Validate a cron expression and return it (whitespace normalised); the error names the value and gives
    examples.

    >>> check_cron("0  3 * * *")
    '0 3 * * *'
    >>> check_cron("*/61 * * * *")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: invalid cron expression '*/61 * * * *': the minute step 61 is out of range \
1..59; e.g. '*/30 * * * *' ...
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(f"invalid cron expression {expr!r}: it is empty or not text; {_EXAMPLE}")
    text = " ".join(expr.split())
    if text.startswith("@"):
        if text.lower() not in _MACROS:
            raise ConfigError(f"invalid cron expression {expr!r}: unknown shortcut; {_EXAMPLE}")
        return text.lower()
    parts = text.split(" ")
    if len(parts) != 5:
        raise ConfigError(f"invalid cron expression {expr!r}: it has {len(parts)} field(s), not 5; {_EXAMPLE}")
    croniter = _croniter()
    try:
        croniter(text)
    except (ValueError, KeyError, TypeError) as exc:  # croniter's errors are ValueErrors
        raise ConfigError(f"invalid cron expression {expr!r}: {exc}; {_EXAMPLE}") from exc
    # croniter accepts steps larger than the field (*/61 fires at minute 0 only): almost always a typo
    for (name, top), part in zip(_FIELDS, parts):
        for step in re.findall(r"/(\d+)", part):
            if not 1 <= int(step) <= top:
                raise ConfigError(f"invalid cron expression {expr!r}: the {name} step {step} is out of range "
                                  f"1..{top}; {_EXAMPLE}")
    return text



def _zone(name: Any) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"a time zone is an IANA name like 'UTC' or 'Europe/Berlin'; got {name!r}")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}; use an IANA name like 'UTC', 'Europe/Berlin' or "
                          "'America/New_York'") from exc



def next_time(cron: str, after: float, tz: str = "UTC") -> float:
    """The first slot of ``cron`` strictly after ``after`` (Unix seconds), evaluated in time zone ``tz``.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 3, 30, 12, 0, tzinfo=timezone.utc).timestamp()
    >>> datetime.fromtimestamp(next_time("0 9 * * *", t, "Europe/Berlin"), timezone.utc).isoformat()
    '2024-03-31T07:00:00+00:00'
    """
    zone = _zone(tz)
    try:
        return float(_croniter()(cron, datetime.fromtimestamp(after, zone)).get_next(float))
    except (ValueError, KeyError) as exc:  # CroniterBadDateError: '0 0 31 2 *' never happens
        raise ConfigError(f"cron expression {cron!r} never fires ({exc}); {_EXAMPLE}") from exc



def latest_slot(cron: str, now: float, tz: str = "UTC") -> float:
    """The most recent slot of ``cron`` at or before ``now`` (Unix seconds).

    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 1, 1, 10, 30, tzinfo=timezone.utc).timestamp()
    >>> latest_slot("*/30 * * * *", t) == t, latest_slot("*/30 * * * *", t - 1) == t - 1800
    (True, True)
    """
    zone = _zone(tz)
    croniter = _croniter()
    try:
        prev = float(croniter(cron, datetime.fromtimestamp(now, zone)).get_prev(float))  # strictly before now
        following = float(croniter(cron, datetime.fromtimestamp(prev, zone)).get_next(float))
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"cron expression {cron!r} never fires ({exc}); {_EXAMPLE}") from exc
    return following if following <= now else prev



def _count_between(cron: str, start: float, end: float, tz: str) -> int:
    """Slots strictly between ``start`` and ``end`` (capped at ``_MISSED_CAP``)."""
    it = _croniter()(cron, datetime.fromtimestamp(start, _zone(tz)))
    count = 0
    while count < _MISSED_CAP and float(it.get_next(float)) < end:
        count += 1
    return count

