"""Shared by the dashboard tests: headless Chromium (Debian's /usr/bin/chromium through the playwright package; never
`playwright install`), screenshots in tests/artifacts/ (git-ignored), and waiting for a served dashboard to answer.

Without Chromium or playwright a browser test is skipped with the reason (and a warning, so a CI log shows it).
"""

import time
import warnings
from pathlib import Path

import pytest
import requests

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def skip_browser(reason: str) -> None:
    warnings.warn(f"BROWSER TEST SKIPPED: {reason}", stacklevel=2)
    pytest.skip(f"BROWSER TEST SKIPPED: {reason}")


def wait_live(url: str, timeout: float = 60.0) -> None:
    """Return once the dashboard served at ``url`` answers ``/liveness``; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url + "/liveness", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"the dashboard did not come up within {timeout:g} s"
        time.sleep(0.2)


def screenshot(target, name: str) -> None:
    """Save a screenshot of ``target`` (a page, or a locator: scrolled into view, the whole element) as
    tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium browser, shared by the tests of a module."""
    if not CHROMIUM.exists():
        skip_browser(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium` (see .ci/run)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_browser("the playwright package is missing; pip install 'tesla-lab[test]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()
