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
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_path", "atomic_write", "fsync_dir"]


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (skipped where folders cannot be opened, e.g. Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | Path, *, readonly: bool = False, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; when the block succeeds its content replaces ``target``.

    The temporary name starts with ``.`` and ends in ``suffix``, so it never matches the target's naming pattern.
    ``readonly`` makes the final file read-only (immutable artifacts). On error the temporary file is removed and
    ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
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
