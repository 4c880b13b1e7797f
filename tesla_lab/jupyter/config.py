"""Settings of the TESLA Lab server extension, read from Jupyter's own configuration system.

Set them like any Jupyter option: ``jupyter lab --TeslaLab.project_dir=~/mnist``, or in
``jupyter_server_config.py``: ``c.TeslaLab.dashboard_url = "http://127.0.0.1:5006/"``.

>>> TeslaLab().dashboard_url
'http://127.0.0.1:5006/'
>>> TeslaLab(project_dir="/data/mnist").project_start("/home/me")
'/data/mnist'
"""

from __future__ import annotations

import os

from traitlets import Float, Unicode
from traitlets.config import LoggingConfigurable

__all__ = ["TeslaLab"]


class TeslaLab(LoggingConfigurable):
    """The ``TeslaLab`` configuration section of a Jupyter server.

    >>> TeslaLab(poll_interval=0.5).poll_interval
    0.5
    """

    project_dir = Unicode(
        "",
        help="The TESLA project the sidebar shows (a folder holding tesla.yaml, or one below it). "
        "Empty: the Jupyter server's root_dir.",
    ).tag(config=True)

    dashboard_url = Unicode(
        "http://127.0.0.1:5006/",
        help="Where the Panel dashboard (`tesla dashboard`) is served; JupyterLab opens it in a tab.",
    ).tag(config=True)

    template = Unicode(
        "notebooks/train.ipynb",
        help="The papermill-parameterized notebook new training notebooks are made from (relative to the project).",
    ).tag(config=True)

    poll_interval = Float(
        2.0,
        min=0.2,
        help="Seconds between the sidebar's refreshes while a run is active (10x that while none is).",
    ).tag(config=True)

    def project_start(self, root_dir: str) -> str:
        """The folder the project is looked up from: ``project_dir`` if set (``~`` expanded, relative to
        ``root_dir``), else the server's ``root_dir``."""
        if not self.project_dir:
            return root_dir
        return os.path.join(root_dir, os.path.expanduser(self.project_dir))
