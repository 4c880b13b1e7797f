"""What went wrong with the store file, told so the user can act: SQLite errors classified (locked, corrupt, disk
full or failing, read-only) and turned into :class:`~tesla_lab.errors.StoreError` messages that name the file and the
fix. A full or failing disk never gets the "move the store aside" advice (the file is most likely intact); a
corruption only with a failing ``PRAGMA quick_check``.

>>> import sqlite3
>>> _is_locked(sqlite3.OperationalError("database is locked"))
True
>>> _is_disk_problem(sqlite3.OperationalError("disk I/O error")), _is_corrupt(sqlite3.DatabaseError("disk I/O error"))
(True, False)
>>> _human(3 * 2**20)
'3.0 MiB'
"""

from __future__ import annotations

import errno
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from tesla_lab.errors import StoreError

_CORRUPT = ("not a database", "malformed", "corrupt", "encrypted")
# not corruption: the file may be fine, the disk is full or failing (SQLITE_FULL / SQLITE_IOERR)
_DISK_FULL = ("database or disk is full", "disk is full", "no space left")
_IO_ERROR = ("disk i/o error",)


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _is_corrupt(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(word in text for word in _CORRUPT)


def _is_disk_problem(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(word in text for word in _DISK_FULL + _IO_ERROR)


def is_disk_full(exc: BaseException | None) -> bool:
    """A full disk or quota anywhere in ``exc``'s chain: ENOSPC/EDQUOT (pyarrow gives only the errno's text) or
    SQLite's SQLITE_FULL.

    >>> is_disk_full(RuntimeError("x")), is_disk_full(OSError(28, "No space left on device"))
    (False, True)
    """
    while exc is not None:
        text = str(exc).lower()
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, (OSError, sqlite3.DatabaseError)) and (
                any(word in text for word in _DISK_FULL) or "disk quota exceeded" in text):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_error(folder: Path, exc: BaseException, *, outcome: str, then: str) -> StoreError:
    """The one message for a full disk: where, how much is free, what happened (``outcome``) and what to do
    (free space, then ``then``).

    >>> print(disk_full_error(Path("/nonexistent/p"), OSError(28, "No space left on device"),
    ...                       outcome="nothing was stored", then="load the data again"))
    the disk holding /nonexistent/p is full ([Errno 28] No space left on device); nothing was stored. Free some \
space on that disk (or move the project to a larger one), then load the data again
    """
    free = _free_bytes(folder)
    where = f"{folder} ({_human(free)} free)" if free is not None else str(folder)
    return StoreError(f"the disk holding {where} is full ({exc}); {outcome}. Free some space on that disk (or move the "
                      f"project to a larger one), then {then}")


def write_error(folder: Path, exc: BaseException, *, outcome: str, then: str) -> StoreError:
    """A failed file write in ``folder``: :func:`disk_full_error` for a full disk, else the OS's reason (a file-size
    limit, permissions, an I/O error) with the same shape.

    >>> print(write_error(Path("/nonexistent/p"), OSError(27, "File too large"), outcome="nothing was stored",
    ...                   then="store it again"))
    could not write in /nonexistent/p ([Errno 27] File too large); nothing was stored. Check that the disk has \
space, the folder is writable and no file-size limit applies (ulimit -f), then store it again
    """
    if is_disk_full(exc):
        return disk_full_error(folder, exc, outcome=outcome, then=then)
    return StoreError(f"could not write in {folder} ({exc}); {outcome}. Check that the disk has space, the folder is "
                      f"writable and no file-size limit applies (ulimit -f), then {then}")


def os_error_in(exc: BaseException | None) -> OSError | None:
    """The first :class:`OSError` with an errno in ``exc``'s chain (pyarrow wraps them), else None.

    >>> os_error_in(RuntimeError("x")) is None, os_error_in(OSError(27, "File too large")).errno
    (True, 27)
    """
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno is not None:
            return exc
        if isinstance(exc, OSError) and re.search(r"\[errno \d+\]", str(exc), re.IGNORECASE):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


class _StoreErrors:
    """Mixin of :class:`~tesla_lab.store.db.Database`: its SQLite errors as :class:`StoreError` with the fix."""

    path: Path  # the store file
    timeout: float  # seconds a write waits for the lock
    quick_check: Any  # Database.quick_check: 'ok' or SQLite's list of problems

    def _disk_error(self, exc: sqlite3.Error) -> StoreError:
        """A full or failing disk: the store is most likely intact, so never advise moving it aside."""
        free = _free_bytes(self.path.parent)
        where = f"{self.path.parent} ({_human(free)} free)" if free is not None else str(self.path.parent)
        if is_disk_full(exc) or (free is not None and free < 16 * 2**20):
            return disk_full_error(self.path.parent, exc, outcome="the change was rolled back and nothing stored "
                                   "was lost", then="run the command again; do NOT delete or move store.db: it is "
                                   "not corrupt")
        return StoreError(
            f"the disk holding {where} reported an I/O error ({exc}); the change was rolled back. Check that the "
            "disk is writable, mounted and healthy (dmesg), then run the command again; `tesla doctor` checks the "
            "store without changing it"
        )

    def _corrupt_error(self, detail: str, *, verify: bool = False) -> StoreError:
        """Recovery advice only for a *verified* corruption: with ``verify``, ``PRAGMA quick_check`` must fail."""
        if verify:
            report = self.quick_check()
            if report == "ok":
                return StoreError(f"SQLite error on {self.path}: {detail}; `PRAGMA quick_check` finds the file "
                                  "intact, so it was not changed or moved: retry, and if it keeps happening run "
                                  "`tesla doctor`")
            detail = f"{detail}; quick_check: {report.splitlines()[0][:200]}"
        return StoreError(
            f"{self.path} is not a readable TESLA store ({detail}); nothing was written to it. To recover, restore "
            f"it from a backup, or move it aside (e.g. `mv {self.path} {self.path}.broken`, together with any "
            f"{self.path.name}-wal and {self.path.name}-shm files next to it) so that a new, empty store is created "
            f"next time; the other files in {self.path.parent} (artifacts, datasets) are not affected"
        )

    def _read_only_error(self, what: str) -> StoreError:
        return StoreError(
            f"{what}: the project folder {self.path.parent.parent} is read-only for this user (store {self.path}). "
            "Commands that only read (tesla runs, tesla models, tesla doctor) work; to train, load data or change "
            f"the registry, make it writable (e.g. chmod -R u+w {self.path.parent}) or copy the project elsewhere"
        )

    def _error(self, exc: sqlite3.Error) -> StoreError:
        if "readonly" in str(exc).lower() or "read-only" in str(exc).lower():
            return self._read_only_error(f"cannot write ({exc})")
        if _is_disk_problem(exc):
            return self._disk_error(exc)
        if _is_corrupt(exc):
            return self._corrupt_error(str(exc), verify="not a database" not in str(exc).lower())
        if _is_locked(exc):
            return StoreError(
                f"{self.path} stayed locked by another writer for more than {self.timeout:g} s ({exc}); a "
                "long transaction in another process holds it: wait and retry, or open with a larger timeout="
            )
        return StoreError(f"SQLite error on {self.path}: {exc}")
