"""What the ``tesla`` command writes: ``out`` (stdout, the only place TESLA Lab prints), ``err`` (stderr), plain-text
tables and JSON for machines.

>>> print(table([{"name": "a", "acc": 0.912345}, {"name": "bb", "acc": None}], ["name", "acc"]))
name  acc
----  ------
a     0.9123
bb    -
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = ["out", "err", "table", "to_json", "fmt", "fmt_seconds", "plain", "records"]


def out(text: str = "") -> None:
    """Write a line to stdout (the CLI's output; library code logs instead)."""
    print(text, file=sys.stdout)  # noqa: T201


def err(text: str) -> None:
    """Write a line to stderr (errors and notes that are not the command's output)."""
    print(text, file=sys.stderr)  # noqa: T201


def plain(value: Any) -> Any:
    """A JSON-able version of ``value``: NumPy scalars → Python, NaN → None, timestamps → ISO text.

    >>> import numpy as np
    >>> plain(np.float32(0.5)), plain(float("nan")), plain({"a": (1, 2)})
    (0.5, None, {'a': [1, 2]})
    """
    # NumPy/pandas values exist only once those are imported: never import them here (``tesla --help`` stays fast)
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (np is not None and isinstance(value, np.ndarray)):
        return [plain(v) for v in value]
    if pd is not None and value is not None and not isinstance(value, (str, bool, int, float)) \
            and pd.api.types.is_scalar(value) and pd.isna(value):
        return None  # pandas NA / NaT
    if isinstance(value, datetime) or hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_json(value: Any) -> str:
    """``value`` as indented JSON (see :func:`plain`).

    >>> to_json({"x": float("inf")})
    '{\\n  "x": null\\n}'
    """
    return json.dumps(plain(value), indent=2, default=str)


def fmt(value: Any) -> str:
    """One table cell: floats with 4 significant digits, timestamps to the second, missing as ``-``.

    >>> fmt(0.123456), fmt(12345.678), fmt(None), fmt(3)
    ('0.1235', '1.235e+04', '-', '3')
    """
    value = plain(value)
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":  # ISO timestamp
        return value[:19].replace("T", " ")
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def fmt_seconds(value: Any) -> str:
    """A duration in seconds as a table cell with its unit: ``0.11 s``, ``3.3 s``, ``2m 05s``, ``1h 02m``.

    >>> fmt_seconds(0.1125), fmt_seconds(3.275), fmt_seconds(125.4), fmt_seconds(3725), fmt_seconds(None)
    ('0.11 s', '3.3 s', '2m 05s', '1h 02m', '-')
    """
    value = plain(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "-"
    if value < 60:
        return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"
    minutes, seconds = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-able dicts."""
    return [plain(dict(row)) for row in frame.to_dict(orient="records")]


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, empty: str = "(none)") -> str:
    """Left-aligned columns separated by two spaces, a dashed rule under the header."""
    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    if not cells:
        return empty
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)
