"""Train / (validation) / test splits of arrays, tensors and DataFrames, optionally stratified by class.

>>> import numpy as np
>>> X, y = np.arange(20).reshape(10, 2), np.array([0, 1] * 5)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=True)
>>> len(X_train), len(X_test), sorted(y_test.tolist())
(8, 2, [0, 1])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from tesla_lab.errors import ConfigError, DataError

__all__ = ["train_test_split", "split_indices"]


def _count(size: float | int, n: int, name: str) -> int:
    """A fraction (0 <= size < 1) or a count of samples, as a count."""
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a fraction in [0, 1) or a sample count; got {size!r}")
    if isinstance(size, (int, np.integer)) and size >= 1:
        if size >= n:
            raise ConfigError(f"{name}={size} samples leaves nothing to train on ({n} samples in all)")
        return int(size)
    if not 0 <= size < 1:
        raise ConfigError(f"{name} must be a fraction in [0, 1) or a sample count; got {size!r}")
    return math.ceil(round(float(size) * n, 9))  # round: 0.07 * 100 is 7.000000000000001, still 7 samples


def _length(data: Any, name: str) -> int:
    try:
        return len(data)
    except TypeError as exc:
        raise DataError(f"{name} must be an array, tensor, DataFrame or list; got {type(data).__name__}") from exc


def _take(data: Any, idx: np.ndarray) -> Any:
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[idx]
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(idx, dtype=torch.long, device=data.device)]
    if isinstance(data, np.ndarray):
        return data[idx]
    return [data[i] for i in idx]


def _labels(y: Any) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    elif isinstance(y, (pd.DataFrame, pd.Series)):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows: stratify on the class index
        return y.argmax(axis=1)
    return y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y


def split_indices(
    n: int,
    *,
    test_size: float | int = 0.2,
    val_size: float | int = 0.0,
    stratify: Any = None,
    seed: int = 0,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays ``(train, val, test)`` for ``n`` samples (``val`` is empty when ``val_size=0``).

    ``stratify`` is an array of class labels whose proportions every part keeps.

    >>> train, val, test = split_indices(10, test_size=0.2, val_size=0.1, seed=0)
    >>> len(train), len(val), len(test)
    (7, 1, 2)
    >>> split_indices(10, test_size=0.6, val_size=0.5)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: test_size + val_size cover 11 of 10 samples, leaving none to train on; make them \
smaller
    """
    if n < 2:
        raise DataError(f"cannot split {n} sample(s); a train/test split needs at least 2")
    n_test = _count(test_size, n, "test_size")
    n_val = _count(val_size, n, "val_size")
    if n_test < 1:
        raise ConfigError(f"test_size={test_size!r} gives an empty test set for {n} samples; make it larger")
    if n_test + n_val >= n:
        raise ConfigError(
            f"test_size + val_size cover {n_test + n_val} of {n} samples, leaving none to train on; make them smaller"
        )
    everything = np.arange(n)
    if not shuffle:
        if stratify is not None:
            raise ConfigError("stratify needs shuffle=True (a stratified split picks samples from every class)")
        return everything[: n - n_test - n_val], everything[n - n_test - n_val : n - n_test], everything[n - n_test :]
    from sklearn.model_selection import train_test_split as _sk_split  # lazy: sklearn import is slow

    labels = None
    if stratify is not None:
        labels = _labels(stratify)
        if len(labels) != n:
            raise DataError(f"stratify has {len(labels)} labels for {n} samples; pass one label per sample")
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2:
            rare = classes[counts < 2].tolist()
            raise DataError(
                f"class(es) {rare[:5]} have a single sample; a stratified split needs at least 2 per class. Drop or "
                "merge rare classes, or pass stratify=False"
            )
    try:
        rest, test = _sk_split(everything, test_size=n_test, random_state=seed, stratify=labels)
        if n_val == 0:
            return np.sort(rest), np.array([], dtype=np.int64), np.sort(test)
        train, val = _sk_split(
            rest, test_size=n_val, random_state=seed + 1, stratify=None if labels is None else labels[rest]
        )
    except ValueError as exc:  # e.g. fewer test samples than classes when stratifying
        raise DataError(
            f"cannot make a stratified split of {n} samples: {exc}. Use larger test_size/val_size or stratify=False"
        ) from exc
    return np.sort(train), np.sort(val), np.sort(test)


def train_test_split(
    X: Any,
    y: Any = None,
    *,
    test_size: float | int = 0.2,
    val_size: float | int = 0.0,
    stratify: bool | Any = False,
    seed: int = 0,
    shuffle: bool = True,
) -> tuple[Any, ...]:
    """Split ``X`` (and ``y``) into train and test parts, plus a validation part when ``val_size > 0``.

    Returns, like scikit-learn, each input's parts in turn: ``X_train, X_test`` (``y`` None), ``X_train, X_test,
    y_train, y_test``, or with a validation part ``X_train, X_val, X_test[, y_train, y_val, y_test]``. Sizes are
    fractions in [0, 1) or sample counts. ``stratify=True`` keeps ``y``'s class proportions in every part (or pass
    the labels to stratify on). Works for NumPy arrays, tensors (device kept), DataFrames/Series (index kept) and
    lists; rows keep their original order within each part.

    >>> import torch
    >>> parts = train_test_split(torch.arange(10), test_size=3, val_size=2, seed=1)
    >>> [len(p) for p in parts]
    [5, 2, 3]
    >>> train_test_split(np.zeros(4), stratify=True)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: stratify=True needs the labels y; pass y or stratify=<labels>
    """
    n = _length(X, "X")
    if y is not None and _length(y, "y") != n:
        raise DataError(f"X has {n} samples but y has {_length(y, 'y')}; they must have one label per sample")
    if stratify is True:
        if y is None:
            raise ConfigError("stratify=True needs the labels y; pass y or stratify=<labels>")
        labels = y
    elif stratify is False or stratify is None:
        labels = None
    else:
        labels = stratify
    train, val, test = split_indices(
        n, test_size=test_size, val_size=val_size, stratify=labels, seed=seed, shuffle=shuffle
    )
    parts = (train, val, test) if len(val) else (train, test)
    return tuple(_take(data, idx) for data in ((X,) if y is None else (X, y)) for idx in parts)
