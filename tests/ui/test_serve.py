"""Serving the dashboard: loopback by default, a token for any other address, login with the token."""

import time

import pytest
import requests

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.ui import serve
from tests.ui.conftest import wait_live


def test_access_rules():
    assert serve.check_access("127.0.0.1", None) is False
    assert serve.check_access("localhost", None) is False
    assert serve.check_access("::1", "a-long-token") is True
    with pytest.raises(ConfigError, match="serving the dashboard on 0.0.0.0 .* needs a token"):
        serve.check_access("0.0.0.0", None)
    with pytest.raises(ConfigError, match="serving the dashboard on my-host.example .* needs a token"):
        serve.check_access("my-host.example", None)
    with pytest.raises(ConfigError, match="the dashboard token must be a string of at least 8 characters"):
        serve.check_access("0.0.0.0", "short")
    for blank in ("", "        ", " s3cret-token"):
        with pytest.raises(ConfigError, match="at least 8 characters without spaces"):
            serve.check_access("0.0.0.0", blank)


def test_main_refuses_a_public_address_without_a_token(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv(serve.TOKEN_ENV, raising=False)
    Project.init(tmp_path)
    assert serve.main(["--project", str(tmp_path), "--host", "0.0.0.0"]) == 2
    assert "needs a token" in caplog.text
    with pytest.raises(ConfigError, match="needs a token"):
        serve.serve_dashboard(tmp_path, host="0.0.0.0")


def test_a_token_puts_the_dashboard_behind_a_login(tmp_path):
    project = Project.init(tmp_path, name="secured")
    server = serve.serve_dashboard(project, port=0, token="s3cret-token", threaded=True, sample="iris")
    try:
        base = f"http://127.0.0.1:{server.port}"
        wait_live(base)
        anonymous = requests.get(base + "/", allow_redirects=False, timeout=30)
        assert anonymous.status_code == 302 and "login" in anonymous.headers["Location"]
        login = requests.get(base + "/login", timeout=30).text  # our page (auth_base.html + login.html)
        assert "<title>TESLA Lab | Login</title>" in login and 'action="./login" method="post"' in login
        assert ".errormessage { color: #c00;" in login and "cdn.holoviz.org" not in login
        with requests.Session() as session:
            wrong = session.post(base + "/login", data={"username": "me", "password": "nope"}, timeout=30)
            assert "Invalid username or password" in wrong.text or "error" in wrong.url
            for _ in range(4):  # five wrong passwords are answered normally ...
                assert session.post(base + "/login", data={"password": "nope"}, timeout=30).status_code == 200
            # ... then the client must wait, and even the right password is not looked at before the wait is over
            throttled = session.post(base + "/login", data={"password": "s3cret-token"}, allow_redirects=False,
                                     timeout=30)
            assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
            assert "Too many failed logins" in throttled.text
            time.sleep(1.2)
            session.post(base + "/login", data={"username": "me", "password": "s3cret-token"}, timeout=30)
            page = session.get(base + "/", timeout=60)
            assert page.status_code == 200 and "TESLA Lab: secured" in page.text
            logout = session.get(base + "/logout", timeout=30).text
            assert "<title>TESLA Lab | Logged out</title>" in logout and "You are logged out." in logout
            assert 'action="./login" method="get"' in logout and ".errormessage { color: #c00;" in logout
            assert session.get(base + "/", allow_redirects=False, timeout=30).status_code == 302  # cookie cleared
    finally:
        server.stop()


def test_make_run_and_tesla_dashboard_serve_the_same_project(tmp_path, monkeypatch):
    from tesla_lab.cli import main as tesla

    monkeypatch.delenv(serve.TOKEN_ENV, raising=False)
    project = Project.init(tmp_path / "mine", name="mine")
    (project.path / "notebooks").mkdir(exist_ok=True)  # Project.init makes one
    served = []
    monkeypatch.setattr(serve, "serve_dashboard", lambda p, **kw: served.append(p.path))
    monkeypatch.chdir(project.path / "notebooks")  # the project around the current folder
    assert serve.main([]) == 0 and tesla(["dashboard"]) == 0
    other = Project.init(tmp_path / "other")
    assert serve.main(["--project", str(other.path)]) == 0 and tesla(["dashboard", "--project", str(other.path)]) == 0
    monkeypatch.setenv("TESLA_DEMO_DIR", str(tmp_path / "demo"))
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")  # no project around: both open the demo project
    assert serve.main([]) == 0 and tesla(["dashboard"]) == 0
    assert served == [project.path] * 2 + [other.path] * 2 + [(tmp_path / "demo").resolve()] * 2


def test_the_served_project_is_told_at_project_json(tmp_path):
    project = Project.init(tmp_path / "shown", name="shown")
    server = serve.serve_dashboard(project, port=0, threaded=True, sample=None, warm_worker=False)
    try:
        base = f"http://127.0.0.1:{server.port}"
        wait_live(base)
        assert requests.get(base + serve.PROJECT_ENDPOINT, timeout=30).json() == {"name": "shown",
                                                                                   "path": str(project.path)}
    finally:
        server.stop()
