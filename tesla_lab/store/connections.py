"""One database connection per thread and per process, for both store engines (:class:`~tesla_lab.store.db.Database`
on SQLite, :class:`~tesla_lab.store.pg.PgDatabase` on PostgreSQL).

A store object is shared by threads (the dashboard's callbacks) and pickled to worker processes; each thread opens
its own connection on first use and a receiving process opens new ones.

>>> import pickle, tempfile
>>> from tesla_lab.store.db import Database
>>> db = Database(tempfile.mkdtemp() + "/store.db")
>>> with db:
...     copy = pickle.loads(pickle.dumps(db))  # what a worker process receives: no connection, a fresh local
>>> copy.path == db.path, getattr(copy._local, "conn", None) is None
(True, True)
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["ThreadConnections"]


class ThreadConnections:
    """Mixin: ``close``, the context manager and pickling around ``self._local`` (a ``threading.local`` holding
    ``conn`` and ``pid``)."""

    _local: threading.local

    def close(self) -> None:
        """Close this thread's connection (other threads' connections close when their threads end)."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid():
            conn.close()
        local.conn = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # picklable for multiprocessing: the receiving process opens its own connections
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()


@contextlib.contextmanager
def _savepoint(conn: Any, local: threading.local) -> Iterator[Any]:
    """A nested write transaction on both engines: ``SAVEPOINT`` … ``RELEASE``; on any exception only the
    savepoint's own writes are rolled back and the enclosing transaction goes on.

    ``local.depth`` counts the open levels (1: the outer transaction). The body's exception always propagates; if
    rolling back the savepoint fails too, that failure becomes its ``__context__``, never raised in its place.

    >>> import sqlite3, threading
    >>> conn, local = sqlite3.connect(":memory:", isolation_level=None), threading.local()
    >>> _ = conn.execute("CREATE TABLE t (x)"); _ = conn.execute("BEGIN"); local.depth = 1
    >>> _ = conn.execute("INSERT INTO t VALUES (1)")
    >>> try:
    ...     with _savepoint(conn, local):
    ...         _ = conn.execute("INSERT INTO t VALUES (2)")
    ...         raise KeyError("boom")
    ... except KeyError:
    ...     pass
    >>> conn.execute("SELECT x FROM t").fetchall(), local.depth  # the outer write stays
    ([(1,)], 1)
    """
    name = f"tesla_sp{local.depth}"
    conn.execute(f"SAVEPOINT {name}")
    local.depth += 1
    try:
        yield conn
    except BaseException as exc:
        try:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
        except Exception:
            raise exc  # noqa: B904 - the body's exception; its __context__ is the failed rollback
        raise
    else:
        conn.execute(f"RELEASE SAVEPOINT {name}")
    finally:
        local.depth -= 1
