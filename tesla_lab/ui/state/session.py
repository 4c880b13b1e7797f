"""The workbench's state kept server-side, in the project's ``.tesla/ui.json``, so a browser reload (or a new
session, another browser) finds the loaded data and target, the model being built and the run in Train as they
were, instead of starting over.

Only what is needed to rebuild the state is stored, never the data itself: where the data came from (a sample, a
stored dataset version, a path), the target and features, the model's layers and training settings, the followed
run. Every write replaces the file atomically (a crash never leaves half a file); an unreadable file is ignored
with a warning (the workbench starts fresh).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> save_ui_state(project, {"model": {"epochs": 7}})
>>> load_ui_state(project)["model"]
{'epochs': 7}
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tesla_lab._atomic import atomic_path
from tesla_lab.store import Project

__all__ = ["UI_STATE_FILE", "load_ui_state", "save_ui_state", "MODEL_KEYS", "DATA_KEYS"]

logger = logging.getLogger(__name__)

UI_STATE_FILE = "ui.json"  # in the project's .tesla/ folder
#: the ModelState params kept (the layers and every training setting the user edits)
MODEL_KEYS = ("layers", "image_input", "model_name", "optimizer", "lr", "loss", "epochs", "batch_size", "device",
              "precision", "checkpoint_every", "seed", "test_size", "val_size", "preprocessing")
#: the DataState params kept (where the table came from, and the columns chosen)
DATA_KEYS = ("source", "sample", "path", "query", "origin", "dataset_name", "dataset_version", "target", "features",
             "image_shape")


def _path(project: Project) -> Path:
    return project.store_dir / UI_STATE_FILE


def load_ui_state(project: Project) -> dict[str, Any]:
    """The stored workbench state (``{}`` when there is none, or the file is unreadable)."""
    path = _path(project)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("ignoring %s (%s); the workbench starts fresh", path, exc)
        return {}
    return state if isinstance(state, dict) else {}


def save_ui_state(project: Project, state: dict[str, Any]) -> None:
    """Replace the stored workbench state with ``state`` (JSON-like), atomically."""
    text = json.dumps(state, indent=1, sort_keys=True, default=str)
    with atomic_path(_path(project)) as tmp:
        tmp.write_text(text, encoding="utf-8")
