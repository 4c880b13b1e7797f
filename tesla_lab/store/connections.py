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

import os
import threading
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
