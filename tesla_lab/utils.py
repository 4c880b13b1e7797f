"""Small helpers shared by every layer: tensor conversion with input checks, accuracy, seeding.

>>> import tesla_lab as tesla
>>> tesla.utils.to_tensor([[1.0, 2.0], [3.0, 4.0]], dtype=None).dtype
torch.float32
>>> tesla.utils.accuracy([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
0.6666666666666666
"""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import numpy as np
import torch

from tesla_lab.errors import DataError

__all__ = ["to_tensor", "to_numpy", "check_xy", "accuracy", "set_seed", "resolve_device", "finite_range"]


def _as_array(data: Any, name: str) -> np.ndarray | torch.Tensor:
    if isinstance(data, torch.Tensor):
        return data
    if hasattr(data, "to_numpy"):  # pandas DataFrame / Series, polars, ...
        data = data.to_numpy()
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as exc:  # ragged lists
        raise DataError(f"{name} cannot be turned into an array ({exc}); pass a rectangular array or tensor") from exc
    return arr


def to_tensor(
    data: Any,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    name: str = "X",
    allow_empty: bool = False,
    check_finite: bool = True,
    float_dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Convert arrays, lists, DataFrames or tensors to a tensor, refusing data that would train silently wrong.

    Floating input becomes ``float_dtype`` (``float32``) unless ``dtype`` says otherwise; integer input keeps an
    integer dtype (class labels). The data is converted once, then moved to ``device``, and checked there: the
    NaN/inf check costs one reduction pass (:func:`finite_range`); only bad data is scanned again, to name the first
    bad entry. Raises :class:`~tesla_lab.errors.DataError` for empty, non-numeric or
    NaN/inf data.

    >>> to_tensor([1.0, float("nan")], name="X")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: X contains 1 NaN/inf value(s) (first at index (1,)); drop or impute them first, \
e.g. tesla.data.fill_missing(df) or df.dropna()
    >>> to_tensor([[0.0, 1.0], [2.0, float("inf")]], name="X_val")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: X_val contains 1 NaN/inf value(s) (first at row 1, column 1); drop or impute them \
first, e.g. tesla.data.fill_missing(df) or df.dropna()
    """
    arr = _as_array(data, name)
    shared: np.ndarray | None = None  # a read-only buffer the result must not alias
    if isinstance(arr, np.ndarray):
        if arr.dtype == object or arr.dtype.kind in "USV":
            sample = next((v for v in arr.ravel() if not isinstance(v, (int, float, np.number, bool))), None)
            raise DataError(
                f"{name} must be numeric; found a {type(sample).__name__} value {sample!r}. "
                "Encode text/categorical columns first (tesla.data.one_hot / label encoding) or drop them"
            )
        if arr.dtype.kind == "b":
            arr = arr.astype(np.float32)
        arr = np.ascontiguousarray(arr)
        if not arr.flags.writeable:  # e.g. pandas 3 copy-on-write views: copy only if nothing below copies anyway
            shared = arr
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                tensor = torch.from_numpy(arr)
        else:
            tensor = torch.from_numpy(arr)
    else:
        tensor = arr
    if not allow_empty and tensor.numel() == 0:
        raise DataError(f"{name} is empty (shape {tuple(tensor.shape)}); pass at least one sample")
    if dtype is None and tensor.is_floating_point():
        dtype = float_dtype
    # Convert before the move when it shrinks the data (float64 -> float32 sends half the bytes), after otherwise.
    if dtype is not None and tensor.dtype != dtype and _itemsize(dtype) <= tensor.element_size():
        tensor = tensor.to(dtype)
    if device is not None:
        tensor = tensor.to(device)
    if dtype is not None and tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    if shared is not None and tensor.device.type == "cpu" and tensor.data_ptr() == shared.ctypes.data:
        tensor = tensor.clone()  # torch needs its own writable buffer
    if check_finite and tensor.is_floating_point() and tensor.numel():
        finite_range(tensor, name)
    return tensor


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def finite_range(tensor: torch.Tensor, name: str = "X") -> tuple[float, float]:
    """``(min, max)`` of a floating tensor in one reduction pass, raising :class:`DataError` on NaN/inf.

    NaN propagates through min/max and an infinity is the min or the max, so a finite range proves every entry
    finite; only then is the data scanned again, to name the first bad entry. One host sync on a GPU.

    >>> finite_range(torch.tensor([[0.5, -2.0], [3.0, 1.0]]))
    (-2.0, 3.0)
    >>> finite_range(torch.tensor([[0.0, 1.0], [float("nan"), 2.0]]), name="X_test")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: X_test contains 1 NaN/inf value(s) (first at row 1, column 0); drop or impute them \
first, e.g. tesla.data.fill_missing(df) or df.dropna()
    """
    lo, hi = (float(v) for v in torch.stack(torch.aminmax(tensor)).tolist())
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    bad = ~torch.isfinite(tensor)
    first = tuple(int(i) for i in bad.nonzero()[0])
    where = f"row {first[0]}, column {first[1]}" if len(first) == 2 else f"index {first}"
    raise DataError(
        f"{name} contains {int(bad.sum())} NaN/inf value(s) (first at {where}); drop or impute them first, e.g. "
        "tesla.data.fill_missing(df) or df.dropna()"
    )


def to_numpy(data: Any) -> np.ndarray:
    """Return ``data`` as a NumPy array (tensors are detached and moved to the CPU).

    >>> to_numpy(torch.tensor([1, 2]))
    array([1, 2])
    """
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    if hasattr(data, "to_numpy"):
        return data.to_numpy()
    return np.asarray(data)


def check_xy(X: torch.Tensor, y: torch.Tensor | None) -> None:
    """Raise :class:`DataError` unless X and y hold the same number of samples.

    >>> check_xy(torch.zeros(3, 2), torch.zeros(2))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: X has 3 samples but y has 2; they must have one label per sample (same length)
    """
    if y is not None and len(X) != len(y):
        raise DataError(
            f"X has {len(X)} samples but y has {len(y)}; they must have one label per sample (same length)"
        )


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct predictions; ``y_pred`` may be labels, class probabilities/logits (N, C) or
    binary probabilities (N,) in [0, 1].

    >>> accuracy([1, 0, 1], [0.8, 0.4, 0.3])
    0.6666666666666666
    """
    t = to_numpy(y_true)
    p = to_numpy(y_pred)
    if p.ndim == 2 and p.shape[1] > 1:
        p = p.argmax(axis=1)
    elif p.ndim == 2:
        p = p[:, 0]
    if t.ndim == 2 and t.shape[1] > 1:  # one-hot targets
        t = t.argmax(axis=1)
    t = t.reshape(-1)
    if p.dtype.kind == "f" and not np.all(np.mod(p, 1) == 0):
        p = (p >= 0.5).astype(np.int64)
    if len(t) != len(p):
        raise DataError(f"y_true has {len(t)} labels but y_pred has {len(p)}; pass predictions for every sample")
    if len(t) == 0:
        raise DataError("accuracy of an empty set is undefined; pass at least one sample")
    return float(np.mean(t.astype(np.int64) == p.astype(np.int64)))


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) for a reproducible run.

    >>> set_seed(0); a = torch.rand(1); set_seed(0); bool(torch.rand(1) == a)
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn ``'auto' | 'cpu' | 'cuda' | 'cuda:N'`` into a :class:`torch.device`, checking it exists.

    ``'auto'`` takes the first visible CUDA device (respecting ``CUDA_VISIBLE_DEVICES``), else the CPU.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    from tesla_lab.errors import ConfigError

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for but CUDA is not available here; use 'cpu' or 'auto'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s) visible "
                f"(indices 0..{torch.cuda.device_count() - 1})"
            )
    elif dev.type not in ("cpu", "mps"):
        raise ConfigError(f"unsupported device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    return dev
