"""Where the sidebar's project comes from when JupyterLab starts in a folder without one: "Create project here"
(refused inside a git checkout of TESLA Lab itself unless confirmed) or "Open demo project" (the demo project
``make run`` and ``tesla dashboard`` open outside a project: ``~/.tesla/demo``, ``$TESLA_DEMO_DIR``).

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "tesla_lab").mkdir(), (root / "pyproject.toml").write_text('[project]\\nname = "tesla-lab"\\n')
>>> tesla_lab_checkout(root / "notebooks") == root
True
>>> tesla_lab_checkout(tempfile.mkdtemp()) is None
True
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project

__all__ = ["ConfirmationRequired", "tesla_lab_checkout", "create_project_here", "open_demo_project"]

# TESLA Lab's own pyproject.toml names the distribution on a line of its own (tomllib is 3.11+; this is enough)
_OWN_NAME = re.compile(r"""^\s*name\s*=\s*["']tesla[-_.]lab["']\s*$""", re.MULTILINE | re.IGNORECASE)


class ConfirmationRequired(ConfigError):
    """The action changes something the user may not mean to change; repeat it with ``confirm=True``."""


def tesla_lab_checkout(folder: str | os.PathLike[str]) -> Path | None:
    """The root of the git checkout of TESLA Lab itself that holds ``folder`` (a folder with ``tesla_lab/`` and a
    ``pyproject.toml`` naming the ``tesla-lab`` project), or ``None``."""
    start = Path(folder).expanduser().resolve()
    for candidate in (start, *start.parents):
        toml = candidate / "pyproject.toml"
        if not ((candidate / "tesla_lab").is_dir() and toml.is_file()):
            continue
        try:
            text = toml.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _OWN_NAME.search(text):
            return candidate
    return None


def create_project_here(folder: str | os.PathLike[str], name: str | None = None, *,
                        confirm: bool = False) -> Project:
    """Create a project (with the starter notebooks) in ``folder``. Inside a checkout of TESLA Lab's own sources
    it raises :class:`ConfirmationRequired` (nothing written) unless ``confirm``.

    >>> import tempfile
    >>> create_project_here(tempfile.mkdtemp(), "mine").name
    'mine'
    """
    checkout = tesla_lab_checkout(folder)
    if checkout is not None and not confirm:
        raise ConfirmationRequired(
            f"{Path(folder).resolve()} is inside a checkout of TESLA Lab's own sources ({checkout}); a project there "
            "adds tesla.yaml, .tesla/ and notebooks/ to that repository. Confirm to create it anyway, or open the "
            "demo project (nothing was written)")
    from tesla_lab.workflow import create_project

    return create_project(folder, name=name or None)


def open_demo_project() -> Project:
    """The demo project (created with the digits sample on first use), as ``make run`` opens it."""
    from tesla_lab.ui.project import demo_dir, open_project

    return open_project(None, start=demo_dir())
