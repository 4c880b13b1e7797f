"""MNIST handwritten digits, Keras' way: ``(x_train, y_train), (x_test, y_test) = mnist.load_data()``.

Returns NumPy ``uint8`` arrays: images ``(60000, 28, 28)`` / ``(10000, 28, 28)`` with pixels 0..255 (scale them,
e.g. ``x / 255``, before training) and labels ``(N,)`` 0..9. The four IDX files are read from the cache
(``~/.tesla/datasets/mnist``, root moved by ``TESLA_DATA_DIR``) and downloaded there, SHA-256 checked, when
missing. ``BASE_URL`` (or ``TESLA_MNIST_MIRROR``, or ``load_data(url=...)``) names the mirror.

>>> sorted(FILES)[:2]
['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tesla_lab.data.mnist import load_mnist
from tesla_lab.datasets.cache import dataset_folder, fetch_files
from tesla_lab.errors import DataError

__all__ = ["load_data", "BASE_URL", "MIRROR_ENV", "FILES"]

#: the mirror TensorFlow uses (the original yann.lecun.com page no longer serves the files reliably)
BASE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
#: environment variable naming another mirror (a URL folder holding the four files)
MIRROR_ENV = "TESLA_MNIST_MIRROR"
#: the published SHA-256 of each file
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def load_idx_dataset(dataset: str, folder: Path, files: Mapping[str, str], base_url: str, mirror_env: str,
                     ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fetch (if needed) and read the train/t10k IDX pairs in ``folder`` as Keras does: uint8 images and labels."""
    fetch_files(dataset, files, folder, base_url, mirror_env=mirror_env)
    splits = []
    for kind in ("train", "t10k"):
        images, labels = load_mnist(folder, kind=kind)  # type: ignore[arg-type]
        if labels.size and (labels.min() < 0 or labels.max() > 255):
            raise DataError(f"{dataset} labels in {folder} are outside 0..255 (min {labels.min()}, max "
                            f"{labels.max()}); the labels file is not a {dataset} labels file")
        splits.append((images, labels.astype(np.uint8)))
    return splits[0], splits[1]


def load_data(path: str | os.PathLike[str] | None = None, *, url: str | None = None,
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` of MNIST as uint8 NumPy arrays (Keras' ``mnist.load_data``).

    Args:
        path: folder of the four IDX files; relative to the cache root (default ``'mnist'``), or absolute.
        url: mirror to download missing files from (default ``$TESLA_MNIST_MIRROR``, else :data:`BASE_URL`).

    Raises :class:`~tesla_lab.datasets.DownloadError` naming the cache folder and the files to place there by hand
    when a file is missing and cannot be downloaded, :class:`~tesla_lab.datasets.ChecksumError` when a download
    does not match its published SHA-256.

    >>> import tempfile
    >>> load_data(tempfile.mkdtemp(), url="http://127.0.0.1:9/")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DownloadError: cannot download MNIST file train-images-idx3-ubyte.gz from ...
    """
    base = url or os.environ.get(MIRROR_ENV) or BASE_URL
    return load_idx_dataset("MNIST", dataset_folder(path, "mnist"), FILES, base, MIRROR_ENV)
