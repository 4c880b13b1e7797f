"""Load tabular data from files, databases, MNIST folders and sample sets into a :class:`pandas.DataFrame`.

:func:`load` picks the reader from the source: a sample name (``"iris"``, ``"sample:digits"``), a URL scheme
(``sqlite:///x.db``, ``postgresql://...``), a directory of MNIST IDX files, or the file extension
(``.csv``, ``.tsv``, ``.json``, ``.jsonl``, ``.parquet``, ``.pkl``, ``.db``). Readers turn pandas/pyarrow errors into
:class:`~tesla_lab.errors.DataError` messages that name the file, the line when known, and the fix.

>>> load("iris", target="target").shape
(150, 5)
>>> load("iris", target="species")
Traceback (most recent call last):
...
tesla_lab.errors.DataError: target column 'species' not found; columns are: sepal length (cm), sepal width (cm), \
petal length (cm), petal width (cm), target
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd

from tesla_lab.data import mnist, samples
from tesla_lab.errors import ConfigError, DataError

__all__ = [
    "load",
    "DataIngestion",
    "load_csv",
    "load_json",
    "load_parquet",
    "load_pickle",
    "load_sql",
    "load_mnist_frame",
    "select_columns",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

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

_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst", ".tar")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


# --------------------------------------------------------------------------------------------------- CSV
def _csv_error(path: Path, exc: Exception) -> DataError:
    if isinstance(exc, pd.errors.EmptyDataError):
        return DataError(f"CSV file '{path}' is empty (no header row, no data); write a header line and rows into it")
    if isinstance(exc, UnicodeDecodeError):
        return DataError(
            f"CSV file '{path}' is not UTF-8 text ({exc.reason}); if it is text in another "
            "encoding pass encoding='latin-1' (or the right one), otherwise use the loader for its real format"
        )
    line = re.search(r"line (\d+)", str(exc))
    where = f" at line {line.group(1)}" if line else ""
    return DataError(
        f"malformed CSV in '{path}'{where}: {str(exc).strip()}; fix that row (each row needs as many fields as the "
        "header) or pass on_bad_lines='skip' to drop bad rows"
    )


def _read_csv(path: Path, engine: str, kw: dict[str, Any]) -> pd.DataFrame:
    try:
        return pd.read_csv(path, engine=engine, **kw)
    except (ValueError, NotImplementedError) as exc:  # ParserError, EmptyDataError, UnicodeDecodeError, ArrowInvalid
        raise _csv_error(path, exc) from exc


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
to drop bad rows
    """
    p = _file(path)
    if not _is_compressed(p):
        with p.open("rb") as fh:
            head = fh.read(8192)
        if not head.strip():
            raise _csv_error(p, pd.errors.EmptyDataError())
        if b"\x00" in head:
            raise DataError(
                f"'{p}' looks binary (NUL bytes in its first 8 KiB), not CSV text; if it is Parquet, pickle or "
                "Excel, give it the matching extension or call that loader"
            )
    if _suffix(p) == ".tsv":
        kw.setdefault("sep", "\t")
    engine = kw.pop("engine", None)
    if engine is not None:
        return _read_csv(p, engine, kw)
    if _HAS_PYARROW and not set(kw) & set(_PYARROW_UNSUPPORTED):
        try:
            df = _read_csv(p, "pyarrow", kw)
        except DataError as exc:
            logger.debug("pyarrow could not parse %s (%s); retrying with the C engine", p, exc)
        else:
            text_columns = [i for i, dtype in enumerate(df.dtypes) if dtype.kind == "O"]
            if not any(df.iloc[:, i].map(lambda v: isinstance(v, bytes)).any() for i in text_columns):
                return df
            # pyarrow keeps text it cannot decode as bytes; the C engine reports the encoding problem instead
    return _read_csv(p, "c", kw)


# -------------------------------------------------------------------------------------------------- JSON
def _json_error(path: Path, lines: bool, exc: Exception) -> DataError:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        text = fh.read()
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
    try:
        return pd.read_json(p, lines=lines, **kw)
    except ValueError as exc:
        raise _json_error(p, lines, exc) from exc


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
    if columns is not None:
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(p).names
        except (ValueError, OSError) as exc:
            raise _parquet_error(p, exc) from exc
        select_columns(pd.DataFrame(columns=names), columns)  # names a missing column and lists the others
    try:
        return pd.read_parquet(p, engine="pyarrow", columns=None if columns is None else list(columns), **kw)
    except (ValueError, OSError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise _parquet_error(p, exc) from exc


def _parquet_error(path: Path, exc: Exception) -> DataError:
    return DataError(
        f"'{path}' is not a readable Parquet file ({exc}); check it was written completely (df.to_parquet) "
        "or use the loader for its real format"
    )


def load_pickle(path: PathLike, *, trust: bool = False) -> pd.DataFrame:
    """Read a pickled DataFrame (or Series / array / dict of columns), only when you vouch for the file.

    Unpickling runs code chosen by whoever wrote the file, so it is refused unless ``trust=True``.

    >>> load_pickle("data.pkl")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: refusing to unpickle 'data.pkl': loading a pickle can execute arbitrary code. Pass \
trust=True only for files you created yourself; prefer Parquet or CSV for data you share
    """
    if not trust:
        raise DataError(
            f"refusing to unpickle '{path}': loading a pickle can execute arbitrary code. Pass trust=True only for "
            "files you created yourself; prefer Parquet or CSV for data you share"
        )
    p = _file(path)
    try:
        obj = pd.read_pickle(p)
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


# ---------------------------------------------------------------------------------------------------- SQL
def _quote_identifier(name: str) -> tuple[str | None, str]:
    """Validate ``table`` or ``schema.table``; return (schema, table). Anything else is refused, never spliced."""
    parts = name.split(".") if isinstance(name, str) else [None]
    if not 1 <= len(parts) <= 2 or not all(isinstance(p, str) and _IDENTIFIER.fullmatch(p) for p in parts):
        raise ConfigError(
            f"table name {name!r} is not a plain identifier (letters, digits and _, optionally schema.table); "
            "for anything else pass query='SELECT * FROM \"odd name\"'"
        )
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def _sqlite_path(url_or_path: PathLike) -> Path | None:
    """A SQLite file for a path or a ``sqlite:///`` URL; None for other database URLs."""
    text = os.fspath(url_or_path)
    if not _is_url(text):
        return Path(text).expanduser()
    match = re.match(r"^sqlite(?:\+pysqlite)?:///(.+)$", text)
    return Path(match.group(1).split("?")[0]) if match else None


def _sqlite_tables(con: sqlite3.Connection) -> list[str]:
    return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]


def _load_sqlite(path: Path, query: str | None, table: str | None, params: Any) -> pd.DataFrame:
    p = _file(path)
    # read-only URI: a query can never change the user's database
    con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            tables = _sqlite_tables(con)
        except sqlite3.DatabaseError as exc:
            raise DataError(f"'{p}' is not a SQLite database ({exc}); check the path") from exc
        if query is None and table is None:
            if len(tables) != 1:
                raise ConfigError(
                    f"'{p}' holds {len(tables)} tables ({', '.join(tables) or 'none'}); pass table='name' or "
                    "query='SELECT ...'"
                )
            table = tables[0]
        if table is not None:
            schema, name = _quote_identifier(table)
            query = f'SELECT * FROM "{schema}"."{name}"' if schema else f'SELECT * FROM "{name}"'
        try:
            return pd.read_sql_query(query, con, params=params)
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise DataError(
                f"SQL query failed on '{p}': {exc}; check the query (tables here: {', '.join(tables) or 'none'})"
            ) from exc
    finally:
        con.close()


def _load_sqlalchemy(url: str, query: str | None, table: str | None, params: Any) -> pd.DataFrame:
    try:
        import sqlalchemy as sa
    except ImportError as exc:
        raise ConfigError(
            f"reading {url.split('://')[0]}:// databases needs SQLAlchemy; run `pip install sqlalchemy` "
            "(plus the database driver), or use a SQLite file path"
        ) from exc
    if query is None and table is None:
        raise ConfigError("pass query='SELECT ...' or table='name' to read from a database URL")
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot open database URL {url!r}: {exc}; check the URL and install its driver") from exc
    if table is not None:
        schema, name = _quote_identifier(table)
        statement: Any = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema))  # dialect quoting
    else:
        statement = sa.text(query)
    try:
        with engine.connect() as con:
            return pd.read_sql_query(statement, con, params=params)
    except sa.exc.SQLAlchemyError as exc:
        raise DataError(f"SQL query failed on {engine.url!r}: {exc}; check the query and the connection") from exc
    finally:
        engine.dispose()


def load_sql(
    query: str | None = None,
    url_or_path: PathLike | None = None,
    *,
    table: str | None = None,
    params: Any = None,
) -> pd.DataFrame:
    """Run ``query`` (or read ``table``) on a SQLite file (opened read-only) or an SQLAlchemy database URL.

    Only the query you pass is sent; ``table=`` must be a plain identifier and is quoted. Use ``params=`` for
    values (``?`` placeholders for SQLite), never string formatting.

    >>> import tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "x.db"
    >>> con = sqlite3.connect(db)
    >>> _ = con.executescript("CREATE TABLE t (a INT); INSERT INTO t VALUES (1);"); con.close()
    >>> load_sql(url_or_path=db, table="t")["a"].tolist()
    [1]
    >>> load_sql(url_or_path=db, table="t; DROP TABLE t")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: table name 't; DROP TABLE t' is not a plain identifier (letters, digits and _, \
optionally schema.table); for anything else pass query='SELECT * FROM "odd name"'
    """
    if url_or_path is None:
        raise ConfigError("load_sql needs url_or_path: a SQLite file path or a database URL like 'postgresql://...'")
    if query is not None and table is not None:
        raise ConfigError("pass either query= or table=, not both")
    path = _sqlite_path(url_or_path)
    if path is not None:
        return _load_sqlite(path, query, table, params)
    return _load_sqlalchemy(os.fspath(url_or_path), query, table, params)


# ------------------------------------------------------------------------------------------- MNIST, samples
def load_mnist_frame(
    dir_or_files: PathLike | tuple[PathLike, PathLike], *, kind: str = "train"
) -> pd.DataFrame:
    """MNIST as a DataFrame: one ``pixel_<row>_<col>`` column per pixel plus ``target``.

    ``dir_or_files`` is a directory holding the standard files, or an ``(images, labels)`` pair of IDX paths.
    ``df.attrs['image_shape']`` keeps the image shape.

    >>> load_mnist_frame("no/such/dir")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: MNIST directory 'no/such/dir' not found; check the path
    """
    if isinstance(dir_or_files, (tuple, list)):
        if len(dir_or_files) != 2:
            raise ConfigError(f"pass (images_path, labels_path); got {len(dir_or_files)} paths")
        images, labels = mnist.read_idx(dir_or_files[0]), mnist.read_idx(dir_or_files[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"expected images (N, rows, cols) and labels (N,); got {images.shape} and {labels.shape}"
            )
    else:
        images, labels = mnist.load_mnist(dir_or_files, kind)  # type: ignore[arg-type]
    n, rows, cols = images.shape
    columns = [f"pixel_{r}_{c}" for r in range(rows) for c in range(cols)]
    df = pd.DataFrame(images.reshape(n, rows * cols), columns=columns)
    df["target"] = labels.astype("int64")
    df.attrs["image_shape"] = (rows, cols)
    return df


def _sample_frame(name: str) -> pd.DataFrame:
    frame, info = samples.load_sample(name)
    frame.attrs["sample_info"] = info.to_dict()
    return frame


# -------------------------------------------------------------------------------------------------- load()
_READERS = {
    ".csv": load_csv,
    ".tsv": load_csv,
    ".txt": load_csv,
    ".json": load_json,
    ".jsonl": load_json,
    ".ndjson": load_json,
    ".parquet": load_parquet,
    ".pq": load_parquet,
    ".pkl": load_pickle,
    ".pickle": load_pickle,
    ".db": None,  # SQLite: needs query= or table= (or a single table)
    ".sqlite": None,
    ".sqlite3": None,
}


def load(
    source: Any,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    **kw: Any,
) -> pd.DataFrame:
    """Load ``source`` into a DataFrame, choosing the reader from its name; ``kw`` go to that reader.

    ``source`` may be: a DataFrame (copied); a sample name (``"digits"`` or ``"sample:digits"``); a directory of
    MNIST IDX files (``kind='train'|'t10k'``); a database URL or SQLite file with ``query=`` or ``table=``; or a
    file/URL ending in .csv, .tsv, .txt, .json, .jsonl, .ndjson, .parquet, .pq, .pkl, .pickle (``trust=True``),
    .db, .sqlite, .sqlite3 (optionally compressed: .gz, .bz2, .xz, .zip, .zst). ``columns`` keeps only those
    columns (plus ``target``); ``target`` must be a column.

    >>> load("data.xlsx")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: cannot tell how to read 'data.xlsx' (extension '.xlsx'); use one of .csv, .tsv, \
.txt, .json, .jsonl, .ndjson, .parquet, .pq, .pkl, .pickle, .db, .sqlite, .sqlite3, a sample name \
(breast_cancer, ...), a database URL or an MNIST directory
    """
    if isinstance(columns, str):
        columns = [columns]
    parquet = isinstance(source, (str, os.PathLike)) and _suffix(os.fspath(source)) in (".parquet", ".pq")
    if columns is not None and parquet:  # a columnar file: read only the columns asked for
        kw.setdefault("columns", list(dict.fromkeys([*columns, *([target] if target is not None else [])])))
    return select_columns(_dispatch(source, kw), columns, target)


_REMOTE_FILES = r"^(https?|s3|gs|gcs|az|abfs)://"


def _load_remote(url: str, ext: str, kw: dict[str, Any]) -> pd.DataFrame:
    """Files behind a URL: pandas fetches them itself (so no local existence or binary checks)."""
    if ext in (".csv", ".tsv", ".txt"):
        if ext == ".tsv":
            kw.setdefault("sep", "\t")
        return pd.read_csv(url, **kw)
    if ext in (".json", ".jsonl", ".ndjson"):
        kw.setdefault("lines", ext != ".json")
        return pd.read_json(url, **kw)
    if ext in (".parquet", ".pq"):
        return pd.read_parquet(url, **kw)
    raise ConfigError(
        f"cannot read {ext or 'extension-less'} files from a URL ({url!r}); download it first and load the local "
        "file, or use a .csv, .json, .jsonl or .parquet URL"
    )


def _dispatch(source: Any, kw: dict[str, Any]) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if isinstance(source, pd.Series):
        return source.to_frame()
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(
            f"load() takes a path, URL, sample name or DataFrame; got {type(source).__name__}; for arrays use "
            "pandas.DataFrame(array)"
        )
    text = os.fspath(source)
    if text.startswith("sample:"):
        return _sample_frame(text.removeprefix("sample:"))
    if text.startswith("mnist:"):
        return load_mnist_frame(text.removeprefix("mnist:"), **kw)
    if text.startswith("file://"):
        text = url2pathname(urlparse(text).path)
    elif _is_url(text):
        if re.match(_REMOTE_FILES, text):
            return _load_remote(text, _suffix(text), kw)
        return load_sql(kw.pop("query", None), text, **kw)
    path = Path(text).expanduser()
    if path.is_dir():
        return load_mnist_frame(path, **kw)
    ext = _suffix(text)
    if ext in _READERS:
        reader = _READERS[ext]
        if reader is None:
            return load_sql(kw.pop("query", None), path, **kw)
        return reader(path, **kw)
    if not ext and not path.exists() and text in samples.SAMPLES:
        return _sample_frame(text)
    shown = "a sample name (" + ", ".join(samples.list_samples()[:1]) + ", ...)"
    raise ConfigError(
        f"cannot tell how to read {text!r} (extension {ext!r}); use one of {', '.join(_READERS)}, {shown}, "
        "a database URL or an MNIST directory"
    )


class DataIngestion:
    """One object with a loader per source kind; relative paths start at ``root`` (default: the working dir).

    >>> DataIngestion().load_sample("wine").shape
    (178, 14)
    """

    def __init__(self, root: PathLike | None = None) -> None:
        self.root = root

    def _path(self, path: PathLike) -> Path:
        p = Path(path).expanduser()
        return p if self.root is None or p.is_absolute() else Path(self.root) / p

    def load(self, source: Any, **kw: Any) -> pd.DataFrame:
        """Like :func:`load`, with relative file paths taken from ``root``.

        >>> DataIngestion().load("sample:iris", columns=["petal width (cm)"]).shape
        (150, 1)
        """
        if isinstance(source, (str, os.PathLike)) and not _is_url(os.fspath(source)):
            candidate = self._path(source)
            if candidate.exists():
                source = candidate
        return load(source, **kw)

    def load_csv(self, path: PathLike, **kw: Any) -> pd.DataFrame:
        """:func:`load_csv` relative to ``root``.

        >>> DataIngestion().load_csv("nope.csv")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: 'nope.csv'; check the path (relative paths start at ...)
        """
        return load_csv(self._path(path), **kw)

    def load_json(self, path: PathLike, *, lines: bool | None = None, **kw: Any) -> pd.DataFrame:
        """:func:`load_json` relative to ``root``.

        >>> DataIngestion(root="/nonexistent").load_json("a.json")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: '/nonexistent/a.json'; check the path ...
        """
        return load_json(self._path(path), lines=lines, **kw)

    def load_parquet(self, path: PathLike, *, columns: Sequence[str] | None = None, **kw: Any) -> pd.DataFrame:
        """:func:`load_parquet` relative to ``root``.

        >>> DataIngestion().load_parquet("a.parquet")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: 'a.parquet'; check the path ...
        """
        return load_parquet(self._path(path), columns=columns, **kw)

    def load_pickle(self, path: PathLike, *, trust: bool = False) -> pd.DataFrame:
        """:func:`load_pickle` relative to ``root`` (refused unless ``trust=True``).

        >>> DataIngestion().load_pickle("a.pkl")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: refusing to unpickle 'a.pkl': loading a pickle can execute arbitrary code...
        """
        return load_pickle(self._path(path), trust=trust)

    def load_sql(
        self,
        query: str | None = None,
        url_or_path: PathLike | None = None,
        *,
        table: str | None = None,
        params: Any = None,
    ) -> pd.DataFrame:
        """:func:`load_sql`; a SQLite path is taken relative to ``root``.

        >>> DataIngestion().load_sql("SELECT 1", "missing.db")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: 'missing.db'; check the path ...
        """
        if url_or_path is not None and not _is_url(os.fspath(url_or_path)):
            url_or_path = self._path(url_or_path)
        return load_sql(query, url_or_path, table=table, params=params)

    def load_mnist(self, dir_or_files: PathLike | tuple[PathLike, PathLike], *, kind: str = "train") -> pd.DataFrame:
        """:func:`load_mnist_frame` relative to ``root``: pixels as columns plus ``target``.

        >>> DataIngestion().load_mnist("missing")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: MNIST directory 'missing' not found; check the path
        """
        if isinstance(dir_or_files, (tuple, list)):
            return load_mnist_frame(tuple(self._path(p) for p in dir_or_files), kind=kind)  # type: ignore[arg-type]
        return load_mnist_frame(self._path(dir_or_files), kind=kind)

    def load_sample(self, name: str) -> pd.DataFrame:
        """A sample dataset as a DataFrame; its :class:`SampleInfo` is in ``df.attrs['sample_info']``.

        >>> DataIngestion().load_sample("digits").attrs["sample_info"]["image_shape"]
        (8, 8)
        """
        return _sample_frame(name)
