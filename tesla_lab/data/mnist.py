"""IDX files (the MNIST / Fashion-MNIST format): a reader, a writer and the standard MNIST file pair loader.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian uint32 sizes,
then the values, big-endian, row-major. Files may be gzip-compressed (``.gz``).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x-idx2-ubyte.gz"
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path)
array([[0, 1, 2],
       [3, 4, 5]], dtype=uint8)
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Literal

import numpy as np

from tesla_lab.errors import ConfigError, DataError

__all__ = ["read_idx", "write_idx", "load_mnist", "mnist_files"]

# IDX type code -> big-endian NumPy dtype
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): code for code, dt in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise DataError(f"IDX file '{path}' {what}; check the path")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:  # by content, not name: downloads are often renamed
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"IDX file '{path}' is a damaged gzip archive ({exc}); download it again") from exc
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip) into an array in native byte order, checking header and length.

    >>> read_idx("missing-images-idx3-ubyte")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: IDX file 'missing-images-idx3-ubyte' not found; check the path
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"IDX file '{path}' is truncated: {len(raw)} byte(s), shorter than the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"'{path}' is not an IDX file: bad magic number 0x{raw[:4].hex()} (the first two bytes must be 0x0000); "
            "pass an MNIST-style *-idx?-ubyte file"
        )
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        raise DataError(
            f"IDX file '{path}' has unknown data type code 0x{code:02x}; valid codes are "
            f"{', '.join(f'0x{c:02x}' for c in _DTYPES)}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"IDX file '{path}' is truncated inside its header ({len(raw)} of {header} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(raw) - header
    if body != expected:
        problem = "truncated" if body < expected else "longer than its header says"
        raise DataError(
            f"IDX file '{path}' is {problem}: shape {shape} needs {expected} data bytes, the file has {body}; "
            "download it again"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # copy: writable and native byte order


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in ``.gz``).

    >>> write_idx("x.idx", np.zeros(2, dtype=np.int64))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: IDX cannot store dtype int64; convert first, e.g. array.astype(np.int32) \
(IDX types: uint8, int8, int16, int32, float32, float64)
    """
    array = np.asarray(array)
    code = _CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        kinds = ", ".join(str(dt.newbyteorder("=")) for dt in _DTYPES.values())
        fix = "array.astype(np.int32)" if array.dtype.kind in "iub" else "array.astype(np.float32)"
        raise ConfigError(f"IDX cannot store dtype {array.dtype}; convert first, e.g. {fix} (IDX types: {kinds})")
    if not 1 <= array.ndim <= 255:
        raise ConfigError(f"IDX stores arrays of 1 to 255 dimensions; got a {array.ndim}-d array")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def mnist_files(
    directory: str | os.PathLike[str], kind: Literal["train", "t10k", "test"] = "train"
) -> tuple[Path, Path]:
    """Find the images and labels files of one MNIST split in ``directory`` (standard or dotted names, raw or .gz).

    >>> mnist_files(".", kind="val")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown MNIST split 'val'; choose 'train' or 't10k' (alias 'test')
    """
    if kind not in ("train", "t10k", "test"):
        raise ConfigError(f"unknown MNIST split {kind!r}; choose 'train' or 't10k' (alias 'test')")
    prefix = "t10k" if kind == "test" else kind
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"MNIST directory '{directory}' not found; check the path")
    found = []
    for part, nd in (("images", 3), ("labels", 1)):
        names = [f"{prefix}-{part}{sep}idx{nd}-ubyte{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
        hit = next((directory / n for n in names if (directory / n).is_file()), None)
        if hit is None:
            raise DataError(
                f"no MNIST {part} file for split {prefix!r} in '{directory}': looked for {', '.join(names)}; "
                "download the four files from https://yann.lecun.com/exdb/mnist/ (or Fashion-MNIST) into it"
            )
        found.append(hit)
    return found[0], found[1]


def load_mnist(
    directory: str | os.PathLike[str], kind: Literal["train", "t10k", "test"] = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Load one MNIST split: ``images`` (N, 28, 28), uint8 for MNIST, and ``labels`` int64 (N,).

    Works for any IDX image/label pair of that layout (Fashion-MNIST, KMNIST).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> write_idx(d / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    >>> write_idx(d / "t10k-labels-idx1-ubyte.gz", np.array([7, 2], np.uint8))
    >>> images, labels = load_mnist(d, kind="t10k")
    >>> images.shape, labels.tolist()
    ((2, 28, 28), [7, 2])
    """
    images_path, labels_path = mnist_files(directory, kind)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"MNIST images file '{images_path}' holds shape {images.shape}; expected (N, rows, cols)")
    if labels.ndim != 1:
        raise DataError(f"MNIST labels file '{labels_path}' holds shape {labels.shape}; expected (N,)")
    if len(images) != len(labels):
        raise DataError(
            f"MNIST files disagree: '{images_path}' has {len(images)} images but '{labels_path}' has "
            f"{len(labels)} labels; use the images and labels of the same split"
        )
    return images, labels.astype(np.int64)
