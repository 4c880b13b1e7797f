"""Optional dependencies of :mod:`tesla_lab.ui` (param, ipywidgets, Panel, plotly), imported only when needed.

``import tesla_lab`` works without them; the first view that needs one raises :class:`MissingDependencyError`
naming the extra that installs it.

>>> require("json").__name__
'json'
>>> require("no_such_module_xyz")
Traceback (most recent call last):
...
tesla_lab.errors.MissingDependencyError: no_such_module_xyz is not installed; the TESLA Lab workbench needs it: \
pip install 'tesla-lab[ui]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tesla_lab.errors import MissingDependencyError

__all__ = ["MissingDependencyError", "require"]


def require(module: str, *, extra: str = "ui") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``pip install 'tesla-lab[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is not installed; the TESLA Lab workbench needs it: pip install 'tesla-lab[{extra}]'"
        ) from exc
