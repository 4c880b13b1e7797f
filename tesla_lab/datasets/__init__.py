"""Ready-made data sets with Keras' interface: ``(x_train, y_train), (x_test, y_test) = mnist.load_data()``.

Downloaded once into ``~/.tesla/datasets`` (``TESLA_DATA_DIR`` moves it), SHA-256 checked; offline, copy the files
there by hand (the error message says which and where). Nothing touches the network on import.

>>> import tesla_lab.datasets as datasets
>>> datasets.mnist.MIRROR_ENV, datasets.fashion_mnist.MIRROR_ENV
('TESLA_MNIST_MIRROR', 'TESLA_FASHION_MNIST_MIRROR')
"""

from tesla_lab.datasets import fashion_mnist, mnist
from tesla_lab.datasets.cache import DATA_DIR_ENV, ChecksumError, DownloadError, data_home

__all__ = ["mnist", "fashion_mnist", "data_home", "DATA_DIR_ENV", "DownloadError", "ChecksumError"]
