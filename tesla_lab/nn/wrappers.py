"""Per-layer execution wrappers: gradient checkpointing and mixed precision.

>>> import torch
>>> layer = Checkpointed(torch.nn.Linear(4, 4))
>>> layer(torch.ones(2, 4, requires_grad=True)).shape
torch.Size([2, 4])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from tesla_lab.errors import ConfigError

__all__ = ["Wrapper", "Checkpointed", "MixedPrecision"]


class Wrapper(nn.Module):
    """A layer that runs ``module`` a particular way: attributes it does not have are ``module``'s (so a wrapped
    ``Linear`` still answers ``.out_features``); its state dict nests ``module``'s under ``module.``.

    >>> Wrapper(torch.nn.Linear(4, 2)).out_features
    2
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any) -> Any:
        return self.module(*args)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("module"), name)


class Checkpointed(Wrapper):
    """Run ``module`` under gradient checkpointing while training: its activations are not kept for the backward
    pass but recomputed, trading compute for memory. In eval mode or without grad it runs normally.

    >>> Checkpointed(torch.nn.ReLU()).module
    ReLU()
    """

    def forward(self, *args: Any) -> Any:
        if self.training and torch.is_grad_enabled():
            # use_reentrant=False: works with inputs that don't require grad and with torch.compile
            return checkpoint(self.module, *args, use_reentrant=False)
        return self.module(*args)


_DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}


class MixedPrecision(Wrapper):
    """Run ``module`` under autocast in ``dtype`` (bf16 by default: no loss scaling needed) and return outputs in
    the input's dtype, so one layer can use reduced precision inside an fp32 model.

    >>> out = MixedPrecision(torch.nn.Linear(4, 2))(torch.ones(3, 4))
    >>> out.dtype
    torch.float32
    >>> MixedPrecision(torch.nn.ReLU(), dtype="fp8")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: mixed precision dtype must be one of bf16, bfloat16, fp16, float16; got 'fp8'
    """

    def __init__(self, module: nn.Module, dtype: str = "bf16") -> None:
        if dtype not in _DTYPES:
            raise ConfigError(f"mixed precision dtype must be one of {', '.join(_DTYPES)}; got {dtype!r}")
        super().__init__(module)
        self.dtype_name = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, dtype=_DTYPES[self.dtype_name]):
            out = self.module(x)
        return out.to(x.dtype) if out.is_floating_point() and x.is_floating_point() else out
