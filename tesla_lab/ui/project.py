"""Which project the workbench opens: the one given, the one around the current folder, or the demo project.

The demo project lives in ``~/.tesla/demo`` (``$TESLA_DEMO_DIR`` overrides it); it is created on first use with
:meth:`Project.init` and the ``digits`` sample stored as its first dataset version.

>>> import os, tempfile
>>> os.environ["TESLA_DEMO_DIR"] = tempfile.mkdtemp()
>>> project = open_project(None, start=tempfile.mkdtemp())
>>> project.name, project.datasets.names()
('tesla-demo', ['digits'])
>>> del os.environ["TESLA_DEMO_DIR"]
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tesla_lab.errors import StoreError
from tesla_lab.store import Project
from tesla_lab.store.project import CONFIG_FILE

__all__ = ["open_project", "demo_dir"]

logger = logging.getLogger(__name__)


def demo_dir() -> Path:
    """Where the demo project lives: ``$TESLA_DEMO_DIR`` or ``~/.tesla/demo``."""
    return Path(os.environ.get("TESLA_DEMO_DIR") or Path.home() / ".tesla" / "demo").expanduser()


def open_project(path: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] | None = None,
                 demo: bool = True) -> Project:
    """The project at ``path``; without one, the project around ``start`` (default: the current folder, searched
    upward like git); failing that (and with ``demo``), the demo project, created when missing."""
    if path is not None:
        return Project(path)
    try:
        return Project(start)
    except StoreError:
        if not demo:
            raise
    folder = demo_dir()
    if (folder / CONFIG_FILE).is_file():
        return Project(folder)
    logger.info("no TESLA project here; creating the demo project in %s", folder)
    project = Project.init(folder, name="tesla-demo")
    try:
        from tesla_lab.workflow import load_dataset

        load_dataset(project, "digits", "digits", target="target", message="the digits sample (8x8 images)")
    except Exception:  # noqa: BLE001 - the demo works without the stored copy; the sample stays loadable
        logger.warning("could not store the digits sample in the demo project", exc_info=True)
    return project
