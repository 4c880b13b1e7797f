"""End to end: `jupyter lab` on 127.0.0.1 with a known token, opened in headless Chromium (Playwright), shows a run
created by the test in the TESLA sidebar, the launcher card and the status bar item; a run's name opens its page, a
model is promoted, the notebook form hides the runner's fields and refuses a bad value, the Dashboard button opens
the dashboard of the sidebar's project, and a folder without a project offers to create one or open the demo.
Screenshots: tests/artifacts/jupyterlab-tesla-*.png."""

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
def lab(tmp_path, request):
    """A `jupyter lab` whose root is a fresh TESLA project; yields (base URL, project, log). Indirect parameters:
    ``project`` (False: a root folder without one; project is then None), ``dashboard_url`` ("" : the extension
    serves the project's dashboard itself)."""
    if not (LABEXTENSION / "package.json").is_file():
        pytest.fail(f"the labextension is not built ({LABEXTENSION}); run `make labextension`")
    options = getattr(request, "param", {})
    root = tmp_path / "project"
    root.mkdir()
    project = Project.init(root, name="e2e") if options.get("project", True) else None
    # an isolated Jupyter: own config (enables the server extension), data, runtime, settings and workspaces
    config, exts = tmp_path / "config", tmp_path / "labextensions"
    config.mkdir()
    exts.mkdir()
    (exts / "tesla-lab").symlink_to(LABEXTENSION, target_is_directory=True)
    (config / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"tesla_lab.jupyter": True}}}))
    env = {**os.environ, "TESLA_DEMO_DIR": str(tmp_path / "demo"),
           "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    port = _free_port()
    log = tmp_path / "lab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--allow-root", f"--ServerApp.root_dir={root}",
           f"--IdentityProvider.token={TOKEN}", f"--LabApp.extra_labextensions_path={exts}", "--LabApp.news_url=None",
           f"--TeslaLab.dashboard_url={options.get('dashboard_url', 'http://127.0.0.1:9/')}"]
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


def _need_browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright for the browser test")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"NO BROWSER TEST: Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    return sync_api


def _open_sidebar(page, base):
    page.goto(f"{base}/lab?token={TOKEN}", wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(".jp-LauncherCard[title*='TESLA Lab']", timeout=60_000)
    page.click("li[data-id='tesla-lab-sidebar']")


@pytest.mark.parametrize("lab", [{"dashboard_url": ""}], indirect=True)
def test_runs_and_models_are_clickable_and_the_dashboard_is_the_sidebars_project(lab, write_template):
    sync_api = _need_browser()
    base, project, log = lab
    run = project.start_run(name="tt-rank-4", params={"epochs": 6, "tt_rank": 4, "hidden": 32})
    for epoch, (loss, acc) in enumerate([(1.2, 0.4), (0.8, 0.6), (0.5, 0.75), (0.4, 0.8)]):
        run.log_metrics({"loss": loss, "val_loss": loss + 0.1, "accuracy": acc, "val_accuracy": acc - 0.05},
                        step=epoch)
    run.finish("crashed", error="its process (pid 4242) is gone")
    sha = run.log_artifact("model.pt", b"weights")
    project.registry.register_model("digits-tt", run_id=run.id, artifact=sha)
    write_template(project.notebooks_dir / "train.ipynb",
                   "epochs = 3\ntarget = None\nproject_dir = '.'\ntesla_run_id = None\n")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            _open_sidebar(page, base)
            row = page.wait_for_selector(f".jp-TeslaLab-run[data-run-id='{run.id}']", timeout=60_000)
            assert "jp-TeslaLab-status-crashed" in row.get_attribute("class")
            model_row = page.wait_for_selector(".jp-TeslaLab-model[data-model='digits-tt:1']")
            promote = model_row.query_selector("button:has-text('Promote to production')")
            # the label is not cut off: the button is as wide as its text
            assert promote.evaluate("b => b.scrollWidth <= b.clientWidth")
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-crashed-and-model.png"))

            # a run's name opens its page: one chart per metric, params, last metrics
            row.query_selector(".jp-TeslaLab-link").click()
            run_page = page.wait_for_selector(f".jp-TeslaLab-runPage[data-run-id='{run.id}']", timeout=30_000)
            charts = [c.get_attribute("data-metric") for c in run_page.query_selector_all(".jp-TeslaLab-chart")]
            assert charts == ["loss", "accuracy"]
            assert run_page.query_selector_all(".jp-TeslaLab-chart[data-metric='loss'] path").__len__() == 2
            text = run_page.inner_text()
            assert "its process (pid 4242) is gone" in text and "tt_rank" in text and "0.75" in text
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-run-page.png"))

            # promote, through the confirmation
            promote.click()
            page.click(".jp-Dialog-footer button:has-text('Promote to production')")
            page.wait_for_selector(".jp-TeslaLab-model.jp-TeslaLab-stage-production", timeout=30_000)

            # the notebook form: no runner fields, target empty, a bad value refused beside its field
            page.click(".jp-TeslaLab-toolbar button:has-text('New training notebook')")
            page.wait_for_selector("input[data-param='tesla-param-epochs']")
            assert page.query_selector("input[data-param='tesla-param-project_dir']") is None
            assert page.query_selector("input[data-param='tesla-param-tesla_run_id']") is None
            assert page.input_value("input[data-param='tesla-param-target']") == ""
            page.fill("input[data-param='tesla-name']", "checked")
            page.fill("input[data-param='tesla-param-epochs']", "ten")
            page.click(".jp-Dialog-footer button:has-text('Create')")
            error = page.wait_for_selector(".jp-TeslaLab-formError[data-param='tesla-param-epochs']", timeout=30_000)
            assert "takes a int; got 'ten'" in error.inner_text()
            assert page.input_value("input[data-param='tesla-name']") == "checked"  # what was typed is kept
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-form-error.png"))
            assert not (project.notebooks_dir / "checked.ipynb").exists()
            page.fill("input[data-param='tesla-param-epochs']", "4")
            page.click(".jp-Dialog-footer button:has-text('Create')")
            page.wait_for_selector(".lm-TabBar-tab:has-text('checked.ipynb')", timeout=30_000)

            # the Dashboard button: the dashboard of this very project
            page.click(".jp-TeslaLab-toolbar button:has-text('Dashboard')")
            frame_el = page.wait_for_selector("#tesla-lab-dashboard iframe", timeout=120_000)
            frame = frame_el.content_frame()
            frame.wait_for_selector("text=TESLA Lab: e2e", timeout=120_000)
            frame.wait_for_selector(".bk-tab", timeout=120_000)  # the app itself, not only its header
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-dashboard.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-failure.png"))
            raise
        finally:
            browser.close()
    assert project.registry.list_models("digits-tt")["stage"].tolist() == ["production"]
    created = (project.notebooks_dir / "checked.ipynb").read_text()
    assert "epochs = 4" in created


@pytest.mark.parametrize("lab", [{"project": False}], indirect=True)
def test_a_folder_without_a_project_offers_create_and_the_demo(lab, tmp_path):
    sync_api = _need_browser()
    base, _, log = lab
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            _open_sidebar(page, base)
            page.wait_for_selector(".jp-TeslaLab-noProject button:has-text('Create project here')", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-no-project.png"))
            page.click(".jp-TeslaLab-noProject button:has-text('Open demo project')")
            page.wait_for_selector(".jp-TeslaLab-title:has-text('tesla-demo')", timeout=60_000)
            page.wait_for_selector(".jp-TeslaLab-dataset:has-text('digits')", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-tesla-demo.png"))
        finally:
            browser.close()
    assert (tmp_path / "demo" / "tesla.yaml").is_file()
    assert not (tmp_path / "project" / "tesla.yaml").exists()
