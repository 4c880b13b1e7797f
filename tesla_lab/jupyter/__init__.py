"""TESLA Lab inside JupyterLab: the server extension (REST handlers under ``/tesla-lab/``) that the ``tesla-lab``
labextension's sidebar, launcher card and status bar item talk to.

Installed with the wheel: the prebuilt labextension goes to ``share/jupyter/labextensions/tesla-lab`` and
``etc/jupyter/jupyter_server_config.d/tesla_lab.json`` enables this module, so ``pip install 'tesla-lab[lab]'``
is all a user does (no node). Settings: :class:`TeslaLab` (``--TeslaLab.project_dir=...``).

>>> [p["module"] for p in _jupyter_server_extension_points()]
['tesla_lab.jupyter']
"""

from __future__ import annotations

from typing import Any

from tesla_lab.jupyter.config import TeslaLab

__all__ = ["TeslaLab"]

LABEXTENSION_NAME = "tesla-lab"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # the build writes the labextension to tesla_lab/labextension (extensions/package.json "outputDir")
    return [{"src": "../labextension", "dest": LABEXTENSION_NAME}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "tesla_lab.jupyter"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the REST handlers on a starting Jupyter server (called by jupyter_server)."""
    from tesla_lab.jupyter.handlers import setup_handlers

    config = TeslaLab(parent=server_app)
    state = setup_handlers(server_app.web_app, config, server_app.root_dir)
    server_app.log.info("TESLA Lab server extension loaded; project folder %s", state.start)
