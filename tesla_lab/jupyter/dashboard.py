"""The dashboard of the sidebar's project, served by a child process of the Jupyter server.

The sidebar's "Dashboard" button never opens whatever happens to listen on port 5006: the server extension starts
``python -m tesla_lab.ui.serve --project <the sidebar's project>`` on a free loopback port (once per project, reused
while it lives) and JupyterLab opens that URL, so the dashboard and the sidebar always show the same project. The
child runs on the jobs' leash (:mod:`tesla_lab.jobs._leash`): it stops when the Jupyter server ends, however it
ends. Its output goes to ``.tesla/dashboard.log`` in the project.

>>> dash = ManagedDashboard("/tmp/some-project")
>>> dash.url is None, dash.alive()
(True, False)
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tesla_lab.errors import ServerError

__all__ = ["ManagedDashboard", "START_TIMEOUT"]

logger = logging.getLogger(__name__)

#: seconds a starting dashboard gets to answer /liveness (Panel's import takes a few seconds on a small machine)
START_TIMEOUT = 90.0
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ManagedDashboard:
    """One project's dashboard process: :meth:`ensure` starts it (or finds it running) and returns its URL."""

    def __init__(self, project_dir: str | os.PathLike[str]) -> None:
        self.project_dir = Path(project_dir)
        self.url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def alive(self) -> bool:
        """Whether the child process runs."""
        return self._process is not None and self._process.poll() is None

    def _answers(self) -> bool:
        if self.url is None:
            return False
        try:
            with urllib.request.urlopen(self.url + "liveness", timeout=2) as response:  # noqa: S310 - our loopback URL
                return response.status == 200
        except OSError:
            return False

    def ensure(self, timeout: float = START_TIMEOUT) -> str:
        """The URL of this project's dashboard, started first when it does not run (blocks until it answers).

        Raises :class:`ServerError` with the end of its log when it exits or does not answer within ``timeout``."""
        with self._lock:
            if self.alive() and self._answers():
                return str(self.url)
            self._stop()
            port = _free_port()
            log_path = self.project_dir / ".tesla" / "dashboard.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            leash = Path(__file__).resolve().parents[1] / "jobs" / "_leash.py"
            cmd = [sys.executable, str(leash), str(os.getpid()), "-m", "tesla_lab.ui.serve",
                   "--project", str(self.project_dir), "--host", HOST, "--port", str(port)]
            logger.info("starting the dashboard of %s on port %d", self.project_dir, port)
            with open(log_path, "ab") as log:
                self._process = subprocess.Popen(cmd, cwd=self.project_dir, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, start_new_session=True)
            self.url = f"http://{HOST}:{port}/"
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not self.alive():
                    raise ServerError(f"the dashboard of {self.project_dir} exited with status "
                                      f"{self._process.returncode}; the end of {log_path}:\n{_tail(log_path)}")
                if self._answers():
                    return self.url
                time.sleep(0.25)
            self._stop()
            raise ServerError(f"the dashboard of {self.project_dir} did not answer within {timeout:.0f} s; the end "
                              f"of {log_path}:\n{_tail(log_path)}")

    def stop(self) -> None:
        """Stop the child (SIGINT to its process group, SIGKILL after 10 s)."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        process, self._process, self.url = self._process, None, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGINT)  # its own session: the group is the dashboard alone
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    return ""


_STARTED: list[ManagedDashboard] = []


def _stop_all() -> None:
    for dash in _STARTED:
        dash.stop()


atexit.register(_stop_all)


def track(dash: ManagedDashboard) -> ManagedDashboard:
    """Remember ``dash`` so it is stopped when this process exits normally (the leash covers the other ways)."""
    _STARTED.append(dash)
    return dash
