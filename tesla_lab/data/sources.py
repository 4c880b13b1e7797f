"""Recognising a data source before reading it: its extension (without a compression suffix), whether it is a URL,
that a local file exists, and :func:`select_columns`, which keeps the named columns of a loaded table.

>>> _suffix("data/Train.CSV.gz"), _is_url("sqlite:///x.db"), _is_url("x.db")
('.csv', True, False)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from tesla_lab.errors import DataError

__all__ = ["select_columns", "PathLike"]

PathLike = str | os.PathLike[str]

_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst", ".tar")


def _suffix(path: str | Path) -> str:
    """Lower-case extension without a compression suffix: ``data.CSV.gz`` -> ``.csv``."""
    suffixes = [s.lower() for s in Path(str(path).split("?")[0]).suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _is_compressed(path: Path) -> bool:
    return path.suffix.lower() in _COMPRESSION


def _file(path: PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"file not found: '{p}'; check the path (relative paths start at {Path.cwd()})")
    if p.is_dir():
        raise DataError(f"'{p}' is a directory, not a file; pass the path of a file inside it")
    return p


def _is_url(source: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source))


def select_columns(df: pd.DataFrame, columns: Sequence[str] | None = None, target: str | None = None) -> pd.DataFrame:
    """Keep ``columns`` (plus ``target``) of ``df``, checking that every named column exists.

    >>> select_columns(pd.DataFrame({"a": [1], "b": [2]}), ["a", "c"])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: column(s) 'c' not found; columns are: a, b
    """
    available = ", ".join(map(str, df.columns))
    if target is not None and target not in df.columns:
        raise DataError(f"target column {target!r} not found; columns are: {available}")
    if columns is None:
        return df
    if isinstance(columns, str):
        columns = [columns]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"column(s) {', '.join(map(repr, missing))} not found; columns are: {available}")
    keep = list(columns) + ([target] if target is not None and target not in columns else [])
    return df[keep]
