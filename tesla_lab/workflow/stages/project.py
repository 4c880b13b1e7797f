"""Where the pipeline stages store their runs: the project given, the one around the current folder, else the
pipeline's default project in ``~/.tesla/pipeline`` (``$TESLA_PIPELINE_DIR`` moves it), created on first use.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> root = tempfile.mkdtemp()
>>> open_stage_project(root).path == open_stage_project(Project(root)).path
True
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.store.project import CONFIG_FILE

__all__ = ["open_stage_project", "pipeline_dir", "PIPELINE_DIR_ENV"]

logger = logging.getLogger(__name__)

PIPELINE_DIR_ENV = "TESLA_PIPELINE_DIR"


def pipeline_dir() -> Path:
    """The default project of the pipeline stages: ``$TESLA_PIPELINE_DIR`` or ``~/.tesla/pipeline``.

    >>> import os
    >>> os.environ["TESLA_PIPELINE_DIR"] = "/tmp/runs"; str(pipeline_dir())
    '/tmp/runs'
    >>> del os.environ["TESLA_PIPELINE_DIR"]
    """
    return Path(os.environ.get(PIPELINE_DIR_ENV) or Path.home() / ".tesla" / "pipeline").expanduser()


def _holds_project(folder: Path) -> bool:
    folder = folder.expanduser().resolve()
    return any((f / CONFIG_FILE).is_file() for f in (folder, *folder.parents))


def open_stage_project(project: Project | str | os.PathLike[str] | None = None) -> Project:
    """The project a stage stores its runs in: ``project`` (a Project, or a folder: the project holding it, else a
    new one created there); ``None``: the project around the current folder, else :func:`pipeline_dir` (created
    when missing).

    >>> import tempfile
    >>> open_stage_project(tempfile.mkdtemp()).datasets.names()
    []
    >>> open_stage_project(42)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: project must be a Project, a folder path or None (the one around the current \
folder); got 42
    """
    if isinstance(project, Project):
        return project
    if project is not None and not isinstance(project, (str, os.PathLike)):
        raise ConfigError(f"project must be a Project, a folder path or None (the one around the current folder); "
                          f"got {project!r}")
    if project is None and _holds_project(Path.cwd()):
        opened = Project()
        logger.info("pipeline runs go to the project around the current folder: %s", opened.path)
        return opened
    folder = Path(project if project is not None else pipeline_dir()).expanduser()
    if _holds_project(folder):
        opened = Project(folder)
        logger.info("pipeline runs go to project %s", opened.path)
        return opened
    created = Project.init(folder, name=None if project is not None else "tesla-pipeline")
    if project is None:
        logger.warning("no TESLA project around %s: pipeline runs go to %s (pass project=, run `tesla init` here, "
                       "or set $%s)", Path.cwd(), created.path, PIPELINE_DIR_ENV)
    else:
        logger.info("created TESLA project %s for the pipeline runs", created.path)
    return created
