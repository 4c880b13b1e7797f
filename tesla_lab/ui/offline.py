"""The dashboard loads everything from its own server: no Google Fonts, no CDN (it works on an offline machine
and tells no third party who opens it).

Panel serves BokehJS and its own bundles locally when Bokeh's resource mode is ``server``; the Fast design of the
dashboard's template still links the Open Sans font on fonts.googleapis.com, and Panel's login page shows a logo
from cdn.holoviz.org. :func:`serve_locally` forces the mode and drops the font link (the page falls back to the
system sans-serif); :data:`LOGIN_TEMPLATE` and :data:`LOGOUT_TEMPLATE` are the login pages without the remote logo
(both extend ``auth_base.html``, their shared head and style: load them with :func:`auth_template`).

>>> serve_locally()
>>> from bokeh.settings import settings
>>> settings.resources()
'server'
>>> from panel.theme.fast import Fast
>>> Fast._resources["font"]
{}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["serve_locally", "auth_template", "LOGIN_TEMPLATE", "LOGOUT_TEMPLATE"]

#: The dashboard's login page (a Jinja template with ``login_endpoint`` and ``errormessage``), self-contained.
LOGIN_TEMPLATE = Path(__file__).with_name("login.html")
#: The page after ``/logout`` (a Jinja template with ``LOGIN_ENDPOINT``), self-contained.
LOGOUT_TEMPLATE = Path(__file__).with_name("logout.html")


def serve_locally() -> None:
    """Configure Panel and Bokeh, process-wide, to serve every resource from the dashboard's own server.

    Idempotent; call it before the server starts (``serve_dashboard`` does)."""
    from bokeh.settings import settings
    from panel.theme.fast import Fast

    settings.resources.set_value("server")  # over $BOKEH_RESOURCES=cdn too: the dashboard never uses a CDN
    # the design's only remote resource is its web font (its JS modules are bundled with Panel and served locally)
    Fast._resources = {**Fast._resources, "font": {}}


def auth_template(path: Path) -> Any:
    """The Jinja template of a login page of this folder (:data:`LOGIN_TEMPLATE`, :data:`LOGOUT_TEMPLATE`), loaded
    so that its ``{% extends "auth_base.html" %}`` finds the shared page (Panel's own loader does not look here).

    >>> page = auth_template(LOGOUT_TEMPLATE).render(LOGIN_ENDPOINT="/login")
    >>> "<title>TESLA Lab | Logged out</title>" in page, 'action="./login"' in page
    (True, True)
    """
    import jinja2  # Panel's (and Bokeh's) own dependency: ui only

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(path).parent), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)  # as Panel's environment, escaping on
    return env.get_template(Path(path).name)
