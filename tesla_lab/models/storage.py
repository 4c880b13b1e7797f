"""Where model files go: a folder, or a project's content-addressed artifact store.

A *destination* is a folder path, an :class:`~tesla_lab.store.ArtifactStore`, a :class:`~tesla_lab.store.Project`
(its artifact store) or a :class:`~tesla_lab.store.Run` (the file is also recorded as one of the run's artifacts).
:func:`put` returns a *reference*: the file name inside a folder, the SHA-256 artifact id inside a store.
:func:`get` reads it back; from a store the bytes are hash-checked.

The store types are not imported (this package sits below ``store``); they are recognised by their methods.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> ref = put(folder, "note.txt", b"hello")
>>> ref, get(folder, ref)
('note.txt', b'hello')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tesla_lab._atomic import atomic_write
from tesla_lab.errors import ConfigError, DataError

__all__ = ["put", "get", "is_folder", "artifact_store"]


def is_folder(target: Any) -> bool:
    """True when ``target`` names a folder on disk (a ``str`` or path), False for store objects.

    >>> is_folder("models/m1"), is_folder(object())
    (True, False)
    """
    return isinstance(target, (str, os.PathLike))


def artifact_store(target: Any) -> Any:
    """The artifact store behind ``target`` (an ArtifactStore, a Project or a Run); ConfigError for anything else.

    >>> artifact_store(3)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: expected a folder path, an ArtifactStore, a Project or a Run; got int
    """
    if hasattr(target, "put_bytes") and hasattr(target, "get_bytes"):
        return target
    for attr in ("artifacts", "artifact_store"):  # Project.artifacts, Run.artifact_store
        store = getattr(target, attr, None)
        if hasattr(store, "put_bytes") and hasattr(store, "get_bytes"):
            return store
    raise ConfigError(f"expected a folder path, an ArtifactStore, a Project or a Run; got {type(target).__name__}")


def _plain_name(ref: str) -> str:
    # a reference read from a manifest must not climb out of its folder ("../../etc/passwd")
    if not isinstance(ref, str) or not ref or Path(ref).name != ref or ref in (".", ".."):
        raise DataError(f"a file reference inside a model folder must be a plain file name; got {ref!r}")
    return ref


def put(dest: Any, name: str, data: bytes, kind: str = "file") -> str:
    """Store ``data`` as ``name`` in ``dest`` and return its reference (file name or artifact id).

    In a folder the file is written atomically (a crash never leaves half a file).
    """
    if is_folder(dest):
        with atomic_write(Path(dest) / _plain_name(name)) as fh:
            fh.write(data)
        return name
    if hasattr(dest, "log_artifact") and hasattr(dest, "artifact_store"):  # a Run: record it under its name
        return str(dest.log_artifact(name, data, kind=kind))
    return str(artifact_store(dest).put_bytes(data))


def get(source: Any, ref: str) -> bytes:
    """The bytes behind ``ref`` in ``source`` (hash-checked when ``source`` is a store).

    >>> get("models", "../secrets")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: a file reference inside a model folder must be a plain file name; got '../secrets'
    """
    if is_folder(source):
        path = Path(source) / _plain_name(ref)
        if not path.is_file():
            raise DataError(f"{path} is missing; the model folder {source} is incomplete (save it again)")
        return path.read_bytes()
    return bytes(artifact_store(source).get_bytes(ref))
