"""Reading tables from databases: a SQLite file (opened read-only) or any SQLAlchemy database URL. Only the query the
caller passes is sent; a ``table=`` name must be a plain identifier and is quoted, never spliced.

>>> import tempfile, pathlib
>>> db = pathlib.Path(tempfile.mkdtemp()) / "x.db"
>>> con = sqlite3.connect(db)
>>> _ = con.executescript("CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2);"); con.close()
>>> load_sql("SELECT SUM(a) AS s FROM t", db)["s"].tolist()
[3]
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab.data.sources import PathLike, _file, _is_url
from tesla_lab.errors import ConfigError, DataError

__all__ = ["load_sql"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---------------------------------------------------------------------------------------------------- SQL
def _quote_identifier(name: str) -> tuple[str | None, str]:
    """Validate ``table`` or ``schema.table``; return (schema, table). Anything else is refused, never spliced."""
    parts = name.split(".") if isinstance(name, str) else [None]
    if not 1 <= len(parts) <= 2 or not all(isinstance(p, str) and _IDENTIFIER.fullmatch(p) for p in parts):
        raise ConfigError(
            f"table name {name!r} is not a plain identifier (letters, digits and _, optionally schema.table); "
            "for anything else pass query='SELECT * FROM \"odd name\"' (CLI: --query)"
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
                    "query='SELECT ...' (CLI: --table NAME or --query 'SELECT ...')"
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
optionally schema.table); for anything else pass query='SELECT * FROM "odd name"' (CLI: --query)
    """
    if url_or_path is None:
        raise ConfigError("load_sql needs url_or_path: a SQLite file path or a database URL like 'postgresql://...'")
    if query is not None and table is not None:
        raise ConfigError("pass either query= or table=, not both")
    path = _sqlite_path(url_or_path)
    if path is not None:
        return _load_sqlite(path, query, table, params)
    return _load_sqlalchemy(os.fspath(url_or_path), query, table, params)
