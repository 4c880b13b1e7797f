"""The Jupyter kernel every notebook run uses (:data:`KERNEL_NAME`, registered by :func:`ensure_kernel`) and the
optional papermill import, which names the extra to install when it is missing.

>>> KERNEL_NAME
'tesla-lab'
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError

__all__ = ["KERNEL_NAME", "ensure_kernel"]

logger = logging.getLogger(__name__)

#: The Jupyter kernel every TESLA notebook run uses (registered by :func:`ensure_kernel`).
KERNEL_NAME = "tesla-lab"



def _papermill() -> Any:
    try:
        import papermill
    except ImportError as exc:  # optional dependency: name the extra
        raise ConfigError("running notebooks needs papermill, nbclient and ipykernel; install them with "
                          "`pip install 'tesla-lab[jobs]'`") from exc
    return papermill



def ensure_kernel(name: str = KERNEL_NAME, *, display_name: str = "TESLA Lab (Python)") -> str:
    """Make sure the Jupyter kernel ``name`` exists; register this Python as that kernel when it does not
    (like ``python -m ipykernel install --sys-prefix --name tesla-lab``). Returns the kernel's folder.

    A registered kernel whose Python no longer exists (a deleted virtual environment) is registered again.

    >>> Path(ensure_kernel()).name
    'tesla-lab'
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ConfigError(f"a kernel name is letters, digits, '.', '_' or '-'; got {name!r}, e.g. 'tesla-lab'")
    try:
        from ipykernel.kernelspec import install
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError as exc:
        raise ConfigError("registering a notebook kernel needs ipykernel; install it with "
                          "`pip install 'tesla-lab[jobs]'`") from exc
    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(name)
    except NoSuchKernel:
        spec = None
    if spec is not None:
        python = spec.argv[0] if spec.argv else ""
        if Path(python).exists() or (not os.path.isabs(python) and python):
            if os.path.isabs(python) and Path(python).resolve() != Path(sys.executable).resolve():
                logger.warning("kernel %r runs %s, not this Python (%s); notebooks will use that environment",
                               name, python, sys.executable)
            return str(spec.resource_dir)
        logger.info("kernel %r points to a missing Python (%s); registering it again", name, python)
    folder = install(kernel_name=name, display_name=display_name, prefix=sys.prefix)
    logger.info("registered Jupyter kernel %r for %s in %s", name, sys.executable, folder)
    return str(folder)



def _known_kernels() -> list[str]:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:  # pragma: no cover - jupyter_client comes with papermill
        return []
    return sorted(KernelSpecManager().find_kernel_specs())

