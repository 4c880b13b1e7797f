"""Checks on what training and inference are fed: raw ``uint8`` pixels (0..255) given without scaling.

Raw pixels make the first layer's inputs ~100x larger than the [0, 1] that weight initialisation and learning rates
are tuned for: SGD then diverges or stalls near chance accuracy (the classic "MNIST stuck at 10%"). TESLA does not
rescale silently (the model would then see different numbers in ``model(x)`` than in ``fit``); it warns ONCE per
``fit`` and names the fix, and it warns when ``evaluate``/``predict`` get data scaled differently from training.

>>> import warnings, numpy as np, torch
>>> model = torch.nn.Linear(4, 2)
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     check_training_input(model, np.full((3, 4), 255, dtype=np.uint8))
>>> [w.category.__name__ for w in caught]
['UnscaledPixelsWarning']
>>> check_training_input(model, np.full((3, 4), 0.5, dtype=np.float32))  # scaled: no warning
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["UnscaledPixelsWarning", "check_training_input", "check_inference_input"]

_ATTR = "_tesla_input_peak"  # on the model: (training X was uint8, its largest value)
_OWN_DIRS = tuple(str(Path(__file__).resolve().parents[i]) for i in (1,))  # the tesla_lab package
_FIX = ("scale them first, e.g. X_train / 255 and X_test / 255, or px = tesla.data.PixelScale(max_value=255)"
        ".fit(X_train) then px.transform(X_train) and px.transform(X_test)")


class UnscaledPixelsWarning(UserWarning):
    """Raw ``uint8`` pixels (0..255) were fed to training, or inference data is scaled unlike the training data.

    >>> issubclass(UnscaledPixelsWarning, UserWarning)
    True
    """


_SAMPLE_ROWS = 1024  # the scale is judged on evenly spaced rows: a heuristic for a warning, never a full pass


def _peak(X: Any) -> tuple[bool, float] | None:
    """(is uint8, largest value) of an in-memory array or tensor, judged on at most ``_SAMPLE_ROWS`` evenly spaced
    rows (the whole-data NaN/inf check already costs one pass; this must not add another); None for anything else
    (DataLoaders, frames)."""
    if isinstance(X, torch.Tensor):
        if X.numel() == 0 or not (X.dtype == torch.uint8 or X.is_floating_point()):
            return None
        rows = X[:: max(1, len(X) // _SAMPLE_ROWS)] if X.dim() else X
        return X.dtype == torch.uint8, float(rows.max())
    if isinstance(X, np.ndarray):
        if X.size == 0 or not (X.dtype == np.uint8 or X.dtype.kind == "f"):
            return None
        rows = X[:: max(1, len(X) // _SAMPLE_ROWS)] if X.ndim else X
        return X.dtype == np.uint8, float(np.nanmax(rows))
    return None


def _stacklevel() -> int:
    """Stack level of the first caller outside tesla_lab, so the warning points at the user's line."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_DIRS):
        frame, level = frame.f_back, level + 1
    return level


def check_training_input(model: torch.nn.Module, X: Any) -> None:
    """Warn (once) when ``X`` holds raw uint8 pixels above 1; remember how ``X`` was scaled on ``model``.

    >>> import numpy as np
    >>> model = torch.nn.Linear(2, 1)
    >>> check_training_input(model, np.array([[0.0, 1.0]], dtype=np.float32)); model._tesla_input_peak
    (False, 1.0)
    """
    peak = _peak(X)
    if peak is None or any(isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) for m in model.modules()):
        return  # not an array, or token ids for an embedding (not pixels)
    object.__setattr__(model, _ATTR, peak)  # plain attribute: not a parameter, not in the state_dict
    is_uint8, top = peak
    if is_uint8 and top > 1:
        warnings.warn(
            f"X holds raw uint8 pixel values (0..255, largest {top:g}) that are trained on without scaling: inputs "
            f"that large make training diverge or stall near chance accuracy; {_FIX}",
            UnscaledPixelsWarning, stacklevel=_stacklevel(),
        )


def check_inference_input(model: torch.nn.Module, X: Any) -> None:
    """Warn when ``X`` is scaled unlike the data ``model`` was trained on (raw uint8 pixels vs values in [0, 1]).

    >>> import warnings, numpy as np
    >>> model = torch.nn.Linear(2, 1)
    >>> check_training_input(model, np.array([[0.0, 1.0]], dtype=np.float32))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     check_inference_input(model, np.array([[0, 255]], dtype=np.uint8))
    >>> "trained on inputs in [0, 1]" in str(caught[0].message)
    True
    """
    trained, now = getattr(model, _ATTR, None), _peak(X)
    if trained is None or now is None:
        return
    (was_uint8, train_top), (is_uint8, top) = trained, now
    if train_top <= 1 and is_uint8 and top > 1:
        message = (f"the model was trained on inputs in [0, 1] but X holds raw uint8 pixels (largest {top:g}); "
                   "scale X as the training data was, e.g. X / 255 or the PixelScale fitted on the training data")
    elif was_uint8 and train_top > 1 and not is_uint8 and top <= 1:
        message = (f"the model was trained on raw uint8 pixels (0..{train_top:g}) but X holds values in [0, 1]; "
                   "feed X as the training data was, or (better) retrain on scaled data: X_train / 255")
    else:
        return
    warnings.warn(message, UnscaledPixelsWarning, stacklevel=_stacklevel())
