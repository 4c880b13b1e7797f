"""Serve the dashboard: ``python -m tesla_lab.ui.serve`` (what ``make run`` starts) and ``tesla dashboard``.

It opens the project given with ``--project``, else the one around the current folder, else the demo project
(``~/.tesla/demo``, created with the digits sample on first use; ``$TESLA_DEMO_DIR`` moves it), and serves it on
http://127.0.0.1:5006. Both entry points resolve the project with the same :func:`resolve_project` before serving;
the header of every page shows its folder, and (on loopback, without a login) ``GET /project.json`` answers
``{"name", "path"}`` so a launcher (the JupyterLab sidebar) can check which project a running dashboard shows.

Only the loopback address is served without a password: ``--host 0.0.0.0`` (or any other
address) needs ``--token`` (or ``$TESLA_DASHBOARD_TOKEN``), which becomes the password of Panel's login page
(any user name), with a random cookie secret per start.

>>> check_access("0.0.0.0", None)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: serving the dashboard on 0.0.0.0 makes it reachable from other machines, so it needs \
a token: pass --token SECRET (or set TESLA_DASHBOARD_TOKEN); or keep the default --host 127.0.0.1
>>> check_access("127.0.0.1", None), check_access("0.0.0.0", "s3cret-token")
(False, True)
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import secrets
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tesla_lab.errors import ConfigError

if TYPE_CHECKING:
    from tesla_lab.store import Project

__all__ = ["serve_dashboard", "check_access", "main", "add_arguments", "resolve_project", "DEFAULT_PORT",
           "TOKEN_ENV", "PROJECT_ENDPOINT"]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5006
TOKEN_ENV = "TESLA_DASHBOARD_TOKEN"
_MIN_TOKEN = 8
PROJECT_ENDPOINT = "/project.json"  # {"name", "path"} of the served project (loopback only)
DASHBOARD_THREADS = 4  # worker threads for widget callbacks (see serve_dashboard)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _describe(token: object) -> str:
    if not isinstance(token, str):
        return type(token).__name__
    if not token.strip():
        return "an empty or blank string"
    return f"{len(token)} characters" + (" with whitespace" if any(c.isspace() for c in token) else "")


def check_access(host: str, token: str | None) -> bool:
    """Whether a login is required: never on loopback without a token; always when a token is given. A
    non-loopback ``host`` without a token is refused with a ConfigError."""
    if token is not None and (not isinstance(token, str) or len(token.strip()) < _MIN_TOKEN
                              or any(c.isspace() for c in token)):
        raise ConfigError(f"the dashboard token must be a string of at least {_MIN_TOKEN} characters without spaces "
                          f"(it is the login password); got {_describe(token)}; e.g. python -c 'import secrets; "
                          "print(secrets.token_urlsafe())'")
    if token is None and not _is_loopback(host):
        raise ConfigError(f"serving the dashboard on {host} makes it reachable from other machines, so it needs a "
                          f"token: pass --token SECRET (or set {TOKEN_ENV}); or keep the default --host "
                          f"{DEFAULT_HOST}")
    return token is not None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host if host != "0.0.0.0" else "", 0))
        return int(sock.getsockname()[1])


def resolve_project(project: str | os.PathLike[str] | None = None) -> Project:
    """The project a dashboard serves, the same for ``make run``, ``tesla dashboard`` and a launcher: ``project``
    when given, else the one around the current folder, else the demo project (see
    :func:`tesla_lab.ui.project.open_project`).

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> folder = Project.init(tempfile.mkdtemp(), name="mine").path
    >>> resolve_project(folder).path == folder
    True
    """
    from tesla_lab.ui.project import open_project

    return open_project(project)


def _project_handler(project: Project) -> Any:
    import json

    from tornado.web import RequestHandler

    class ProjectHandler(RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", "application/json")
            self.write(json.dumps({"name": project.name, "path": str(project.path)}))

    return ProjectHandler


def serve_dashboard(project: Project | str | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                    token: str | None = None, show: bool = False, threaded: bool = False,
                    allow_websocket_origin: Sequence[str] | None = None, sample: str | None = "digits",
                    warm_worker: bool = True) -> Any:
    """Start the Panel server for ``project`` and return it (``threaded=True``: in a background thread, for
    tests; otherwise this call blocks until Ctrl-C). ``port=0`` picks a free port (``server.port`` tells which).
    ``warm_worker`` keeps one training worker with its imports done (:mod:`tesla_lab.jobs.warm`): a Train click
    starts training at once instead of after the ~4 s a new Python process needs for torch.
    """
    from tesla_lab.store import Project
    from tesla_lab.ui.offline import serve_locally
    from tesla_lab.ui.pages.common import pn
    from tesla_lab.ui.session_order import order_events_per_session

    auth = check_access(host, token)
    if not isinstance(project, Project):
        project = resolve_project(project)
    root = str(project.path)
    if warm_worker:
        from tesla_lab.jobs.warm import keep_warm

        keep_warm(project)
    if port == 0:
        port = _free_port(host)
    origins = list(allow_websocket_origin or [])
    if not origins:
        origins = [f"localhost:{port}", f"127.0.0.1:{port}"] if _is_loopback(host) else ["*"]

    def session() -> Any:
        from tesla_lab.ui.app import create_app

        # one Project object for every session (its database keeps one connection per thread): opening the store
        # again in this process while connections are open would drop their SQLite file locks
        return create_app(project, sample=sample)

    options: dict[str, Any] = {}
    if not auth:  # behind a login the project's folder is not told to whoever asks
        options["extra_patterns"] = [(PROJECT_ENDPOINT, _project_handler(project))]
    if auth:
        from tesla_lab.ui.login import throttled_auth_provider

        # Panel's login page, with a constant-time check, logged failures and back-off for clients that keep guessing
        options.update(auth_provider=throttled_auth_provider(token), cookie_secret=os.environ.get(
            "TESLA_COOKIE_SECRET") or secrets.token_urlsafe(32))
    logger.info("TESLA Lab dashboard for project %s (%s) on http://%s:%d%s", project.name, root, host, port,
                " (login with the token as password)" if auth else "")
    # widget events run on worker threads, never on the server's event loop: parsing an upload or profiling a wide
    # table cannot stop the server from answering other sessions (and /liveness) meanwhile; one session's events
    # run in the order they came (a value typed, then a click that reads it), one at a time
    pn.config.nthreads = max(int(pn.config.nthreads or 0), DASHBOARD_THREADS)
    order_events_per_session()
    serve_locally()  # no CDN, no web font: every request stays on this server
    from tesla_lab.data.isolated import warm_up

    warm_up()  # uploads are parsed in worker processes (tesla_lab.data.isolated): start their fork server now
    server = pn.serve({"/": session}, port=port, address=host, websocket_origin=origins, show=show,
                      threaded=threaded, liveness=True, title="TESLA Lab", **options)
    if not hasattr(server, "port"):
        server.port = port  # the thread of a threaded server: tell callers where it listens
    return server


def add_arguments(parser: argparse.ArgumentParser, *, project_option: bool = True) -> None:
    """The dashboard's options (shared by ``python -m tesla_lab.ui.serve`` and ``tesla dashboard``)."""
    if project_option:
        parser.add_argument("--project", metavar="DIR", default=None,
                            help="the project folder (default: the one holding the current folder, else the demo "
                                 "project in ~/.tesla/demo)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; any other needs --token)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                        help=f"login password (default ${TOKEN_ENV}); required for a non-loopback --host")
    parser.add_argument("--show", action="store_true", help="open a browser tab")
    parser.add_argument("--allow-websocket-origin", action="append", default=None, metavar="HOST:PORT",
                        help="extra origins allowed to connect (default: this host and port)")


def run(args: argparse.Namespace) -> int:
    """Serve with parsed ``args`` until Ctrl-C (the project resolved first, by :func:`resolve_project`)."""
    check_access(args.host, args.token)  # a refused host or token fails before anything is opened or created
    serve_dashboard(resolve_project(getattr(args, "project", None)), host=args.host, port=args.port, token=args.token,
                    show=args.show, allow_websocket_origin=args.allow_websocket_origin)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tesla_lab.ui.serve [--project DIR] [--host H] [--port P] [--token T] [--show]``."""
    parser = argparse.ArgumentParser(prog="python -m tesla_lab.ui.serve", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except ConfigError as exc:
        logger.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
