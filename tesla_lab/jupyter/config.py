"""Settings of the TESLA Lab server extension, read from Jupyter's own configuration system.

Set them like any Jupyter option: ``jupyter lab --TeslaLab.project_dir=~/mnist``, or in
``jupyter_server_config.py``: ``c.TeslaLab.poll_interval = 5``.

>>> TeslaLab().dashboard_url  # empty: the server extension serves the sidebar's project itself
''
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
        "",
        help="Empty (the default): the sidebar's Dashboard button starts `tesla dashboard` for the sidebar's own "
        "project on a free loopback port, so both always show the same project. A URL: open that dashboard instead "
        "(one you run yourself, e.g. behind a proxy; it must serve the same project).",
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
