"""The sidebar's Dashboard button opens the dashboard of the sidebar's project: the server extension starts
`tesla dashboard --project <that project>` on a free loopback port, reuses it, and stops it with the server."""

import json
import urllib.request

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def jp_server_config():
    # no dashboard_url: the server extension serves the project's dashboard itself
    return {"ServerApp": {"jpserver_extensions": {"tesla_lab.jupyter": True}}}


async def test_the_dashboard_button_serves_the_sidebars_own_project(jp_fetch, jp_serverapp, project, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv("TESLA_DEMO_DIR", str(tmp_path / "demo"))  # were the project lost, the demo would show
    state = jp_serverapp.web_app.settings["tesla_lab"]
    try:
        response = await jp_fetch("tesla-lab", "dashboard")
        idle = json.loads(response.body)
        assert (idle["url"], idle["managed"], idle["project"]) == (None, True, str(project.path))

        response = await jp_fetch("tesla-lab", "dashboard", method="POST", body="", request_timeout=120)
        started = json.loads(response.body)
        url = started["url"]
        assert url.startswith("http://127.0.0.1:") and started["project"] == str(project.path)
        with urllib.request.urlopen(url, timeout=60) as page:
            html = page.read().decode()
        assert "TESLA Lab: lab-test" in html  # the project of the sidebar, not the demo project

        again = json.loads((await jp_fetch("tesla-lab", "dashboard", method="POST", body="")).body)
        assert again["url"] == url  # one dashboard per project, reused
        process = state.dashboard(project)._process
        assert f"--project {project.path}" in " ".join(process.args)
    finally:
        state.close()
    assert process.poll() is not None  # stopped with the server's state
