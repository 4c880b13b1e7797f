"""Fashion-MNIST (Zalando's clothing images), Keras' way: ``(x_train, y_train), (x_test, y_test) = load_data()``.

Same layout as MNIST: uint8 images ``(N, 28, 28)`` 0..255 and uint8 labels 0..9 (:data:`CLASS_NAMES`), cached in
``~/.tesla/datasets/fashion-mnist`` (root moved by ``TESLA_DATA_DIR``), downloaded with SHA-256 checks when
missing from :data:`BASE_URL` (or ``TESLA_FASHION_MNIST_MIRROR``, or ``load_data(url=...)``).

>>> CLASS_NAMES[9]
'Ankle boot'
"""

from __future__ import annotations

import os

import numpy as np

from tesla_lab.datasets.cache import dataset_folder
from tesla_lab.datasets.mnist import load_idx_dataset

__all__ = ["load_data", "BASE_URL", "MIRROR_ENV", "FILES", "CLASS_NAMES"]

#: Zalando's own bucket (its TLS endpoint)
BASE_URL = "https://fashion-mnist.s3.eu-central-1.amazonaws.com/"
MIRROR_ENV = "TESLA_FASHION_MNIST_MIRROR"
#: the published SHA-256 of each file (github.com/zalandoresearch/fashion-mnist)
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")


def load_data(path: str | os.PathLike[str] | None = None, *, url: str | None = None,
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` of Fashion-MNIST as uint8 NumPy arrays (Keras' signature).

    ``path``: folder of the four IDX files, relative to the cache root (default ``'fashion-mnist'``) or absolute;
    ``url``: mirror for missing files. Errors as :func:`tesla_lab.datasets.mnist.load_data`.

    >>> import tempfile
    >>> load_data(tempfile.mkdtemp(), url="http://127.0.0.1:9/")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DownloadError: cannot download Fashion-MNIST file train-images-idx3-ubyte.gz from ...
    """
    base = url or os.environ.get(MIRROR_ENV) or BASE_URL
    return load_idx_dataset("Fashion-MNIST", dataset_folder(path, "fashion-mnist"), FILES, base, MIRROR_ENV)
