"""Which processes have a store open, so that an unclean close (a killed process) is noticed on the next open.

Each process that opens a store writes a marker ``<store>.sessions/<host>-<pid>`` holding its start time, and
removes it when it exits normally. A marker of this host whose process is gone (or whose pid now belongs to a
process started later: pid reuse) is the trace of an unclean close: the opener then runs ``PRAGMA quick_check``
(see :meth:`tesla_lab.store.db.Database.open_check`) and removes the stale marker.

SQLite in WAL mode does not lose committed data when a process dies, so an unclean close is normally harmless; the
check costs one read of the file and catches the rare damaged page (a failing disk, a bad copy) early, at open,
rather than in the middle of a training run.

>>> import os, tempfile
>>> folder = os.path.join(tempfile.mkdtemp(), "store.db.sessions")
>>> sessions = SessionMarkers(folder)
>>> sessions.register()
>>> sessions.stale()    # this process is alive: nothing stale
[]
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from pathlib import Path

__all__ = ["SessionMarkers", "process_start_time"]

logger = logging.getLogger(__name__)
_REGISTERED: set[str] = set()
_LOCK = threading.Lock()


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started, or None if it does not exist (see :mod:`tesla_lab.store.liveness`).

    >>> process_start_time(os.getpid()) is not None
    True
    """
    from tesla_lab.store.liveness import process_start_time as start_time  # liveness imports db, which imports us

    return start_time(pid)


class SessionMarkers:
    """The marker folder of one store (``<store>.sessions``)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        from tesla_lab.store.liveness import current_host

        self.host = current_host()

    def _name(self, pid: int) -> str:
        return f"{self.host}-{pid}"

    def register(self) -> None:
        """Mark this process as having the store open (once per process; removed at normal exit)."""
        pid = os.getpid()
        marker = self.folder / self._name(pid)
        with _LOCK:
            if str(marker) in _REGISTERED:
                return
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                marker.write_text(repr(process_start_time(pid)), encoding="utf-8")
            except OSError as exc:  # a read-only project: no marker, no check next time (logged)
                logger.debug("cannot write the session marker %s: %s", marker, exc)
                return
            _REGISTERED.add(str(marker))
        atexit.register(self._unregister, marker, pid)

    @staticmethod
    def _unregister(marker: Path, pid: int) -> None:
        if os.getpid() == pid:  # never a forked child removing its parent's marker
            with contextlib.suppress(OSError):
                marker.unlink()

    def stale(self) -> list[Path]:
        """Markers of this host whose process is gone or was replaced (pid reuse)."""
        if not self.folder.is_dir():
            return []
        found = []
        prefix = f"{self.host}-"
        for marker in self.folder.iterdir():
            if not marker.name.startswith(prefix):
                continue  # another host (a network file system): its processes cannot be checked from here
            try:
                pid = int(marker.name[len(prefix):])
                recorded = marker.read_text(encoding="utf-8").strip()
            except (ValueError, OSError):
                found.append(marker)
                continue
            from tesla_lab.store.liveness import process_state

            try:
                started = None if recorded in ("None", "") else float(recorded)
            except ValueError:
                started = None
            if process_state(pid, started) == "gone":
                found.append(marker)
        return found

    def clear(self, markers: list[Path]) -> None:
        """Remove markers (after the store was checked)."""
        for marker in markers:
            with contextlib.suppress(OSError):
                marker.unlink()
