"""A table's column profile: one row per column with its dtype, missing values, distinct values and an example —
what the Data view shows, computed once per loaded table (in the parsing worker for user files, see
:mod:`~tesla_lab.data.isolated`) rather than on every redraw.

>>> import pandas as pd
>>> profile_columns(pd.DataFrame({"a": [1.0, None, 3.0], "b": [True, False, True]}))
  column    dtype  missing  missing_pct  unique example
0      a  float64        1        33.33       2     1.0
1      b     bool        0         0.00       2    True
"""

from __future__ import annotations

import pandas as pd

__all__ = ["profile_columns", "PROFILE_COLUMNS"]

PROFILE_COLUMNS = ["column", "dtype", "missing", "missing_pct", "unique", "example"]
"""The columns of :func:`profile_columns`' table."""


def profile_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column of ``frame``: ``column, dtype, missing, missing_pct, unique, example`` (the first value
    that is not missing, as text)."""
    missing = frame.isna().sum()
    rows = []
    for i, name in enumerate(frame.columns):
        column = frame.iloc[:, i]
        present = column.dropna()
        gaps = int(missing.iloc[i])
        rows.append([name, str(column.dtype), gaps, round(100.0 * gaps / max(len(frame), 1), 2),
                     int(column.nunique(dropna=True)), str(present.iloc[0]) if len(present) else ""])
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)
