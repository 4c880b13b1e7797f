"""Artifacts on any fsspec file system (``s3://bucket/prefix``, ``file:///shared/artifacts``, ``memory://...``):
the same content-addressed layout ``<sha[:2]>/<sha256>`` as the local :class:`~tesla_lab.store.artifacts.ArtifactStore`.

Chosen by ``artifacts:`` in ``tesla.yaml`` (or ``TESLA_ARTIFACTS_URL``), typically with a PostgreSQL store so that
every machine of a team sees the same runs *and* the same files. A write goes to a temporary name next to the
final one and is moved into place once its hash checks (object stores write an object whole anyway); a read checks
the hash. Files that callers need as a path (a checkpoint to resume, a model file) are downloaded once into a local
cache folder (``.tesla/artifacts-cache``), verified.

>>> store = FsArtifactStore("memory://doc/artifacts", cache=__import__("tempfile").mkdtemp())
>>> sha = store.put_bytes(b"hello")
>>> store.get_bytes(sha), sha in store, store.size(sha), list(store) == [sha]
(b'hello', True, 5, True)
>>> store.path(sha).read_bytes()
b'hello'
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from tesla_lab._atomic import atomic_write
from tesla_lab.errors import ConfigError, MissingDependencyError
from tesla_lab.store.artifacts import _CHUNK, _SHA, ArtifactStore, check_sha, sha256_bytes, sha256_file
from tesla_lab.store.db import NotFoundError, StoreError

__all__ = ["FsArtifactStore", "open_artifact_store"]


def open_artifact_store(where: str | os.PathLike[str], cache: str | os.PathLike[str]) -> ArtifactStore:
    """A local :class:`ArtifactStore` for a folder, a :class:`FsArtifactStore` for a URL (``scheme://...``).

    >>> import tempfile
    >>> type(open_artifact_store(tempfile.mkdtemp(), cache=tempfile.mkdtemp())).__name__
    'ArtifactStore'
    """
    text = os.fspath(where)
    if "://" in text:
        return FsArtifactStore(text, cache=cache)
    return ArtifactStore(text)


class FsArtifactStore(ArtifactStore):
    """Content-addressed artifacts under the fsspec URL ``url``; ``cache`` is a local folder for files handed out
    as paths (and for the temporary files of checkpoints)."""

    def __init__(self, url: str, *, cache: str | os.PathLike[str]) -> None:
        try:
            import fsspec
        except ImportError as exc:
            raise MissingDependencyError(f"artifacts at {url} need fsspec: pip install fsspec (and the package of "
                                         "its protocol, e.g. s3fs for s3://)") from exc
        try:
            self.fs, self._base = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise ConfigError(f"artifacts: {url!r} is not a file system fsspec can open ({exc}); use a folder, "
                              "file:///path, s3://bucket/prefix (pip install s3fs), ...") from exc
        self.url = url
        super().__init__(cache)  # root: local folder (cached copies, checkpoint temporary files)

    def _remote(self, sha: str) -> str:
        return f"{self._base.rstrip('/')}/{sha[:2]}/{sha}"

    def exists(self, sha: str) -> bool:
        """True when an artifact with this id is stored."""
        return bool(self.fs.exists(self._remote(check_sha(sha))))

    def __contains__(self, sha: object) -> bool:
        return isinstance(sha, str) and _SHA.match(sha.lower()) is not None and self.exists(sha)

    def size(self, sha: str) -> int:
        """Size of artifact ``sha`` in bytes."""
        sha = check_sha(sha)
        if not self.exists(sha):
            raise self._missing(sha)
        return int(self.fs.size(self._remote(sha)))

    def __iter__(self) -> Iterator[str]:
        """Ids of every stored artifact."""
        if self.fs.exists(self._base):
            yield from sorted(name for name in (p.rsplit("/", 1)[-1] for p in self.fs.find(self._base))
                              if _SHA.match(name))

    def _missing(self, sha: str) -> NotFoundError:
        return NotFoundError(f"no artifact {sha} in {self.url}; it was never stored here or its file was deleted")

    def delete(self, sha: str) -> None:
        """Remove artifact ``sha`` and its cached copy."""
        sha = check_sha(sha)
        if self.exists(sha):
            self.fs.rm(self._remote(sha))
        self._target(sha).unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------------- writes
    def _write(self, sha: str, chunks: Iterable[bytes]) -> None:
        target = self._remote(sha)
        part = f"{target}.part-{uuid.uuid4().hex[:8]}"
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        h = hashlib.sha256()
        try:
            with self.fs.open(part, "wb") as fh:
                for chunk in chunks:
                    h.update(chunk)
                    fh.write(chunk)
            if h.hexdigest() != sha:
                raise StoreError(f"the content changed while it was being stored (expected sha256 {sha}, wrote "
                                 f"{h.hexdigest()}); store it again once nothing writes to the source file")
            self.fs.mv(part, target)
        finally:
            if self.fs.exists(part):
                self.fs.rm(part)

    def _stored(self, sha: str, size: int) -> bool:
        target = self._remote(sha)
        return bool(self.fs.exists(target)) and int(self.fs.size(target)) == size

    # -------------------------------------------------------------------------------------------- reads
    def _read_checked(self, sha: str) -> bytes:
        sha = check_sha(sha)
        if not self.exists(sha):
            raise self._missing(sha)
        data = self.fs.cat_file(self._remote(sha))
        actual = sha256_bytes(data)
        if actual != sha:
            raise self._mismatch(sha, actual)
        return data

    def _mismatch(self, sha: str, actual: str) -> StoreError:
        return StoreError(f"artifact {self._remote(sha)} in {self.url} is corrupted: its bytes hash to {actual}, not "
                          f"{sha}; delete it and store the original content again, or restore it from a backup")

    def verify(self, sha: str) -> None:
        """Raise :class:`StoreError` unless the stored object still hashes to ``sha``."""
        sha = check_sha(sha)
        if not self.exists(sha):
            raise self._missing(sha)
        h = hashlib.sha256()
        with self.fs.open(self._remote(sha), "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        if h.hexdigest() != sha:
            raise self._mismatch(sha, h.hexdigest())

    def path(self, sha: str, *, verify: bool = False) -> Path:
        """A local, verified copy of artifact ``sha`` in the cache folder (downloaded once; read it, never write)."""
        sha = check_sha(sha)
        local = self._target(sha)
        if local.is_file() and (not verify or sha256_file(local) == sha):
            return local
        data = self._read_checked(sha)
        local.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(local, readonly=True, suffix=".part") as fh:
            fh.write(data)
        return local

    def open(self, sha: str) -> IO[bytes]:
        """A binary file object over a verified local copy of artifact ``sha``; close it after use."""
        return open(self.path(sha, verify=True), "rb")

    def __repr__(self) -> str:
        return f"FsArtifactStore({self.url!r})"
