"""The dashboard works on a machine without internet: in headless Chromium, the dashboard (open, and behind the
token login) makes no request to any host but the loopback one it is served from: no Google Fonts, no CDN.

Every request the page makes is recorded (``page.on("request")``); one to another host is also aborted, so the
test neither hangs nor depends on this machine's network. Screenshots go to tests/artifacts/.
"""

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.ui.conftest import screenshot, wait_live

pytestmark = pytest.mark.slow

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _serve(tmp_path: Path, token: str | None):
    from tesla_lab.store import Project
    from tesla_lab.ui.serve import serve_dashboard

    project = Project.init(tmp_path / "offline", name="offline")
    server = serve_dashboard(project, port=0, threaded=True, token=token, sample=None)
    url = f"http://127.0.0.1:{server.port}"
    wait_live(url)
    return server, url


def _recording_page(browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(60_000)
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))

    def route(r):
        host = urlparse(r.request.url).hostname
        r.continue_() if host in LOOPBACK or r.request.url.startswith(("data:", "blob:")) else r.abort()

    page.route("**/*", route)
    return page, seen


def _outside(seen: list[str]) -> list[str]:
    return sorted({u for u in seen if not u.startswith(("data:", "blob:")) and urlparse(u).hostname not in LOOPBACK})


def _shot(page, name):
    screenshot(page, f"offline-{name}")


def test_the_dashboard_requests_nothing_outside_the_machine(chromium, tmp_path):
    from playwright.sync_api import expect

    server, url = _serve(tmp_path, token=None)
    try:
        page, seen = _recording_page(chromium)
        page.goto(url + "/", timeout=90_000)
        expect(page.locator(".bk-tab").get_by_text("Data", exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        _shot(page, "dashboard")
        assert len(seen) > 5  # the page really loaded its scripts and styles (from the server)
        assert _outside(seen) == []
        page.close()
    finally:
        server.stop()


def test_the_login_page_and_the_dashboard_behind_it_request_nothing_outside(chromium, tmp_path):
    from playwright.sync_api import expect

    token = "offline-" + os.urandom(8).hex()
    server, url = _serve(tmp_path, token=token)
    try:
        page, seen = _recording_page(chromium)
        page.goto(url + "/", timeout=90_000)
        expect(page.get_by_text("Log in with the dashboard token")).to_be_visible()
        page.wait_for_load_state("networkidle")
        _shot(page, "login")
        assert _outside(seen) == []
        page.fill("input[name=username]", "me")
        page.fill("input[name=password]", token)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".bk-tab").get_by_text("Data", exact=True)).to_be_visible(timeout=90_000)
        page.wait_for_load_state("networkidle")
        _shot(page, "dashboard-after-login")
        assert _outside(seen) == []
        page.close()
    finally:
        server.stop()
