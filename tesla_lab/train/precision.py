"""Mixed precision for the trainer: which autocast dtype to use, and a loss scaler when fp16 needs one.

``precision`` names (case-insensitive):

=================================================  =====================================================
``'fp32'``, ``'float32'``, ``'32'``, ``'32-true'``   full precision, no autocast
``'bf16'``, ``'bfloat16'``, ``'bf16-mixed'``         autocast to bfloat16 (no loss scaling: bf16 has fp32's range)
``'fp16'``, ``'float16'``, ``'half'``, ``'16'``,     autocast to float16 with :class:`torch.amp.GradScaler`
``'16-mixed'``                                       (dynamic loss scaling; gradients are unscaled before clipping)
``'mixed'``                                          bf16 where the device supports it (CPU, Ampere and newer
                                                     GPUs), otherwise fp16 with loss scaling
=================================================  =====================================================

Weights and optimizer state stay in fp32 in every mode; only the forward pass and the loss run under autocast.

>>> import torch
>>> p = resolve_precision("bf16", torch.device("cpu"))
>>> p.name, p.dtype, p.needs_scaler
('bf16', torch.bfloat16, False)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from tesla_lab.errors import ConfigError

__all__ = ["Precision", "resolve_precision", "PRECISION_CHOICES"]

_ALIASES = {
    "fp32": "fp32", "float32": "fp32", "32": "fp32", "32-true": "fp32", "full": "fp32",
    "bf16": "bf16", "bfloat16": "bf16", "bf16-mixed": "bf16",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "16": "fp16", "16-mixed": "fp16",
    "mixed": "mixed",
}  # fmt: skip
PRECISION_CHOICES: tuple[str, ...] = ("fp32", "bf16", "fp16", "mixed")
_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """A resolved precision: ``name`` is ``'fp32' | 'bf16' | 'fp16'``, ``dtype`` the autocast dtype (``None`` for
    fp32) and ``device_type`` the autocast device type (``'cpu'``, ``'cuda'``, ...).

    >>> p = Precision("fp32", None, "cpu")
    >>> p.autocast() is None, p.make_scaler() is None
    (True, True)
    """

    name: str
    dtype: torch.dtype | None
    device_type: str

    @property
    def needs_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 and fp32 do not need it."""
        return self.name == "fp16"

    def autocast(self) -> torch.autocast | None:
        """An autocast context for the forward pass and loss, or ``None`` for fp32 (the trainer then skips the
        ``with`` entirely). One instance can be entered again after it exits, so the trainer builds it once per
        ``fit`` instead of once per step (its constructor costs a few microseconds).

        >>> import torch
        >>> ctx = resolve_precision("bf16", torch.device("cpu")).autocast()
        >>> with ctx:
        ...     torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype
        torch.bfloat16
        """
        if self.dtype is None:
            return None
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def make_scaler(self) -> torch.amp.GradScaler | None:
        """A fresh :class:`torch.amp.GradScaler` for fp16, else ``None``.

        >>> import torch
        >>> type(resolve_precision("fp16", torch.device("cpu")).make_scaler()).__name__
        'GradScaler'
        """
        if not self.needs_scaler:
            return None
        return torch.amp.GradScaler(self.device_type)


def _autocast_works(device_type: str, dtype: torch.dtype) -> bool:
    # torch.autocast warns and disables itself for a dtype the device does not support; turn that into a bool.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ctx = torch.autocast(device_type=device_type, dtype=dtype)
        except (RuntimeError, ValueError):
            return False
    return bool(getattr(ctx, "_enabled", True)) and not any("disabl" in str(w.message) for w in caught)


def resolve_precision(precision: str, device: torch.device | str) -> Precision:
    """Check a precision name for a device and return the :class:`Precision` to train with.

    >>> import torch
    >>> resolve_precision("mixed", torch.device("cpu")).name
    'bf16'
    >>> resolve_precision("fp8", torch.device("cpu"))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown precision 'fp8'; choose one of: fp32, bf16, fp16, mixed \
(aliases: float32, bfloat16, float16, half, 16, 32, bf16-mixed, 16-mixed)
    """
    device = torch.device(device)
    key = str(precision).strip().lower()
    if key not in _ALIASES:
        raise ConfigError(
            f"unknown precision {precision!r}; choose one of: {', '.join(PRECISION_CHOICES)} "
            "(aliases: float32, bfloat16, float16, half, 16, 32, bf16-mixed, 16-mixed)"
        )
    name = _ALIASES[key]
    device_type = device.type
    if name == "mixed":
        bf16_ok = torch.cuda.is_bf16_supported() if device_type == "cuda" else _autocast_works(device_type,
                                                                                              torch.bfloat16)
        name = "bf16" if bf16_ok else "fp16"
    dtype = _DTYPES[name]
    if dtype is None:
        return Precision("fp32", None, device_type)
    if device_type == "cuda" and name == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"precision 'bf16' is not supported by {torch.cuda.get_device_name(device)}; "
            "use precision='fp16' (loss-scaled) or 'fp32'"
        )
    if not _autocast_works(device_type, dtype):
        fix = "use precision='bf16' or 'fp32' on CPU, or train on a CUDA device" if device_type == "cpu" else (
            "use precision='fp32'"
        )
        raise ConfigError(
            f"precision {name!r} (autocast to {dtype}) is not supported on device type {device_type!r} by this "
            f"PyTorch {torch.__version__}; {fix}"
        )
    return Precision(name, dtype, device_type)

