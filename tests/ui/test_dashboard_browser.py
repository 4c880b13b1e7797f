"""The served dashboard in real headless Chromium: load a sample, see the preview and the images, build a model
(bad values show inline errors), launch training, watch the curve, stop it, find the run in Runs.

Screenshots of every page go to tests/artifacts/ (git-ignored). Needs Debian's /usr/bin/chromium and the
playwright package (never `playwright install`); without them the test is skipped with the reason.
"""

import os
import time
from pathlib import Path

import pytest
import requests

from tests.ui.conftest import screenshot, wait_live

pytestmark = pytest.mark.slow
PROJECT: dict[str, str] = {}  # the served project's folder (set by the dashboard fixture)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    from tesla_lab.ui.serve import serve_dashboard

    old = os.environ.get("TESLA_DEMO_DIR")
    os.environ["TESLA_DEMO_DIR"] = PROJECT["path"] = str(tmp_path_factory.mktemp("demo"))  # `make run`: no project
    try:
        server = serve_dashboard(None, port=0, threaded=True)
    finally:
        os.environ.pop("TESLA_DEMO_DIR") if old is None else os.environ.__setitem__("TESLA_DEMO_DIR", old)
    url = f"http://127.0.0.1:{server.port}"
    wait_live(url)
    yield url
    server.stop()


def _tab(page, name):
    page.locator(".bk-tab").get_by_text(name, exact=True).click()


def _shot(page, name):
    screenshot(page, f"dashboard-{name}")


def _set(page, css, value):
    field = page.locator(f".{css} input")
    field.fill(str(value))
    field.press("Enter")


def test_dashboard_end_to_end(chromium, dashboard):
    from playwright.sync_api import expect

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(dashboard + "/", timeout=60_000)

    # Data: load a sample, see the preview
    page.get_by_role("button", name="Load sample").click(timeout=60_000)
    expect(page.get_by_text("loaded sample 'digits'")).to_be_visible()
    expect(page.locator(".tesla-preview").get_by_text("pixel_0_0").first).to_be_visible()
    expect(page.get_by_text("1,797 rows x 65 columns")).to_be_visible()
    _shot(page, "data")

    # Explore: the image grid of the digits
    _tab(page, "Explore")
    page.get_by_role("button", name="images").click()
    expect(page.locator(".tesla-page-explore .gtitle")).to_contain_text("First 24 images")
    _shot(page, "explore")

    # Model: live counts; rank 0 and batch size 0 show readable errors; then a valid, long run
    _tab(page, "Model")
    expect(page.locator(".tesla-model-stats")).to_contain_text("TT compression")
    _set(page, "tesla-layer-1-tt-rank", 0)
    expect(page.locator(".tesla-status").get_by_text("TT ranks must be integers >= 1")).to_be_visible()
    _set(page, "tesla-layer-1-tt-rank", 4)
    _set(page, "tesla-setting-batch-size", 0)
    expect(page.locator(".tesla-status").get_by_text("batch_size must be an integer >= 1; got 0")).to_be_visible()
    _shot(page, "model-error")
    _set(page, "tesla-setting-batch-size", 64)
    _set(page, "tesla-setting-epochs", 5000)
    expect(page.get_by_text("valid model: ready to train")).to_be_visible()
    _shot(page, "model")

    # Train: launch, the curve grows, stop keeps the run
    _tab(page, "Train")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.locator(".tesla-train-info")).to_contain_text("running", timeout=60_000)
    page.locator(".tesla-curves .scatterlayer .trace").first.wait_for(timeout=60_000)
    expect(page.locator(".tesla-train-info")).to_contain_text("samples/s")
    _shot(page, "train")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".tesla-train-info")).to_contain_text("stopped", timeout=60_000)
    expect(page.locator(".tesla-curves .gtitle")).to_contain_text("stopped")
    _shot(page, "train-stopped")

    # Runs: the stopped run is listed; selecting it overlays its curve
    _tab(page, "Runs")
    row = page.locator(".tesla-runs-table .tabulator-row").first
    expect(row).to_contain_text("digits-tt")
    expect(row).to_contain_text("stopped")
    row.locator("input[type='checkbox']").click()
    page.locator(".tesla-overlay .scatterlayer .trace").first.wait_for()
    _shot(page, "runs")
    page.close()
    assert requests.get(dashboard + "/liveness", timeout=5).ok  # the app is still up


def _worker_pid(run_prefix):
    """The pid of the training worker of the run whose id starts with ``run_prefix``: the one the run recorded (a
    warm worker got its run on stdin, so its command line does not name it), checked to be a live worker."""
    from tesla_lab.store import Project

    pid = Project(PROJECT["path"]).get_run(run_prefix).info()["pid"]
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return int(pid) if b"tesla_lab.jobs.worker" in args else None


def _text(pane):
    """The text of a Markdown pane (rendered inside the shadow DOM, which CSS locators pierce)."""
    return pane.locator("p").first.inner_text()


def _curve_steps(page):
    """The x values (epochs) of the loss curve drawn in the Train page."""
    return page.locator(".tesla-curves .js-plotly-plot").evaluate(
        "el => (el.data.find(t => t.name === 'loss') || el.data[0]).x")


def test_stop_resume_crash_and_a_finished_run_in_the_browser(chromium, dashboard):
    """Stop -> Resume gives one run with a continuous curve; kill -9 of the worker shows `crashed`; Resume is
    disabled for a finished run."""
    import re
    import signal

    from playwright.sync_api import expect

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(dashboard + "/", timeout=60_000)
    page.get_by_role("button", name="Load sample").click(timeout=60_000)
    expect(page.get_by_text("loaded sample 'digits'")).to_be_visible()
    _tab(page, "Model")
    _set(page, "tesla-setting-epochs", 5000)
    expect(page.get_by_text("valid model: ready to train")).to_be_visible()

    _tab(page, "Train")
    info = page.locator(".tesla-train-info")
    resume = page.get_by_role("button", name="Resume")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(info).to_contain_text("running", timeout=60_000)
    expect(info).to_contain_text(re.compile(r"epoch ([2-9]|\d\d+)/5000"), timeout=60_000)
    text = _text(info)
    found = re.search(r"\(([0-9a-f]{8})\)", text)
    assert found, text
    run_id = found.group(1)

    # Stop: the message shows at once and says what happens; it goes away once the run stopped
    started = time.monotonic()
    page.get_by_role("button", name="Stop").click()
    notice = page.locator(".tesla-status").get_by_text("the current epoch ends early")
    expect(notice).to_be_visible(timeout=5_000)
    assert time.monotonic() - started < 5.0  # the click's round trip included: the server answers at once
    _shot(page, "lifecycle-stopping")
    expect(info).to_contain_text("stopped", timeout=60_000)
    expect(notice).to_be_hidden()
    stopped_at = int(re.search(r"epoch (\d+)/", _text(info)).group(1))
    expect(resume).to_be_enabled()

    # Resume: the same run continues, one curve without a gap
    resume.click()
    expect(info).to_contain_text(f"({run_id}): running", timeout=60_000)
    expect(info).to_contain_text("resumed 1x")
    expect(info).to_contain_text(re.compile(rf"epoch ({stopped_at + 2}|{stopped_at + 3}|\d{{3,}})/"),
                                 timeout=60_000)
    page.wait_for_timeout(1500)  # the next poll redraws the curve
    steps = _curve_steps(page)
    assert steps == list(range(len(steps))) and len(steps) > stopped_at + 1, steps
    _shot(page, "lifecycle-resumed")

    # kill -9 of the worker: the run shows crashed (and can be resumed again)
    pid = _worker_pid(run_id)
    assert pid is not None, "the training worker was not found"
    os.kill(pid, signal.SIGKILL)
    expect(info).to_contain_text(f"({run_id}): crashed", timeout=30_000)
    expect(page.locator(".tesla-run-error")).to_contain_text("Training crashed")
    expect(page.locator(".tesla-run-error")).to_contain_text("resume it from its last checkpoint")
    expect(resume).to_be_enabled()
    _shot(page, "lifecycle-crashed")
    _tab(page, "Runs")
    row = page.locator(".tesla-runs-table .tabulator-row").filter(has_text=run_id).first
    expect(row).to_contain_text("crashed", timeout=10_000)
    expect(page.locator(".tesla-runs-table .tabulator-row").filter(has_text=run_id)).to_have_count(1)
    _shot(page, "lifecycle-runs")

    # a finished run cannot be resumed
    _tab(page, "Model")
    _set(page, "tesla-setting-epochs", 2)
    expect(page.get_by_text("valid model: ready to train")).to_be_visible()
    _tab(page, "Train")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(info).to_contain_text("finished", timeout=90_000)
    expect(page.locator(".tesla-curves .gtitle")).to_contain_text("finished")
    expect(page.locator(".tesla-status").get_by_text("started run")).to_be_hidden()  # the run ended: no stale note
    expect(resume).to_be_disabled()
    _shot(page, "lifecycle-finished")

    # a reload keeps the workbench (server-side, .tesla/ui.json): the data, the model settings, the run in Train
    finished = re.search(r"\(([0-9a-f]{8})\)", _text(info)).group(1)
    page.reload()
    expect(page.get_by_text("1,797 rows x 65 columns")).to_be_visible(timeout=60_000)
    _tab(page, "Model")
    expect(page.locator(".tesla-setting-epochs input")).to_have_value("2")
    _tab(page, "Train")
    expect(page.locator(".tesla-train-info")).to_contain_text(f"({finished}): finished")
    _shot(page, "lifecycle-reloaded")
    page.close()


def test_one_project_fresh_views_monitor_and_explore_in_the_browser(chromium, dashboard):
    """The header names the project; Data's Preview sits at the top after a second load and relative paths are
    the project's; Explore opens on an informative column; a run started with the CLI appears in Train's list and
    in Runs without a click; Monitor: a neutral hint without a server, `exported` right after an export."""
    import subprocess
    import sys

    from playwright.sync_api import expect

    from tesla_lab.store import Project

    project = Project(PROJECT["path"])
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(dashboard + "/", timeout=60_000)
    expect(page.locator(".tesla-project-path")).to_contain_text(f"project {project.path}", timeout=30_000)

    # Data: a second dataset's preview starts right under the tabs; the path box says where relative paths start
    page.get_by_role("button", name="Load sample").click(timeout=60_000)
    expect(page.get_by_text("loaded sample 'digits'")).to_be_visible(timeout=30_000)
    page.locator(".tesla-page-data select").first.select_option("iris")
    page.get_by_role("button", name="Load sample").click()
    expect(page.get_by_text("loaded sample 'iris'")).to_be_visible(timeout=30_000)
    preview = page.locator(".tesla-preview")
    expect(preview.get_by_text("petal length (cm)").first).to_be_visible(timeout=30_000)
    tabs = page.locator(".tesla-page-data .bk-header").last.bounding_box()
    gap = preview.bounding_box()["y"] - (tabs["y"] + tabs["height"])
    assert 0 <= gap < 40, f"the preview starts {gap:.0f} px below its tab header"
    _shot(page, "data-second-load")
    page.get_by_role("button", name="Path / SQL").click()
    assert f"relative to {project.path}" in page.locator(".tesla-page-data input[type='text']").first.get_attribute(
        "placeholder")

    # Explore: the histogram opens on the column that varies most (iris: petal length, not the first column); the
    # colour box only where it changes the plot
    _tab(page, "Explore")
    expect(page.locator(".tesla-page-explore .xtitle")).to_have_text("petal length (cm)", timeout=30_000)
    expect(page.get_by_text("colour by target")).to_be_visible(timeout=30_000)
    _shot(page, "explore-histogram")
    page.get_by_role("button", name="correlation").click()
    expect(page.get_by_text("colour by target")).to_be_hidden(timeout=30_000)

    # a run started with the CLI appears in Train's recent runs and in Runs within 5 s, without a click
    _tab(page, "Train")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                        os.environ.get("PYTHONPATH", "")])}
    cli = subprocess.Popen([sys.executable, "-m", "tesla_lab.cli", "--project", str(project.path), "train", "-m",
                            "from-the-cli", "-d", "digits", "--target", "target", "-p", "2", "-q"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while project.runs().query("name == 'from-the-cli'").empty:  # the CLI imports torch first
        assert cli.poll() is None or not project.runs().query("name == 'from-the-cli'").empty, cli.stdout.read()
        assert time.monotonic() < deadline, "the CLI did not start its run"
        time.sleep(0.1)
    expect(page.locator(".tesla-recent-runs")).to_contain_text("from-the-cli", timeout=5_000)
    _shot(page, "train-recent-runs")
    _tab(page, "Runs")
    expect(page.locator(".tesla-runs-table")).to_contain_text("from-the-cli", timeout=5_000)
    assert cli.wait(timeout=120) == 0, cli.stdout.read()

    # Monitor: no server yet is a neutral hint; a production model shows exported right after `tesla serve`
    # exported it (export_registered is what it runs first)
    from tesla_lab.serve import export_registered

    version = project.registry.get_model("from-the-cli").version
    project.registry.set_stage("from-the-cli", version, "production")
    _tab(page, "Monitor")
    banner = page.locator(".tesla-monitor-banner")
    expect(banner).to_contain_text("no model server answers at", timeout=15_000)
    assert "alert-danger" not in (banner.locator("div").first.get_attribute("class") or "")
    deployed = page.locator(".tesla-deployed .tabulator-row").filter(has_text="from-the-cli")
    expect(deployed).to_contain_text("not yet", timeout=15_000)
    export_registered(project, "from-the-cli", formats=("torchscript",))
    expect(deployed).to_contain_text("yes", timeout=5_000)
    _shot(page, "monitor")
    page.close()
