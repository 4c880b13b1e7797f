"""Content-addressed artifact files: ``.tesla/artifacts/<sha[:2]>/<sha256>``.

A file is named by the SHA-256 of its bytes, so identical content is stored once and a name can never point to
other content. Writes go to a temporary file in the final folder, are fsynced and renamed with ``os.replace``
(atomic: a crash leaves either nothing or the whole file, never a partial one under an artifact name). Reads
check the hash and raise :class:`~tesla_lab.errors.StoreError` on a mismatch. Torch objects are loaded with
``weights_only=True`` (opening an artifact never runs code).

>>> import tempfile
>>> store = ArtifactStore(tempfile.mkdtemp())
>>> sha = store.put_bytes(b"hello")
>>> sha[:12], store.put_bytes(b"hello") == sha, store.get_bytes(sha)
('2cf24dba5fb0', True, b'hello')
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from tesla_lab._atomic import atomic_write
from tesla_lab.errors import ConfigError
from tesla_lab.store.db import NotFoundError, StoreError
from tesla_lab.store.sqlite_errors import write_error

__all__ = ["ArtifactStore", "sha256_bytes", "sha256_file", "check_sha"]

_SHA = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``.

    >>> sha256_bytes(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "f")
    >>> _ = open(path, "wb").write(b"hello")
    >>> sha256_file(path) == sha256_bytes(b"hello")
    True
    """
    h = hashlib.sha256()
    for chunk in _chunks(Path(path)):
        h.update(chunk)
    return h.hexdigest()


def check_sha(sha: Any) -> str:
    """Validate an artifact id (64 hex digits) and return it in lower case.

    >>> check_sha("AB" * 32)[:4]
    'abab'
    >>> check_sha("xyz")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: an artifact id is a 64-digit hex SHA-256; got 'xyz'
    """
    if not isinstance(sha, str) or not _SHA.match(sha.lower()):
        raise ConfigError(f"an artifact id is a 64-digit hex SHA-256; got {sha!r}")
    return sha.lower()


class ArtifactStore:
    """Immutable, content-addressed files under ``root`` (a project's ``.tesla/artifacts``).

    >>> import tempfile, torch
    >>> store = ArtifactStore(tempfile.mkdtemp())
    >>> sha = store.put_torch({"w": torch.ones(2)})
    >>> store.load_torch(sha)["w"]
    tensor([1., 1.])
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------------------------------- paths
    def _target(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        """True when an artifact with this id is stored."""
        return self._target(check_sha(sha)).is_file()

    def __contains__(self, sha: object) -> bool:
        return isinstance(sha, str) and _SHA.match(sha.lower()) is not None and self._target(sha.lower()).is_file()

    def path(self, sha: str, *, verify: bool = False) -> Path:
        """The file of artifact ``sha`` (read it, never write it); ``verify=True`` checks its hash first."""
        sha = check_sha(sha)
        target = self._target(sha)
        if not target.is_file():
            raise NotFoundError(f"no artifact {sha} in {self.root}; it was never stored here or its file was deleted")
        if verify:
            self.verify(sha)
        return target

    def size(self, sha: str) -> int:
        """Size of artifact ``sha`` in bytes."""
        return self.path(sha).stat().st_size

    def __iter__(self) -> Iterator[str]:
        """Ids of every stored artifact."""
        if self.root.is_dir():
            for sub in sorted(self.root.iterdir()):
                if sub.is_dir() and len(sub.name) == 2:
                    yield from (p.name for p in sorted(sub.iterdir()) if _SHA.match(p.name))

    def delete(self, sha: str) -> None:
        """Remove the file of artifact ``sha`` (nothing when it is not there); the caller checked that no row of
        the store references it."""
        self._target(check_sha(sha)).unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------------- writes
    def _write(self, sha: str, chunks: Iterable[bytes]) -> None:
        """Write ``chunks`` atomically as artifact ``sha``; raise when their hash is not ``sha``."""
        target = self._target(sha)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target, readonly=True, suffix=".part") as fh:  # artifacts are immutable
                h = hashlib.sha256()
                for chunk in chunks:
                    h.update(chunk)
                    fh.write(chunk)
                if h.hexdigest() != sha:  # inside the block: the temporary file is removed, never renamed
                    raise StoreError(f"the content changed while it was being stored (expected sha256 {sha}, wrote "
                                     f"{h.hexdigest()}); store it again once nothing writes to the source file")
        except OSError as exc:  # a full disk, a file-size limit, a read-only folder: nothing half-written stays
            raise write_error(target.parent, exc, outcome="nothing was stored (the temporary file was removed)",
                              then="store it again") from exc

    def _stored(self, sha: str, size: int) -> bool:
        target = self._target(sha)
        # same name and size: already stored (a truncated or missing file is rewritten)
        return target.is_file() and target.stat().st_size == size

    def put_bytes(self, data: bytes | bytearray | memoryview) -> str:
        """Store ``data``; return its id (SHA-256). Identical content is stored once."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ConfigError(f"put_bytes takes bytes; got {type(data).__name__} (use put_file for a path, "
                              "put_torch for tensors / state dicts)")
        data = bytes(data)
        sha = sha256_bytes(data)
        if not self._stored(sha, len(data)):
            self._write(sha, [data])
        return sha

    def put_file(self, path: str | os.PathLike[str]) -> str:
        """Store a copy of the file at ``path``; return its id."""
        path = Path(path)
        if not path.is_file():
            what = "a directory (archive it first, e.g. shutil.make_archive)" if path.is_dir() else "missing"
            raise ConfigError(f"cannot store {path}: it is {what}; pass a path to a file")
        sha = sha256_file(path)
        if not self._stored(sha, path.stat().st_size):
            self._write(sha, _chunks(path))  # hashed again while copying: a file edited meanwhile is refused
        return sha

    def put_torch(self, obj: Any) -> str:
        """``torch.save`` ``obj`` (tensors, state dicts, plain containers) and store the bytes; return the id.

        Whole ``nn.Module`` objects are refused: they pickle code and cannot be loaded with
        ``weights_only=True``; store ``module.state_dict()``.
        """
        import torch  # lazy: the store itself does not need torch

        if isinstance(obj, torch.nn.Module):
            raise ConfigError(f"put_torch got a whole {type(obj).__name__} module; store model.state_dict() "
                              "instead (modules pickle code and cannot be loaded with weights_only=True)")
        buf = io.BytesIO()
        torch.save(obj, buf)
        return self.put_bytes(buf.getvalue())

    # -------------------------------------------------------------------------------------------- reads
    def _read_checked(self, sha: str) -> bytes:
        sha = check_sha(sha)
        data = self.path(sha).read_bytes()
        actual = sha256_bytes(data)
        if actual != sha:
            raise self._mismatch(sha, actual)
        return data

    def _mismatch(self, sha: str, actual: str) -> StoreError:
        return StoreError(
            f"artifact {self._target(sha)} is corrupted: its bytes hash to {actual}, not {sha}; delete the file "
            "and store the original content again, or restore the file from a backup"
        )

    def verify(self, sha: str) -> None:
        """Raise :class:`StoreError` unless the stored file still hashes to ``sha``."""
        sha = check_sha(sha)
        actual = sha256_file(self.path(sha))
        if actual != sha:
            raise self._mismatch(sha, actual)

    def get_bytes(self, sha: str) -> bytes:
        """The bytes of artifact ``sha``, after checking their hash."""
        return self._read_checked(sha)

    def open(self, sha: str) -> IO[bytes]:
        """A binary file object over artifact ``sha`` (its hash is checked first); close it after use."""
        self.verify(sha)
        return open(self.path(sha), "rb")

    def load_torch(self, sha: str, map_location: Any = "cpu") -> Any:
        """``torch.load`` artifact ``sha`` with ``weights_only=True`` (hash checked first)."""
        import torch

        data = self._read_checked(sha)
        try:
            return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
        except Exception as exc:  # not a torch file, or it pickles code weights_only refuses
            raise StoreError(f"artifact {sha} is not loadable with torch.load(weights_only=True): "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"
