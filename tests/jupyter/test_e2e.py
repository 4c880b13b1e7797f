"""End to end: `jupyter lab` on 127.0.0.1 with a known token, opened in headless Chromium (Playwright), shows a run
created by the test in the TESLA sidebar, the launcher card and the status bar item. Screenshot:
tests/artifacts/jupyterlab-tesla-sidebar.png."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tesla_lab.store import Project

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "tesla_lab" / "labextension"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("TESLA_CHROMIUM", "/usr/bin/chromium")
TOKEN = "tesla-e2e-token"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def lab(tmp_path):
    """A `jupyter lab` whose root is a fresh TESLA project; yields (base URL, project)."""
    if not (LABEXTENSION / "package.json").is_file():
        pytest.fail(f"the labextension is not built ({LABEXTENSION}); run `make labextension`")
    root = tmp_path / "project"
    project = Project.init(root, name="e2e")
    # an isolated Jupyter: own config (enables the server extension), data, runtime, settings and workspaces
    config, exts = tmp_path / "config", tmp_path / "labextensions"
    config.mkdir()
    exts.mkdir()
    (exts / "tesla-lab").symlink_to(LABEXTENSION, target_is_directory=True)
    (config / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"tesla_lab.jupyter": True}}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    port = _free_port()
    log = tmp_path / "lab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--allow-root", f"--ServerApp.root_dir={root}",
           f"--IdentityProvider.token={TOKEN}", f"--LabApp.extra_labextensions_path={exts}", "--LabApp.news_url=None",
           "--TeslaLab.dashboard_url=http://127.0.0.1:9/"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/api/status?token={TOKEN}", proc, log)
        yield base, project, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the process group this fixture started
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _browser(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-dev-shm-usage"])


def test_sidebar_shows_a_run_created_by_the_test(lab, write_template):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright for the browser test")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"NO BROWSER TEST: Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    base, project, log = lab
    run = project.start_run(name="e2e-tt-rank-4", params={"epochs": 10})
    for epoch in range(3):
        run.log_metrics({"loss": 1.0 / (epoch + 1), "val_accuracy": 0.6 + 0.1 * epoch}, step=epoch)
    write_template(project.notebooks_dir / "train.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/lab?token={TOKEN}", wait_until="domcontentloaded", timeout=60_000)
            # the launcher card and the status bar item come with the extension
            page.wait_for_selector(".jp-LauncherCard[title*='TESLA Lab']", timeout=60_000)
            page.click("li[data-id='tesla-lab-sidebar']")
            try:
                row = page.wait_for_selector(f".jp-TeslaLab-run[data-run-id='{run.id}']", timeout=60_000)
            except sync_api.Error as exc:
                page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-failure.png"))
                raise AssertionError(f"the run never showed in the sidebar (screenshot: tests/artifacts/"
                                     f"jupyterlab-tesla-failure.png); server log:\n{log.read_text()[-4000:]}") from exc
            page.wait_for_selector(".jp-TeslaLab-statusText:has-text('TESLA: 1 running')", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-sidebar.png"))
            text = row.inner_text()
            # Stop goes through a confirmation dialog and a token + XSRF-checked POST
            row.query_selector("button:has-text('Stop')").click()
            page.click(".jp-Dialog-footer button:has-text('Stop')")
            deadline = time.monotonic() + 15
            while not run.stop_requested() and time.monotonic() < deadline:
                time.sleep(0.2)
            page.evaluate("document.querySelector('.jp-Launcher-body').scrollTop = 1e6")
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-launcher.png"))
            # a new training notebook from the template: the form shows its parameters, the notebook opens
            page.click(".jp-TeslaLab-toolbar button:has-text('New training notebook')")
            page.fill("input[data-param='tesla-name']", "from-e2e")
            page.fill("input[data-param='tesla-param-epochs']", "12")
            page.click(".jp-Dialog-footer button:has-text('Create')")
            page.wait_for_selector(".lm-TabBar-tab:has-text('from-e2e.ipynb')", timeout=30_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-notebook.png"))
        finally:
            browser.close()

    assert "e2e-tt-rank-4" in text
    assert "running" in text
    assert "val_accuracy 0.8" in text
    assert "3/10 epochs (30%)" in text
    assert run.stop_requested()
    created = (project.notebooks_dir / "from-e2e.ipynb").read_text()
    assert "epochs = 12" in created
