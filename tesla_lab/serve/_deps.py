"""Optional dependencies of :mod:`tesla_lab.serve`, imported only when a function needs them.

``import tesla_lab`` works without FastAPI, uvicorn or ONNX; the first call that needs one of them raises
:class:`MissingDependencyError` naming the extra that installs it.

>>> require("json").__name__
'json'
>>> require("no_such_module_xyz")
Traceback (most recent call last):
...
tesla_lab.errors.MissingDependencyError: no_such_module_xyz is not installed; it is needed for serving \
models: pip install 'tesla-lab[serve]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tesla_lab.errors import MissingDependencyError

__all__ = ["MissingDependencyError", "require", "available"]


def require(module: str, *, extra: str = "serve", purpose: str = "serving models") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``pip install 'tesla-lab[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is not installed; it is needed for {purpose}: pip install 'tesla-lab[{extra}]'"
        ) from exc


def available(module: str) -> bool:
    """True when ``module`` can be imported (any error while importing it counts as missing).

    >>> available("json"), available("no_such_module_xyz")
    (True, False)
    """
    try:
        importlib.import_module(module)
    except Exception:  # a broken install (ImportError, OSError from a shared library, ...) is as good as missing
        return False
    return True
