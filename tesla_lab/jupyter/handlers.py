"""REST handlers under ``<base_url>/tesla-lab/``: thin routes onto :mod:`tesla_lab.jupyter.api`.

Every verb is ``@tornado.web.authenticated`` on Jupyter's :class:`APIHandler`, so the server's own token / login and
XSRF rules apply (no token: 403). Store calls run on a worker thread so a slow or locked SQLite file never blocks the
Jupyter server's event loop.

==========================================  =====  =====================================================
route                                       verb   does
==========================================  =====  =====================================================
``tesla-lab/config``                        GET    dashboard URL, poll interval, project folder
``tesla-lab/overview``                      GET    project, datasets, runs (key metric, progress), models
``tesla-lab/project``                       POST   create a project in the project folder ``{name, confirm}``
``tesla-lab/project/demo``                  POST   show the demo project (``make run``'s) instead
``tesla-lab/runs/<run>``                    GET    a run's page: params, metrics, curves, notebook
``tesla-lab/runs/<run>/stop``               POST   stop a queued or running run
``tesla-lab/runs/<run>/notebook``           POST   copy its executed notebook where JupyterLab opens it
``tesla-lab/models/<name>/<version>/stage`` POST   move a model version to ``{stage}``
``tesla-lab/notebooks/template[?path=]``   GET    papermill parameters of the template (or a notebook)
``tesla-lab/notebooks/validate``            POST   each bad value's error ``{path?, parameters}``
``tesla-lab/notebooks``                     POST   new notebook from the template ``{parameters, name}``
``tesla-lab/jobs``                          POST   run a notebook as a papermill job ``{path, parameters}``
``tesla-lab/dashboard``                     GET    the dashboard of the sidebar's project: URL, running?
``tesla-lab/dashboard``                     POST   start it (once; a running one is reused) and answer its URL
==========================================  =====  =====================================================

>>> [pattern for pattern, _ in routes("/")][:2]
['/tesla-lab/config', '/tesla-lab/overview']
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from tesla_lab.errors import ConfigError, NotFoundError, StoreError, TeslaError
from tesla_lab.jupyter import api, details, setup
from tesla_lab.jupyter.config import TeslaLab
from tesla_lab.jupyter.dashboard import ManagedDashboard, track
from tesla_lab.store import Project

__all__ = ["LabState", "routes", "setup_handlers", "NAMESPACE"]

NAMESPACE = "tesla-lab"


class LabState:
    """What the handlers share: the settings, the server's root folder and the project (opened once, lazily, so a
    project created after the server started is found).

    >>> import tempfile
    >>> LabState(TeslaLab(), tempfile.mkdtemp()).project() is None
    True
    """

    def __init__(self, config: TeslaLab, root_dir: str) -> None:
        self.config = config
        self.root_dir = os.path.abspath(os.path.expanduser(root_dir))
        self.start = os.path.abspath(config.project_start(self.root_dir))
        self._project: Project | None = None
        self._lock = threading.Lock()
        self._dashboards: dict[str, ManagedDashboard] = {}

    def project(self) -> Project | None:
        """The project at (or above) the project folder, or ``None`` while there is none."""
        with self._lock:
            if self._project is None:
                self._project = api.find_project(self.start)
            return self._project

    def use(self, project: Project) -> None:
        """Show ``project`` from now on (the demo project, chosen in a folder without one)."""
        with self._lock:
            self.start = str(project.path)
            self._project = project

    def dashboard(self, project: Project) -> ManagedDashboard:
        """The dashboard process of ``project`` (one per project, started on demand)."""
        key = str(project.path)
        with self._lock:
            if key not in self._dashboards:
                self._dashboards[key] = track(ManagedDashboard(project.path))
            return self._dashboards[key]

    def close(self) -> None:
        """Stop the dashboards this state started."""
        with self._lock:
            dashboards, self._dashboards = list(self._dashboards.values()), {}
        for dash in dashboards:
            dash.stop()

    def forget(self) -> None:
        """Drop the cached project (after one was created) so the next request looks it up again."""
        with self._lock:
            self._project = None

    def require_project(self) -> Project:
        """The project, or a :class:`NotFoundError` saying how to create one."""
        project = self.project()
        if project is None:
            raise NotFoundError(f"no TESLA project at {self.start} or above it (no tesla.yaml); create one with the "
                                "sidebar's 'Create project' button or `tesla init`, or start Jupyter with "
                                "--TeslaLab.project_dir=PATH")
        return project

    def resolve(self, path: str) -> str:
        """A path under the server root (as JupyterLab names files) as an absolute path; one that leaves the root
        is refused."""
        full = os.path.abspath(os.path.join(self.root_dir, path))
        if self.contents_path(full) is None:
            raise ConfigError(f"{path!r} lies outside the Jupyter root folder {self.root_dir}; pass a path under it")
        return full

    def contents_path(self, path: os.PathLike[str] | str) -> str | None:
        """``path`` relative to the server root (what JupyterLab opens), or None when it lies outside it."""
        rel = os.path.relpath(os.path.abspath(path), self.root_dir)
        return None if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel.replace(os.sep, "/")


def _status_for(exc: BaseException) -> int:
    if isinstance(exc, api.LabDependencyError):
        return 501
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, StoreError):
        return 500
    if isinstance(exc, (TeslaError, ValueError)):
        return 400
    return 500


class _Handler(APIHandler):
    """Shared plumbing: the state, JSON bodies, library calls on a thread with errors as JSON answers."""

    @property
    def state(self) -> LabState:
        return self.settings["tesla_lab"]

    def body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise tornado.web.HTTPError(400, f"the request body must be JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, f"the request body must be a JSON object; got {type(data).__name__}")
        return data

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (TeslaError, ValueError) as exc:
            status = _status_for(exc)
            if status >= 500:
                self.log.error("tesla-lab: %s", exc, exc_info=exc)
            # APIHandler.write_error answers {"message": ...}; no %-args, so the text is used as is
            raise tornado.web.HTTPError(status, str(exc)) from exc

    def reply(self, data: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(api.to_json(data)))


class ConfigHandler(_Handler):
    @tornado.web.authenticated
    def get(self) -> None:
        config = self.state.config
        self.reply({"dashboard_url": config.dashboard_url, "poll_interval": config.poll_interval,
                    "project_dir": self.state.start, "template": config.template})


class OverviewHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        def work() -> dict[str, Any]:
            project = self.state.project()
            if project is None:
                return {"project": None, "project_dir": self.state.start, "datasets": [], "runs": [], "models": [],
                        "notebooks": [], "active": 0}
            data = api.overview(project)
            data["notebooks"] = [{"name": name, "path": self.state.contents_path(project.path / name)}
                                 for name in data["notebooks"]]
            return data

        self.reply(await self.call(work))


#: the answer to a create that needs the user's confirmation (repeat it with ``confirm: true``)
CONFIRM_STATUS = 428


class ProjectHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        name, confirm = body.get("name"), body.get("confirm", False)
        if name is not None and not isinstance(name, str):
            raise tornado.web.HTTPError(400, f"'name' must be a string; got {name!r}")
        if not isinstance(confirm, bool):
            raise tornado.web.HTTPError(400, f"'confirm' must be true or false; got {confirm!r}")

        def work() -> dict[str, Any]:
            existing = self.state.project()
            if existing is not None:
                raise tornado.web.HTTPError(409, f"a TESLA project already exists at {existing.path} "
                                                 f"({existing.name}); the sidebar shows it (nothing was changed)")
            try:
                project = setup.create_project_here(self.state.start, name, confirm=confirm)
            except setup.ConfirmationRequired as exc:
                raise tornado.web.HTTPError(CONFIRM_STATUS, str(exc)) from exc
            self.state.forget()  # found again on the next request
            return {"name": project.name, "path": str(project.path)}

        self.set_status(201)
        self.reply(await self.call(work))


class DemoProjectHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        def work() -> dict[str, Any]:
            project = setup.open_demo_project()
            self.state.use(project)
            return {"name": project.name, "path": str(project.path)}

        self.reply(await self.call(work))


class RunHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, run: str) -> None:
        self.reply(await self.call(lambda: details.run_page(self.state.require_project(), run)))


class RunNotebookHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, run: str) -> None:
        def work() -> dict[str, Any]:
            path = details.executed_notebook(self.state.require_project(), run)
            return {"path": self.state.contents_path(path), "file": str(path)}

        self.reply(await self.call(work))


class ModelStageHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, name: str, version: str) -> None:
        stage = self.body().get("stage")
        if not isinstance(stage, str):
            raise tornado.web.HTTPError(400, f"'stage' must be a string such as 'production'; got {stage!r}")
        self.reply(await self.call(lambda: details.set_model_stage(self.state.require_project(), name, version,
                                                                   stage)))


class StopHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, run: str) -> None:
        self.reply(await self.call(lambda: api.stop_run(self.state.require_project(), run)))


class TemplateHandler(_Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        path = self.get_query_argument("path", None)

        def work() -> dict[str, Any]:
            project = self.state.require_project()
            template = self.state.config.template if path is None else self.state.resolve(path)
            return api.template_parameters(project, template)

        self.reply(await self.call(work))


class ValidateHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        path, parameters = body.get("path"), body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise tornado.web.HTTPError(400, f"'parameters' must be a JSON object; got {parameters!r}")

        def work() -> dict[str, Any]:
            project = self.state.require_project()
            template = self.state.config.template if not path else self.state.resolve(str(path))
            declared = api.template_parameters(project, template)["parameters"]
            return {"errors": api.validate_parameters(declared, parameters)}

        self.reply(await self.call(work))


class NotebooksHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        parameters, name = body.get("parameters") or {}, body.get("name") or None
        if not isinstance(parameters, dict):
            raise tornado.web.HTTPError(400, f"'parameters' must be a JSON object; got {parameters!r}")

        def work() -> dict[str, Any]:
            path = api.create_notebook(self.state.require_project(), self.state.config.template, parameters,
                                       name=name)
            return {"path": self.state.contents_path(path), "file": str(path)}

        self.set_status(201)
        self.reply(await self.call(work))


class JobsHandler(_Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        path, parameters = body.get("path"), body.get("parameters") or {}
        if not isinstance(path, str) or not path:
            raise tornado.web.HTTPError(400, f"'path' must be a notebook path under the Jupyter root; got {path!r}")
        if not isinstance(parameters, dict):
            raise tornado.web.HTTPError(400, f"'parameters' must be a JSON object; got {parameters!r}")

        def work() -> dict[str, Any]:
            return api.run_notebook(self.state.require_project(), self.state.resolve(path), parameters)

        self.set_status(202)
        self.reply(await self.call(work))


class DashboardHandler(_Handler):
    """GET: where the dashboard of the sidebar's project is (``running`` false until the first POST started it);
    POST: start it (reused while it runs) and answer its URL. With ``c.TeslaLab.dashboard_url`` set, that URL is
    probed instead (``managed`` false)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        url = self.state.config.dashboard_url
        if url:
            self.reply(await self._probe(url))
            return
        project = self.state.project()
        dash = None if project is None else self.state.dashboard(project)
        self.reply({"url": dash.url if dash and dash.alive() else None, "reachable": bool(dash and dash.alive()),
                    "hint": None, "managed": True, "project": None if project is None else str(project.path)})

    @tornado.web.authenticated
    async def post(self) -> None:
        url = self.state.config.dashboard_url
        if url:
            self.reply(await self._probe(url))
            return

        def work() -> dict[str, Any]:
            project = self.state.require_project()
            started = self.state.dashboard(project).ensure()
            return {"url": started, "reachable": True, "hint": None, "managed": True, "project": str(project.path)}

        self.reply(await self.call(work))

    async def _probe(self, url: str) -> dict[str, Any]:
        reachable = True
        try:
            # Panel's /liveness answers without opening a dashboard session (`tesla dashboard` serves it)
            await AsyncHTTPClient().fetch(url_path_join(url, "liveness"), method="GET", request_timeout=2.0,
                                          connect_timeout=1.0, follow_redirects=True)
        except HTTPClientError as exc:
            reachable = exc.code < 500  # it answered (a login page, a 404 at the root still means it runs)
        except (OSError, ValueError):  # refused, unresolvable, a malformed URL
            reachable = False
        hint = None if reachable else f"nothing answers at {url}; start the dashboard with `tesla dashboard`"
        return {"url": url, "reachable": reachable, "hint": hint, "managed": False, "project": None}


def routes(base_url: str) -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    """The URL patterns and handlers, under ``base_url``."""
    table: list[tuple[str, type[tornado.web.RequestHandler]]] = [
        ("config", ConfigHandler),
        ("overview", OverviewHandler),
        ("project", ProjectHandler),
        ("project/demo", DemoProjectHandler),
        (r"runs/([^/]+)", RunHandler),
        (r"runs/([^/]+)/stop", StopHandler),
        (r"runs/([^/]+)/notebook", RunNotebookHandler),
        (r"models/([^/]+)/([^/]+)/stage", ModelStageHandler),
        ("notebooks/template", TemplateHandler),
        ("notebooks/validate", ValidateHandler),
        ("notebooks", NotebooksHandler),
        ("jobs", JobsHandler),
        ("dashboard", DashboardHandler),
    ]
    return [(url_path_join(base_url, NAMESPACE, pattern), handler) for pattern, handler in table]


def setup_handlers(web_app: tornado.web.Application, config: TeslaLab, root_dir: str) -> LabState:
    """Register the routes on a Jupyter server's web app and return the shared state."""
    state = LabState(config, root_dir)
    web_app.settings["tesla_lab"] = state
    web_app.add_handlers(".*$", routes(web_app.settings.get("base_url", "/")))
    return state
