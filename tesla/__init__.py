"""``tesla``: the name the TESLA documents import; the same objects as :mod:`tesla_lab` (the canonical name).

Every ``tesla.X`` submodule is ``tesla_lab.X`` itself, not a copy, so ``import tesla``, ``from tesla.data import
DataIngestion`` and ``from tesla_lab.data import DataIngestion`` give one and the same class. ``tesla.model`` is the
documents' name for the pipeline stages (:mod:`tesla_lab.workflow.stages`).

>>> import tesla, tesla_lab
>>> tesla.nn is tesla_lab.nn and tesla.TensorNetwork is tesla_lab.TensorNetwork
True
>>> import tesla.data
>>> tesla.data is tesla_lab.data
True
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

import tesla_lab
from tesla_lab import *  # noqa: F403  (the public API, same objects)
from tesla_lab import __all__, __version__  # noqa: F401

# documents' names that differ from the package layout
_RENAMED = {"tesla.model": "tesla_lab.workflow.stages"}


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already imported ``tesla_lab`` module under its ``tesla`` name (no second copy)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):  # noqa: ANN001, D102
        module = importlib.import_module(self.target)
        self._spec, self._loader = module.__spec__, getattr(module, "__loader__", None)
        return module

    def exec_module(self, module) -> None:  # noqa: ANN001, D102
        # already executed under its tesla_lab name; the import system stamped the alias spec on it: undo that so
        # pickle, reload and multiprocessing keep seeing the canonical module
        module.__spec__, module.__loader__ = self._spec, self._loader


class _AliasFinder(importlib.abc.MetaPathFinder):
    """``tesla.X.Y`` -> ``tesla_lab.X.Y``."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, D102
        if not fullname.startswith("tesla."):
            return None
        real = _RENAMED.get(fullname, "tesla_lab." + fullname[len("tesla."):])
        try:
            if importlib.util.find_spec(real) is None:
                return None
        except ModuleNotFoundError:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())


def __getattr__(name: str) -> object:
    """``tesla.ui``, ``tesla.model``, ``tesla.datasets``...: submodules load on first use, as in ``tesla_lab``."""
    full = f"tesla.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name not in (full, _RENAMED.get(full), f"tesla_lab.{name}"):
            raise
    return getattr(tesla_lab, name)
