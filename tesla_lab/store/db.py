"""The project's SQLite database: connections, versioned schema with forward migrations, write transactions.

One file per project (``<project>/.tesla/store.db``) in WAL mode, so readers (the UI polling live curves) never
block the writer (the training process) and a crashed writer never leaves a half-written transaction behind.

* **Connections** are per thread *and* per process: a connection inherited through ``fork`` is never used (nor
  closed, which could disturb the parent's locks); the child opens its own.
* **Writes** go through :meth:`Database.transaction`, which starts with ``BEGIN IMMEDIATE`` (the write lock is
  taken up front, so a transaction never fails half-way on a lock) and retries a locked database with bounded,
  jittered exponential backoff on top of SQLite's own ``busy_timeout``.
* **Schema**: :data:`MIGRATIONS` ``[i]`` brings version ``i`` to ``i + 1``, run by Alembic
  (:mod:`tesla_lab.store.alembic_run`, version in ``tesla_alembic_version``, mirrored in ``PRAGMA user_version``) inside
  one transaction, so a failed migration leaves the file as it was.
* A file that is not a SQLite database, or is corrupted, raises :class:`StoreError` naming the file and how to
  recover; nothing is written to it.

>>> import os, tempfile
>>> db = Database(os.path.join(tempfile.mkdtemp(), "store.db"))
>>> db.schema_version == SCHEMA_VERSION, db.journal_mode
(True, 'wal')
>>> with db.transaction() as conn:
...     _ = conn.execute("INSERT INTO meta(key, value) VALUES ('greeting', 'hello')")
>>> db.query_one("SELECT value FROM meta WHERE key = ?", ("greeting",))["value"]
'hello'
>>> db.integrity_check()
'ok'
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError, NotFoundError, StoreError
from tesla_lab.store.alembic_run import stored_version, upgrade
from tesla_lab.store.connections import ThreadConnections, _savepoint
from tesla_lab.store.schema import MIGRATIONS, SCHEMA_VERSION
from tesla_lab.store.sessions import SessionMarkers
from tesla_lab.store.sqlite_errors import _is_corrupt, _is_disk_problem, _is_locked, _StoreErrors

__all__ = ["StoreError", "NotFoundError", "Database", "MIGRATIONS", "SCHEMA_VERSION"]

logger = logging.getLogger(__name__)

_ABANDONED: list[sqlite3.Connection] = []  # connections inherited through fork: kept alive, never used or closed


def _writable(path: Path) -> bool:
    """Whether this process may write the store file and its folder (the WAL and lock files live beside it)."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


class Database(_StoreErrors, ThreadConnections):
    """One SQLite store file: per-thread/per-process connections, migrations on open, write transactions.

    Args:
        path: the database file (created, with its parent folder, when missing and ``create=True``).
        create: create a missing file; with ``False`` a missing file raises :class:`StoreError`.
        timeout: seconds a write waits in total for another writer before :class:`StoreError` is raised.
        busy_timeout: seconds SQLite itself waits on a lock per attempt (``PRAGMA busy_timeout``).
        synchronous: ``'NORMAL'`` (default; in WAL mode a crashed *process* loses nothing committed, a power cut
            may lose the last transactions) or ``'FULL'`` (also survives power loss, one fsync per commit).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "store.db")
    >>> Database(path, create=False)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.StoreError: no store database at ...store.db; ...
    """

    #: the store's engine (:class:`~tesla_lab.store.pg.PgDatabase` says ``'postgresql'``)
    engine = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        timeout: float = 30.0,
        busy_timeout: float = 5.0,
        synchronous: str = "NORMAL",
        migrations: Sequence[Sequence[str]] | None = None,
    ) -> None:
        if str(synchronous).upper() not in ("NORMAL", "FULL"):
            raise ConfigError(f"synchronous must be 'NORMAL' or 'FULL'; got {synchronous!r}")
        if not timeout > 0 or not busy_timeout >= 0:
            raise ConfigError(f"timeout must be > 0 and busy_timeout >= 0 seconds; got {timeout!r}, {busy_timeout!r}")
        self.path = Path(path)
        self.timeout = float(timeout)
        self.busy_timeout = float(busy_timeout)
        self.synchronous = str(synchronous).upper()
        self._migrations = tuple(tuple(m) for m in (MIGRATIONS if migrations is None else migrations))
        self._local = threading.local()
        self.read_only = not _writable(self.path)
        empty = self.path.is_file() and self.path.stat().st_size == 0  # what a crash before the first write leaves
        if not self.path.exists() or empty:
            if not create:
                what = "an empty (0-byte) store database" if empty else "no store database"
                raise StoreError(f"{what} at {self.path}; open the project with Project(path) (which "
                                 "creates it) or pass create=True")
            if self.read_only:
                raise self._read_only_error("cannot create the store")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._check_file()
        self.open_check()
        self._migrate()

    # ------------------------------------------------------------------------------------------- checks
    def quick_check(self) -> str:
        """``'ok'``, or SQLite's list of problems (``PRAGMA quick_check``: every page and index entry readable;
        O(file size), much faster than :meth:`integrity_check`). Runs on its own read-only connection, so it works
        even when this thread's connection could not be opened.

        >>> import os, tempfile
        >>> Database(os.path.join(tempfile.mkdtemp(), "s.db")).quick_check()
        'ok'
        """
        try:
            probe = self._open_uri("mode=ro")
        except sqlite3.Error as exc:
            return f"cannot open the file: {exc}"
        try:
            return "\n".join(str(row[0]) for row in probe.execute("PRAGMA quick_check").fetchall())
        except sqlite3.DatabaseError as exc:
            return str(exc)
        finally:
            probe.close()

    def open_check(self) -> str | None:
        """On open: if a process that had this store open ended without closing it (killed, power cut), run
        ``PRAGMA quick_check`` and refuse a damaged file; then mark this process as having the store open.
        Returns the check's result (``'ok'``), or None when no check was needed."""
        self._sessions = SessionMarkers(self.path.parent / f"{self.path.name}.sessions")
        stale = self._sessions.stale() if self.path.exists() else []
        report = None
        if stale:
            report = self.quick_check()
            if report != "ok":
                raise self._corrupt_error(
                    f"{len(stale)} process(es) ended without closing it and PRAGMA quick_check fails: "
                    f"{report.splitlines()[0][:200]}")
            logger.info("%s was not closed cleanly by %d process(es); quick_check: ok", self.path, len(stale))
            self._sessions.clear(stale)
        self._sessions.register()
        return report


    def _check_file(self) -> None:
        """Refuse a file that is not a SQLite database before anything writes to it (so nothing is overwritten).

        The header is read through SQLite itself, read-only: a plain ``open()``/``close()`` of the database file
        would drop every POSIX lock SQLite holds on it in this process, after which another process may delete the
        WAL that this process still writes to (silently lost transactions).
        """
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a SQLite database file; move it aside and reopen")
        if not self.path.exists():
            return
        try:
            probe = self._open_uri("mode=ro")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            probe.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc) or _is_corrupt(exc):
                raise self._corrupt_error(f"not a SQLite database: {exc}") from exc
            if not _is_locked(exc):
                raise self._error(exc) from exc
        finally:
            probe.close()

    # --------------------------------------------------------------------------------------- connections
    def _connect_read_only(self) -> sqlite3.Connection:
        """Read-only access to a store in a folder this process cannot write: ``mode=ro`` (sees the WAL when its
        shared-memory file is there), else ``immutable=1`` (the main file only: changes still in the WAL of a
        writer that never checkpointed are not seen, which is logged)."""
        try:
            conn = self._open_uri("mode=ro", isolation_level=None)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error:
            logger.info("%s: read-only folder without a usable WAL index; reading the main file only", self.path)
        return self._open_uri("immutable=1", isolation_level=None)

    def _open_uri(self, query: str, **options: Any) -> sqlite3.Connection:
        """A connection to the file opened by URI with ``query`` (``mode=ro``: read-only, never creates or writes)."""
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?{query}", uri=True, timeout=self.busy_timeout,
                               **options)

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.read_only:
                conn = self._connect_read_only()
            else:
                conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        conn.row_factory = sqlite3.Row
        if self.read_only:
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.Error as exc:
                conn.close()
                raise self._error(exc) from exc
            return conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            mode = self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if str(mode).lower() != "wal":
                logger.warning("%s: journal_mode is %s, not wal (a network file system?)", self.path, mode)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # parses the schema: finds corruption
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(exc) from exc
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection in this process (opened on first use).

        >>> import os, tempfile
        >>> db = Database(os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> db.connection() is db.connection()
        True
        """
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            return conn
        if conn is not None:
            # inherited through fork: SQLite forbids using it in the child, and closing it could release locks
            # the parent still counts on, so it is parked, not closed
            _ABANDONED.append(conn)
        conn = self._connect()
        local.conn, local.pid, local.depth = conn, os.getpid(), 0
        return conn

    # ------------------------------------------------------------------------------------ reading / writing
    def _retry(self, fn: Any) -> Any:
        """Call ``fn`` until it does not fail with 'database is locked', with bounded jittered backoff."""
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay * (0.5 + random.random()))  # jitter: two waiting writers do not retry in lockstep
                delay = min(delay * 2.0, 0.25)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows (``sqlite3.Row``: index by column name).

        >>> import os, tempfile
        >>> db = Database(os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> [r["key"] for r in db.query("SELECT key FROM meta")]
        ['created']
        """
        try:
            return self._retry(lambda: self.connection().execute(sql, tuple(params)).fetchall())
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.OperationalError) and not (_is_locked(exc) or _is_corrupt(exc)
                                                                  or _is_disk_problem(exc)):
                raise  # a programming error (bad SQL): let it surface as is
            raise self._error(exc) from exc

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row of a read query, or ``None``."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception).

        Nested use on the same thread becomes a SAVEPOINT, so helpers that write can be combined into one
        atomic unit. Only taking the lock is retried, never the body.

        >>> import os, tempfile
        >>> db = Database(os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> try:
        ...     with db.transaction() as conn:
        ...         _ = conn.execute("INSERT INTO meta VALUES ('a', '1')")
        ...         raise KeyError("boom")
        ... except KeyError:
        ...     pass
        >>> db.query_one("SELECT * FROM meta WHERE key = 'a'") is None  # rolled back
        True
        """
        conn = self.connection()
        local = self._local
        if local.depth > 0:
            with _savepoint(conn, local):
                yield conn
            return
        if self.read_only:
            raise self._read_only_error("cannot write")
        try:
            self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        local.depth = 1
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError) and (_is_corrupt(exc) or _is_locked(exc)
                                                            or _is_disk_problem(exc) or "readonly" in str(exc)):
                raise self._error(exc) from exc
            raise
        finally:
            local.depth = 0

    # --------------------------------------------------------------------------------------- migrations
    @property
    def schema_version(self) -> int:
        """The schema version of the file (``PRAGMA user_version``)."""
        return int(self.query_one("PRAGMA user_version")[0])  # type: ignore[index]

    @property
    def journal_mode(self) -> str:
        """``'wal'`` on a local file system."""
        return str(self.query_one("PRAGMA journal_mode")[0])  # type: ignore[index]

    def _migrate(self) -> None:
        latest = len(self._migrations)
        version, stamped = stored_version(self, lambda sql: self.query_one(sql), latest)
        if version == latest and (stamped or self.read_only):  # the check on every open: no Alembic import
            return
        if self.read_only:
            raise self._read_only_error(f"the store has schema version {version} and needs an upgrade to {latest}")
        upgrade(self, latest)

    def _newer_error(self, current: int | str, latest: int) -> StoreError:
        return StoreError(
            f"{self.path} has schema version {current}, newer than the {latest} this TESLA Lab knows; it was written "
            "by a newer release: upgrade tesla-lab (pip install -U tesla-lab) to open it"
        )

    # ------------------------------------------------------------------------------------------ upkeep
    def integrity_check(self) -> str:
        """``'ok'``, or SQLite's list of problems (``PRAGMA integrity_check``), one per line."""
        return "\n".join(str(row[0]) for row in self.query("PRAGMA integrity_check"))

    def backup(self, dest: str | os.PathLike[str]) -> Path:
        """Copy the database, consistently, to a new file ``dest`` (online backup; writers may keep going).

        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> Database(os.path.join(d, "s.db")).backup(os.path.join(d, "copy.db")).name
        'copy.db'
        """
        dest = Path(dest)
        if dest.exists():
            raise StoreError(f"backup target {dest} already exists; choose a new file name (nothing was overwritten)")
        target = sqlite3.connect(str(dest))
        try:
            self.connection().backup(target)
        except sqlite3.Error as exc:
            target.close()
            dest.unlink(missing_ok=True)
            raise self._error(exc) from exc
        target.close()
        return dest

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"
