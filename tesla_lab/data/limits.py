"""Limits checked *before* a data file is parsed, so a hostile or broken file is refused in milliseconds instead of
freezing the process or filling its memory.

* **Compressed files** are decompressed as a stream with a cap on the expanded size (a 189 KiB ``.csv.gz`` can
  expand to 100 MB and more: a decompression bomb); a truncated or corrupt archive is a clear error naming the file.
* **Columns and cells**: a header or row with more than ``max_columns`` fields, or more than ``max_cells`` fields in
  all, is refused: the parsers' cost grows with the width of the widest row (one 2M-field line took minutes and
  hundreds of MB), and no model trains on 100,000 columns typed into a CSV.

Defaults come from :class:`ReadLimits`; each can be raised for one call (``limits=ReadLimits(max_columns=50_000)``)
or for the process with the environment variables ``TESLA_MAX_COLUMNS``, ``TESLA_MAX_CELLS`` and
``TESLA_MAX_EXPANDED_MB``.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "wide.csv"
>>> _ = p.write_text(",".join(f"c{i}" for i in range(20)) + "\\n")
>>> check_text_table(p, p.read_bytes(), ReadLimits(max_columns=10))
Traceback (most recent call last):
...
tesla_lab.errors.DataError: '...wide.csv' has 20 fields in line 1, more than the 10 columns allowed; ...
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tesla_lab.errors import DataError

__all__ = ["ReadLimits", "read_capped", "check_text_table", "download_capped"]

_CHUNK = 1 << 20
try:  # optional: pandas reads .zst with it too
    from zstandard import ZstdError as _ZstdError
except ImportError:  # pragma: no cover - depends on the environment
    _ZstdError = OSError
# what a truncated or corrupt archive raises while it is read
_DAMAGED = (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, tarfile.TarError, _ZstdError, ValueError)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise DataError(f"${name} must be a whole number; got {value!r}") from exc


@dataclass(frozen=True)
class ReadLimits:
    """How big a data file may be (see the module docstring for the environment overrides)."""

    max_columns: int = field(default_factory=lambda: _env_int("TESLA_MAX_COLUMNS", 10_000))
    max_cells: int = field(default_factory=lambda: _env_int("TESLA_MAX_CELLS", 100_000_000))
    max_expanded_bytes: int = field(default_factory=lambda: _env_int("TESLA_MAX_EXPANDED_MB", 200) * 2**20)


def _single_member(path: Path, names: list[str]) -> None:
    if len(names) != 1:
        raise DataError(f"'{path}' holds {len(names)} files; a data archive must hold exactly one")


def _opener(path: Path):  # noqa: ANN202
    name = path.name.lower()
    suffix = path.suffix.lower()
    if name.endswith((".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz")):
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed with the member's stream
        members = [m for m in tar.getmembers() if m.isfile()]
        _single_member(path, [m.name for m in members])
        return tar.extractfile(members[0])
    if suffix == ".zst":
        try:
            import zstandard
        except ImportError as exc:
            raise DataError(f"'{path}' is compressed with Zstandard, which needs the zstandard package (pip install "
                            "zstandard); or decompress it first (unzstd) and load the plain file") from exc
        return zstandard.ZstdDecompressor().stream_reader(path.open("rb"), closefd=True)
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if not n.endswith("/")]
        _single_member(path, names)
        return archive.open(names[0])
    return None


def read_capped(path: Path, limits: ReadLimits | None = None) -> bytes | None:
    """The decompressed bytes of a ``.gz``/``.bz2``/``.xz``/``.zip``/``.zst``/``.tar`` file (None for an uncompressed
    file), read as a stream and refused past ``max_expanded_bytes``; a damaged archive raises :class:`DataError`
    naming the file. Every loader reads compressed files through this (never a library's own decompression, which
    has no cap).

    >>> import gzip, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.json.gz"
    >>> _ = p.write_bytes(gzip.compress(b"[]" + b" " * 2**21))
    >>> read_capped(p, ReadLimits(max_expanded_bytes=2**20))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: '...t.json.gz' expands to more than 1 MB when decompressed (... bytes compressed); ...
    """
    limits = limits or ReadLimits()
    try:
        stream = _opener(path)
        if stream is None:
            return None
        out = io.BytesIO()
        with stream:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
                if out.tell() > limits.max_expanded_bytes:
                    raise DataError(
                        f"'{path}' expands to more than {limits.max_expanded_bytes / 2**20:g} MB when decompressed "
                        f"({path.stat().st_size:,} bytes compressed); refused to protect memory. If the data is "
                        "really that large, raise the limit (TESLA_MAX_EXPANDED_MB) or load it decompressed")
        return out.getvalue()
    except DataError:
        raise
    except _DAMAGED as exc:
        raise DataError(f"'{path}' is not a readable {path.suffix} archive ({type(exc).__name__}: {exc}); it is "
                        "truncated or corrupt: download or copy it again") from exc


def download_capped(url: str, dest: Path, limits: ReadLimits | None = None, *, timeout: float = 60.0) -> Path:
    """Download ``url`` (a user-requested HTTP(S) file) to ``dest`` as a stream, refused past ``max_expanded_bytes``
    (a compressed file is never larger than what it expands to); errors name the URL.

    >>> download_capped("http://127.0.0.1:9/x.csv.gz", Path("x.csv.gz"))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: cannot download 'http://127.0.0.1:9/x.csv.gz' (...); check the URL and the network
    """
    import urllib.error
    import urllib.request

    limits = limits or ReadLimits()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, dest.open("wb") as out:  # noqa: S310
            size = 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > limits.max_expanded_bytes:
                    raise DataError(f"'{url}' is larger than {limits.max_expanded_bytes / 2**20:g} MB; refused to "
                                    "protect memory: download it yourself and load a subset, or raise the limit "
                                    "(TESLA_MAX_EXPANDED_MB)")
                out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(f"cannot download '{url}' ({exc}); check the URL and the network") from exc
    return dest


def check_text_table(path: Path, data: bytes | None, limits: ReadLimits | None = None, sep: str = ",") -> None:
    """Refuse a delimited text table whose widest line has more than ``max_columns`` fields, or with more than
    ``max_cells`` fields in all, before any parser sees it (``data``: the file's bytes if already in memory)."""
    limits = limits or ReadLimits()
    delimiter = (sep or ",").encode()[:1] or b","
    # a line with more than max_columns fields has at least max_columns bytes: only such lines are counted
    long_line = re.compile(rb"[^\n]{%d,}" % max(limits.max_columns, 1))
    header_fields = None
    lines = 0
    number = 1  # line number of the start of the current chunk
    tail = b""
    source = io.BytesIO(data) if data is not None else path.open("rb")
    with source:
        while True:
            chunk = source.read(_CHUNK)
            block = tail + chunk
            if not chunk:
                cut = len(block)
            else:
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # one line longer than the chunk: keep reading, it is checked as a whole
                    if len(block) > limits.max_columns * 64:
                        fields = block.count(delimiter) + 1
                        if fields > limits.max_columns:
                            _too_wide(path, fields, number, limits, at_least=True)
                    tail = block
                    continue
            body, tail = block[:cut], block[cut:]
            if header_fields is None and body:
                header_fields = body.split(b"\n", 1)[0].count(delimiter) + 1
            for match in long_line.finditer(body):
                fields = match.group().count(delimiter) + 1
                if fields > limits.max_columns:
                    _too_wide(path, fields, number + body.count(b"\n", 0, match.start()), limits)
            newlines = body.count(b"\n")
            lines += newlines + (1 if not chunk and body and not body.endswith(b"\n") else 0)
            number += newlines
            if not chunk:
                break
    if header_fields is not None and header_fields * max(lines - 1, 0) > limits.max_cells:
        raise DataError(f"'{path}' has about {lines - 1:,} rows × {header_fields:,} columns, more than the "
                        f"{limits.max_cells:,} cells allowed; load a subset of the columns or rows, or raise the limit "
                        "(TESLA_MAX_CELLS)")


def _too_wide(path: Path, fields: int, line: int, limits: ReadLimits, at_least: bool = False) -> None:
    count = f"{'at least ' if at_least else ''}{fields:,}"
    raise DataError(f"'{path}' has {count} fields in line {line}, more than the {limits.max_columns:,} columns "
                    "allowed; check the delimiter (sep=) and that line, or raise the limit (TESLA_MAX_COLUMNS) if the "
                    "table really is that wide")
