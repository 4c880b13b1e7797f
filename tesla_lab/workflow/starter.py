"""A new project with what its first steps need: :func:`create_project` (``tesla init``, the JupyterLab sidebar's
"create a project here") is :meth:`Project.init <tesla_lab.store.Project.init>` plus the starter notebooks shipped in
the package (``tesla_lab/templates/``): ``notebooks/train.ipynb``, the papermill-parameterized training notebook
that ``tesla run-notebook``, ``tesla schedule`` and the JupyterLab "New training notebook" action start from.

>>> import tempfile
>>> project = create_project(tempfile.mkdtemp(), name="demo")
>>> sorted(p.name for p in project.notebooks_dir.iterdir())
['train.ipynb']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tesla_lab.errors import NotFoundError
from tesla_lab.store import Project

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["STARTER_NOTEBOOKS", "template_notebook", "add_starter_notebooks", "create_project"]

logger = logging.getLogger(__name__)

#: The notebooks a new project gets in ``notebooks/``, from the package's ``templates/`` folder.
STARTER_NOTEBOOKS = ("train.ipynb",)


def template_notebook(name: str = "train.ipynb") -> Traversable:
    """The notebook ``name`` shipped in the package (read it with ``.read_bytes()``).

    >>> template_notebook().name
    'train.ipynb'
    >>> template_notebook("nope.ipynb")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.NotFoundError: TESLA Lab ships no notebook template 'nope.ipynb'; choose one of: train.ipynb
    """
    found = resources.files("tesla_lab") / "templates" / str(name)
    if name not in STARTER_NOTEBOOKS or not found.is_file():
        raise NotFoundError(f"TESLA Lab ships no notebook template {name!r}; choose one of: "
                            f"{', '.join(STARTER_NOTEBOOKS)}")
    return found


def add_starter_notebooks(project: Project) -> list[Path]:
    """Copy the starter notebooks into ``project``'s ``notebooks/`` folder, keeping any file already there
    (written with ``"x"``: never over a notebook written meanwhile). Returns the paths written.

    >>> import tempfile
    >>> project = Project.init(tempfile.mkdtemp())
    >>> [p.name for p in add_starter_notebooks(project)], add_starter_notebooks(project)
    (['train.ipynb'], [])
    """
    written = []
    project.notebooks_dir.mkdir(parents=True, exist_ok=True)
    for name in STARTER_NOTEBOOKS:
        target = project.notebooks_dir / name
        try:
            with open(target, "xb") as fh:
                fh.write(template_notebook(name).read_bytes())
        except FileExistsError:
            continue
        written.append(target)
    logger.info("added %s to %s", ", ".join(p.name for p in written) or "nothing", project.notebooks_dir)
    return written


def create_project(path: str | os.PathLike[str], name: str | None = None,
                   defaults: Mapping[str, Any] | None = None) -> Project:
    """Create a project at ``path`` (as :meth:`Project.init <tesla_lab.store.Project.init>`: an existing one is
    refused with nothing changed) with the starter notebooks in its ``notebooks/`` folder."""
    project = Project.init(path, name=name, defaults=defaults)
    add_starter_notebooks(project)
    return project
