"""Readers of data files into a :class:`pandas.DataFrame`: CSV/TSV (pyarrow engine with a C-engine fallback), JSON
and JSON lines, Parquet, and pickle (only with ``trust=True``). pandas/pyarrow errors become
:class:`~tesla_lab.errors.DataError` messages that name the file, the line when known, and the fix.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("a,b\\n1,2\\n")
>>> load_csv(p).to_dict("list")
{'a': [1], 'b': [2]}
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab.data.limits import ReadLimits, check_text_table, read_capped
from tesla_lab.data.sources import PathLike, _file, _suffix, select_columns
from tesla_lab.errors import DataError

__all__ = ["load_csv", "load_json", "load_parquet", "load_pickle"]

logger = logging.getLogger(__name__)

# options the pyarrow CSV engine refuses (pandas keeps the authoritative list; the fallback matches pandas 2.x/3.x)
try:
    from pandas.io.parsers.readers import _pyarrow_unsupported as _PYARROW_UNSUPPORTED  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the pandas version
    _PYARROW_UNSUPPORTED = {
        "skipfooter", "float_precision", "chunksize", "comment", "nrows", "thousands", "memory_map", "dialect",
        "quoting", "lineterminator", "converters", "iterator", "dayfirst", "skipinitialspace", "low_memory",
        "na_filter",
    }
try:
    import pyarrow  # noqa: F401

    _HAS_PYARROW = True
except ImportError:  # pragma: no cover - pyarrow is a dependency
    _HAS_PYARROW = False


# --------------------------------------------------------------------------------------------------- CSV
def _csv_error(path: Path, exc: Exception) -> DataError:
    if isinstance(exc, pd.errors.EmptyDataError):
        return DataError(f"CSV file '{path}' is empty (no header row, no data); write a header line and rows into it")
    if isinstance(exc, UnicodeDecodeError):
        return DataError(
            f"CSV file '{path}' is not UTF-8 text ({exc.reason}); if it is text in another "
            "encoding pass encoding='latin-1' (CLI: --encoding latin-1) or the right one, otherwise use the loader for "
            "its real format"
        )
    line = re.search(r"line (\d+)", str(exc))
    where = f" at line {line.group(1)}" if line else ""
    return DataError(
        f"malformed CSV in '{path}'{where}: {str(exc).strip()}; fix that row (each row needs as many fields as the "
        "header) or pass on_bad_lines='skip' (CLI: --on-bad-lines skip) to drop bad rows"
    )


def _wide_row(source: Any, sep: str) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first row with more fields than the header, if any."""
    import csv

    text = io.TextIOWrapper(io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb"),
                            encoding="utf-8", errors="replace", newline="")
    with text:
        reader = csv.reader(text, delimiter=sep or ",")
        header = next(reader, [])
        for row in reader:
            if len(row) > len(header):
                return reader.line_num, len(row), len(header)
    return None


def _read_csv(path: Path, engine: str, kw: dict[str, Any], data: bytes | None = None) -> pd.DataFrame:
    source: Any = io.BytesIO(data) if data is not None else path
    guard_index = engine == "c" and "index_col" not in kw and "names" not in kw and "header" not in kw
    if guard_index:
        # with more fields in the rows than in the header, pandas silently turns the first field(s) into the
        # index (every column shifts by one); index_col=False keeps the columns in place, and the row is an error
        kw = {**kw, "index_col": False}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(source, engine=engine, **kw)
    except (ValueError, NotImplementedError) as exc:  # ParserError, EmptyDataError, UnicodeDecodeError, ArrowInvalid
        raise _csv_error(path, exc) from exc
    for warning in caught:
        if guard_index and "does not match length of data" in str(warning.message):
            if kw.get("on_bad_lines") in ("skip", "warn"):
                continue
            found = _wide_row(data if data is not None else path, kw.get("sep", ","))
            where = f"line {found[0]} has {found[1]} fields but the header has {found[2]}" if found else \
                "a row has more fields than the header"
            raise DataError(f"malformed CSV in '{path}': {where}; fix that row (each row needs as many fields as the "
                            "header) or pass on_bad_lines='skip' to drop such rows (CLI: --on-bad-lines skip)")
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return frame


def load_csv(path: PathLike, **kw: Any) -> pd.DataFrame:
    """Read a CSV file with pandas, using the fast pyarrow engine when possible.

    Options pyarrow does not support (``nrows``, ``comment``, ...) fall back to the C engine, and so does a file
    pyarrow rejects: the C parser names the line of a ragged row. ``.tsv`` files default to ``sep='\\t'``.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.csv"
    >>> _ = p.write_text("a,b\\n1,2\\n3,4,5\\n")
    >>> load_csv(p)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: malformed CSV in '...bad.csv' at line 3: Error tokenizing data. C error: Expected 2 \
fields in line 3, saw 3...; fix that row (each row needs as many fields as the header) or pass on_bad_lines='skip' \
(CLI: --on-bad-lines skip) to drop bad rows
    """
    p = _file(path)
    limits = kw.pop("limits", None)
    data = read_capped(p, limits)  # decompressed (capped) bytes of a .gz/.zip/...; None for a plain file
    if data is None:
        with p.open("rb") as fh:
            head = fh.read(8192)
    else:
        head = data[:8192]
    if not head.strip():
        raise _csv_error(p, pd.errors.EmptyDataError())
    if b"\x00" in head:
        raise DataError(
            f"'{p}' looks binary (NUL bytes in its first 8 KiB), not CSV text; if it is Parquet, pickle or "
            "Excel, give it the matching extension or call that loader"
        )
    if _suffix(p) == ".tsv":
        kw.setdefault("sep", "\t")
    check_text_table(p, data, limits, sep=kw.get("sep") or kw.get("delimiter") or ",")
    if data is not None:
        kw.pop("compression", None)  # already decompressed
    return _no_rows_check(p, _parse_csv(p, data, kw))


def _parse_csv(p: Path, data: bytes | None, kw: dict[str, Any]) -> pd.DataFrame:
    engine = kw.pop("engine", None)
    if engine is not None:
        return _read_csv(p, engine, kw, data)
    if _HAS_PYARROW and not set(kw) & set(_PYARROW_UNSUPPORTED):
        try:
            df = _read_csv(p, "pyarrow", kw, data)
        except DataError as exc:
            logger.debug("pyarrow could not parse %s (%s); retrying with the C engine", p, exc)
        else:
            text_columns = [i for i, dtype in enumerate(df.dtypes) if dtype.kind == "O"]
            if not any(df.iloc[:, i].map(lambda v: isinstance(v, bytes)).any() for i in text_columns):
                return df
            # pyarrow keeps text it cannot decode as bytes; the C engine reports the encoding problem instead
    return _read_csv(p, "c", kw, data)


def _no_rows_check(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) == 0:
        raise DataError(f"'{path}' has a header ({len(frame.columns)} columns: "
                        f"{', '.join(map(str, frame.columns[:5]))}{', ...' if len(frame.columns) > 5 else ''}) but no "
                        "data rows; add rows below the header")
    return frame


# ---------------------------------------------------------------------------------------- compressed files
def _capped(path: Path, kw: dict[str, Any]) -> tuple[Any, bytes | None]:
    """What to hand the parser: the file itself, or (compressed) its bytes decompressed under the cap of
    :func:`~tesla_lab.data.limits.read_capped` (pops ``limits`` and ``compression`` from ``kw``)."""
    raw = read_capped(path, kw.pop("limits", None))
    if raw is None:
        return path, None
    kw.pop("compression", None)  # already decompressed
    return io.BytesIO(raw), raw


# -------------------------------------------------------------------------------------------------- JSON
def _json_error(path: Path, lines: bool, exc: Exception, raw: bytes | None = None) -> DataError:
    text = (raw if raw is not None else path.read_bytes()).decode("utf-8", errors="replace")
    if not text.strip():
        return DataError(f"JSON file '{path}' is empty; it needs a list of records or one JSON object per line")
    try:
        if lines:
            for number, row in enumerate(text.splitlines(), start=1):
                if row.strip():
                    try:
                        json.loads(row)
                    except json.JSONDecodeError as err:
                        raise _at(err, number) from None
        else:
            json.loads(text)
    except json.JSONDecodeError as err:
        hint = (
            "; if the file has one JSON object per line, pass lines=True or name it .jsonl"
            if not lines and err.msg == "Extra data" else ""
        )
        return DataError(f"malformed JSON in '{path}' at line {err.lineno} column {err.colno}: {err.msg}{hint}")
    return DataError(
        f"JSON in '{path}' is valid but not a table ({exc}); use a list of records [{{\"a\": 1}}, ...], a dict of "
        "columns {\"a\": [1, 2]}, or one object per line with lines=True"
    )


def _at(err: json.JSONDecodeError, line: int) -> json.JSONDecodeError:
    """Re-anchor an error found in one line of a JSON-lines file to that line of the file."""
    moved = json.JSONDecodeError(err.msg, err.doc, err.pos)
    moved.lineno, moved.colno = line, err.colno
    return moved


def load_json(path: PathLike, *, lines: bool | None = None, **kw: Any) -> pd.DataFrame:
    """Read JSON records (or JSON lines: ``lines=True``, auto for ``.jsonl`` / ``.ndjson``) with pandas.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
    >>> _ = p.write_text('{"a": 1}\\n{"a": 2\\n')
    >>> load_json(p)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: malformed JSON in '...rows.jsonl' at line 2 column 8: Expecting ',' delimiter
    """
    p = _file(path)
    if lines is None:
        lines = _suffix(p) in (".jsonl", ".ndjson")
    source, raw = _capped(p, kw)
    try:
        return pd.read_json(source, lines=lines, **kw)
    except RecursionError:
        raise _too_deep(p) from None
    except ValueError as exc:
        try:
            error = _json_error(p, lines, exc, raw)
        except RecursionError:  # locating the error re-parses the text
            raise _too_deep(p) from None
        raise error from exc


def _too_deep(p: Path) -> DataError:
    return DataError(f"JSON in '{p}' is nested too deeply to read as a table (past Python's recursion limit of "
                     f"{sys.getrecursionlimit()}); a table is a list of flat records [{{\"a\": 1}}, ...]: flatten "
                     "the data first (pandas.json_normalize with max_level=)")


# --------------------------------------------------------------------------------------- Parquet, pickle
def load_parquet(path: PathLike, *, columns: Sequence[str] | None = None, **kw: Any) -> pd.DataFrame:
    """Read a Parquet file with pyarrow (``columns=`` reads only those columns).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]}).to_parquet(p)
    >>> load_parquet(p, columns=["b"])["b"].tolist()
    [3.0, 4.0]
    """
    p = _file(path)
    source, raw = _capped(p, kw)
    if columns is not None:
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(io.BytesIO(raw) if raw is not None else p).names
        except (ValueError, OSError) as exc:
            raise _parquet_error(p, exc) from exc
        select_columns(pd.DataFrame(columns=names), columns)  # names a missing column and lists the others
    try:
        return pd.read_parquet(source, engine="pyarrow", columns=None if columns is None else list(columns), **kw)
    except (ValueError, OSError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise _parquet_error(p, exc) from exc


def _parquet_error(path: Path, exc: Exception) -> DataError:
    return DataError(
        f"'{path}' is not a readable Parquet file ({exc}); check it was written completely (df.to_parquet) "
        "or use the loader for its real format"
    )


def load_pickle(path: PathLike, *, trust: bool = False, limits: ReadLimits | None = None) -> pd.DataFrame:
    """Read a pickled DataFrame (or Series / array / dict of columns), only when you vouch for the file.

    Unpickling runs code chosen by whoever wrote the file, so it is refused unless ``trust=True``.

    >>> load_pickle("data.pkl")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: refusing to unpickle 'data.pkl': loading a pickle can execute arbitrary code. Pass \
trust=True (CLI: --trust) only for files you created yourself; prefer Parquet or CSV for data you share
    """
    if not trust:
        raise DataError(
            f"refusing to unpickle '{path}': loading a pickle can execute arbitrary code. Pass trust=True (CLI: "
            "--trust) only for "
            "files you created yourself; prefer Parquet or CSV for data you share"
        )
    p = _file(path)
    source, _ = _capped(p, {"limits": limits})
    try:
        obj = pd.read_pickle(source)
    except Exception as exc:  # unpickling raises anything (UnpicklingError, EOFError, ImportError, ...)
        raise DataError(f"cannot unpickle '{p}': {type(exc).__name__}: {exc}; the file is damaged or not a pickle") \
            from exc
    if isinstance(obj, pd.Series):
        return obj.to_frame()
    if isinstance(obj, pd.DataFrame):
        return obj
    try:
        return pd.DataFrame(obj)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"pickle '{p}' holds a {type(obj).__name__}, which is not a table; pickle a DataFrame, array or dict of "
            "columns"
        ) from exc
