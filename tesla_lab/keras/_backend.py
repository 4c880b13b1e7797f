"""Import Keras 3 once, turning a missing package or backend into one clear :class:`~tesla_lab.errors.TeslaError`.

Keras reads ``KERAS_BACKEND`` (or ``~/.keras/keras.json``) when it is first imported; every module of
:mod:`tesla_lab.keras` gets ``keras`` from here.

>>> backend() in BACKENDS
True
"""

from __future__ import annotations

import os
from typing import Any

from tesla_lab.errors import ConfigError, MissingDependencyError

__all__ = ["keras", "backend", "BACKENDS"]

#: the Keras 3 backends tesla_lab.keras is tested on, with what installs each
BACKENDS = {"tensorflow": "tensorflow-cpu (or tensorflow)", "jax": "'jax[cpu]'", "torch": "torch"}


def _import_keras() -> Any:
    requested = os.environ.get("KERAS_BACKEND")
    try:
        import keras
    except ModuleNotFoundError as exc:
        if exc.name == "keras":
            raise MissingDependencyError("keras is not installed; tesla_lab.keras needs Keras 3: "
                                         "pip install 'tesla-lab[keras]'") from exc
        raise _backend_error(requested, exc) from exc
    except (ImportError, ValueError) as exc:  # Keras raises ValueError for an unknown or broken backend
        raise _backend_error(requested, exc) from exc
    if not str(keras.__version__).startswith("3."):
        raise MissingDependencyError(f"tesla_lab.keras needs Keras 3 (keras>=3.5); found keras {keras.__version__}: "
                                     "pip install 'tesla-lab[keras]'")
    return keras


def _backend_error(requested: str | None, exc: BaseException) -> Exception:
    name = requested or "(the default from ~/.keras/keras.json)"
    choices = ", ".join(BACKENDS)
    if requested is not None and requested not in BACKENDS:
        return ConfigError(f"unknown Keras backend KERAS_BACKEND={requested!r}; set it to one of: {choices}")
    install = BACKENDS.get(requested or "", " or ".join(BACKENDS.values()))
    return MissingDependencyError(
        f"the Keras backend {name} could not be imported ({exc}); install it (pip install {install}) or set "
        f"KERAS_BACKEND to an installed one of: {choices}, before Python imports keras"
    )


keras = _import_keras()


def backend() -> str:
    """The Keras backend this process runs on: ``'tensorflow'``, ``'jax'`` or ``'torch'``."""
    return str(keras.backend.backend())
