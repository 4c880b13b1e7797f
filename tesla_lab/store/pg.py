"""The store on a PostgreSQL server: the same interface as the SQLite :class:`~tesla_lab.store.db.Database`
(``query``, ``query_one``, ``transaction``, versioned schema), so every store module runs unchanged on both.

* **Connections** (psycopg 3, client-side binding) are per thread and per process, in autocommit mode: a read
  never holds a snapshot open. A connection the server dropped (a restart) is replaced on the next call.
* **Writes** go through :meth:`PgDatabase.transaction`: ``BEGIN`` and a transaction-scoped advisory lock, PG's
  counterpart of SQLite's ``BEGIN IMMEDIATE``. Write transactions of every process on every machine are thus
  serialized exactly as on SQLite (two promotions to ``production``: one wins, the other version ends
  ``archived``; a schedule slot is claimed once); readers are never blocked (MVCC). The wait is bounded by
  ``timeout`` (``lock_timeout``).
* **Schema**: the statements of :data:`~tesla_lab.store.schema.MIGRATIONS` in PostgreSQL's dialect
  (:mod:`tesla_lab.store.pg_sql`), run by Alembic (:mod:`tesla_lab.store.alembic_run`), version recorded in
  ``tesla_alembic_version`` (mirrored in ``tesla_schema_version``); an older store is migrated on open inside one
  transaction (PostgreSQL's DDL is transactional: a failed migration leaves nothing
  half-written); a newer one is refused.
* A server that is down or refuses the login raises :class:`~tesla_lab.errors.StoreError` naming the URL (never its
  password) and the fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from tesla_lab.errors import ConfigError, MissingDependencyError, StoreError
from tesla_lab.store.alembic_run import stored_version, upgrade
from tesla_lab.store.connections import ThreadConnections, _savepoint
from tesla_lab.store.location import redact_url
from tesla_lab.store.pg_sql import pg_params, row_factory, to_pg
from tesla_lab.store.schema import MIGRATIONS

__all__ = ["PgDatabase", "PgIntegrityError"]

logger = logging.getLogger(__name__)

#: the advisory lock every write transaction takes (one per database: the lock space is per database)
WRITE_LOCK = zlib.crc32(b"tesla_lab.store.write")


_CONSTRAINTS = {"UniqueViolation": "UNIQUE constraint failed", "ForeignKeyViolation": "FOREIGN KEY constraint failed",
                "CheckViolation": "CHECK constraint failed", "NotNullViolation": "NOT NULL constraint failed"}


class PgIntegrityError(sqlite3.IntegrityError):
    """A constraint violation on PostgreSQL, raised as the ``sqlite3.IntegrityError`` the store modules catch."""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise MissingDependencyError(
            "a postgresql:// store needs psycopg 3: pip install 'tesla-lab[postgres]' (or pip install "
            "'psycopg[binary]')") from exc
    return psycopg


class _Cursor:
    """The part of ``sqlite3.Cursor`` the store uses: fetchone/fetchall/rowcount/lastrowid."""

    def __init__(self, conn: _Connection, cursor: Any) -> None:
        self._conn, self._cursor = conn, cursor

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> int | None:
        """The identity value the last INSERT of this connection generated (``lastval()``)."""
        return int(self._conn.execute("SELECT lastval()").fetchone()[0])


class _Connection:
    """A psycopg connection speaking the store's SQLite dialect (``?`` placeholders, sqlite3-style errors)."""

    def __init__(self, raw: Any, db: PgDatabase) -> None:
        self.raw, self._db = raw, db

    def _run(self, fn: Any) -> Any:
        psycopg = _psycopg()
        try:
            return fn()
        except psycopg.IntegrityError as exc:  # worded as SQLite words it, so the same checks match on both
            kind = _CONSTRAINTS.get(type(exc).__name__, "constraint failed")
            raise PgIntegrityError(f"{kind}: {' '.join(str(exc).split())}") from exc
        except psycopg.errors.LockNotAvailable as exc:  # lock_timeout: another writer held the store too long
            raise StoreError(f"the PostgreSQL store {self._db.path} stayed locked by another writer for more than "
                             f"{self._db.timeout:g} s; a long transaction in another process holds it: wait and "
                             "retry, or open with a larger timeout=") from exc
        except psycopg.OperationalError as exc:  # the server went away, refused the login, ...
            raise self._db._server_error(exc) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        return _Cursor(self, self._run(lambda: self.raw.execute(to_pg(sql), pg_params(params))))

    def executemany(self, sql: str, rows: Any) -> _Cursor:
        cursor = self.raw.cursor()
        self._run(lambda: cursor.executemany(to_pg(sql), [pg_params(r) for r in rows]))
        return _Cursor(self, cursor)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != 0  # 0: IDLE

    def close(self) -> None:
        self.raw.close()


class PgDatabase(ThreadConnections):
    """A TESLA store in a PostgreSQL database (``url``: ``postgresql://user[:password]@host[:port]/dbname``).

    Args:
        url: the database; it must exist (``createdb``); the tables are created on first open.
        timeout: seconds a write waits for another writer, and a connection attempt for the server.
        migrations: the schema steps (tests pass a prefix to build an older store).
    """

    engine = "postgresql"
    read_only = False

    def __init__(self, url: str, *, timeout: float = 30.0, migrations: Sequence[Sequence[str]] | None = None) -> None:
        if not timeout > 0:
            raise ConfigError(f"timeout must be > 0 seconds; got {timeout!r}")
        _psycopg()
        self.url = url
        self.path = redact_url(url)  # what messages name (never the password)
        self.timeout = float(timeout)
        self._migrations = tuple(tuple(m) for m in (MIGRATIONS if migrations is None else migrations))
        self._local = threading.local()
        self._migrate()

    @property
    def location(self) -> str:
        """The store's URL without its password."""
        return self.path

    # --------------------------------------------------------------------------------------- connections
    def _server_error(self, exc: Exception) -> StoreError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreError(
            f"cannot use the PostgreSQL store {self.path}: {first}. Check that the server is running and reachable "
            "(pg_isready -h HOST -p PORT), that the database exists (createdb) and the user may log in; or point "
            "TESLA_STORE_URL / tesla.yaml store: at the right server. Nothing was written")

    def _connect(self) -> _Connection:
        psycopg = _psycopg()
        try:
            raw = psycopg.connect(self.url, autocommit=True, cursor_factory=psycopg.ClientCursor,
                                  row_factory=row_factory, connect_timeout=max(1, round(min(self.timeout, 30))),
                                  application_name="tesla_lab")
        except psycopg.Error as exc:
            raise self._server_error(exc) from exc
        from psycopg.types.numeric import FloatLoader

        raw.adapters.register_loader("numeric", FloatLoader)  # SUM()/AVG() as float, as on SQLite
        return _Connection(raw, self)

    def connection(self) -> _Connection:
        """This thread's connection in this process (opened on first use, reopened after the server dropped it)."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid() and not (conn.raw.closed or conn.raw.broken):
            return conn
        conn = self._connect()
        local.conn, local.pid, local.depth = conn, os.getpid(), 0
        return conn

    # ------------------------------------------------------------------------------------ reading / writing
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a read query and return all rows (index by position or column name)."""
        return self.connection().execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of a read query, or ``None``."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Connection]:
        """A write transaction holding the store's write lock (``ROLLBACK`` on any exception); nested use on the
        same thread becomes a SAVEPOINT."""
        conn = self.connection()
        local = self._local
        if local.depth > 0:
            with _savepoint(conn, local):
                yield conn
            return
        local.depth = 1
        try:  # one round trip: begin, bound the wait, take the store's write lock
            conn.execute(f"BEGIN; SET LOCAL lock_timeout = {int(self.timeout * 1000)}; "
                         f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                if not conn.raw.closed:
                    conn.raw.execute("ROLLBACK")
            raise
        finally:
            local.depth = 0

    # --------------------------------------------------------------------------------------- migrations
    @property
    def schema_version(self) -> int:
        """The store's schema version (0: no TESLA tables yet)."""
        return self._version(self.connection())

    @staticmethod
    def _version(conn: _Connection) -> int:
        if conn.execute("SELECT to_regclass('tesla_schema_version')").fetchone()[0] is None:
            return 0
        row = conn.execute("SELECT version FROM tesla_schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _migrate(self) -> None:
        latest = len(self._migrations)
        version, stamped = stored_version(self, lambda sql: self.query_one(sql), latest)
        if version == latest and stamped:  # the check on every open: no Alembic import
            return
        upgrade(self, latest)

    def _newer_error(self, current: int | str, latest: int) -> StoreError:
        return StoreError(
            f"{self.path} has schema version {current}, newer than the {latest} this TESLA Lab knows; it was written "
            "by a newer release: upgrade tesla-lab (pip install -U tesla-lab) to open it")

    # ------------------------------------------------------------------------------------------ upkeep
    def quick_check(self) -> str:
        """``'ok'`` when the server answers and the schema is current (the server keeps its own files
        consistent: there is no file to check here), else the problem."""
        try:
            version = self.schema_version
        except StoreError as exc:
            return str(exc)
        latest = len(self._migrations)
        return "ok" if version == latest else f"schema version {version}, expected {latest}"

    integrity_check = quick_check

    def open_check(self) -> None:
        """Nothing to do on a server (SQLite checks a file left open by a killed process)."""
        return None

    def backup(self, dest: Any) -> Any:
        """Refused: back up a server with its own tools."""
        raise StoreError(f"{self.path} is a PostgreSQL store: back it up with pg_dump (e.g. pg_dump -Fc -f "
                         f"{dest} DBNAME), not with TESLA Lab")

    def __repr__(self) -> str:
        return f"PgDatabase({self.path!r})"
