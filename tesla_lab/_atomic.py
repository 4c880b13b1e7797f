"""Atomic file writes: write a temporary file next to the target, fsync it, rename it over the target, fsync the
folder. A crash at any point leaves either the old file or the new one, never half of one.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
>>> with atomic_write(target) as fh:
...     _ = fh.write(b"hello")
>>> target.read_bytes()
b'hello'
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_path", "atomic_write", "fsync_dir", "temp_dir_beside"]


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (skipped where folders cannot be opened, e.g. Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_name(target: Path, suffix: str) -> Path:
    return target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"


def _new_temp_file(target: Path, suffix: str) -> Path:
    """Create an empty temporary file beside ``target`` with the umask's permissions (``mkstemp`` would make it 0600,
    and the rename would keep that: an export or a report nobody else on the machine could read)."""
    for _ in range(100):
        tmp = _temp_name(target, suffix)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {target}")


def temp_dir_beside(target: str | Path, suffix: str = ".tmp") -> Path:
    """Create an empty temporary folder beside ``target`` (same file system: it can be renamed onto ``target``).

    Its permissions follow the umask like ``mkdir``'s (``tempfile.mkdtemp`` would make it 0700).

    >>> import tempfile, pathlib
    >>> tmp = temp_dir_beside(pathlib.Path(tempfile.mkdtemp()) / "export")
    >>> tmp.name.startswith(".export.") and tmp.is_dir()
    True
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = _temp_name(target, suffix)
        try:
            os.mkdir(tmp, 0o777)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_path(target: str | Path, *, readonly: bool = False, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; when the block succeeds its content replaces ``target``.

    The temporary name starts with ``.`` and ends in ``suffix``, so it never matches the target's naming pattern.
    ``readonly`` makes the final file read-only (immutable artifacts); otherwise its permissions follow the umask, like
    a plain ``open(target, "w")``. On error the temporary file is removed and
    ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_file(target, suffix)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if readonly:
            os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_write(target: str | Path, *, readonly: bool = False, suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Like :func:`atomic_path`, yielding the temporary file opened for binary writing."""
    with atomic_path(target, readonly=readonly, suffix=suffix) as tmp, open(tmp, "wb") as fh:
        yield fh
        fh.flush()
