"""A served dashboard keeps answering while an upload that is slow to parse is read (#14: one upload froze every
session and /liveness for minutes): parsing runs in a worker process, not on a thread of the server's process."""

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
import requests

from tesla_lab.store import Project
from tesla_lab.ui import app as app_module
from tesla_lab.ui import serve
from tests.ui.conftest import wait_live

# a client in its own process (as a browser is): it asks for /liveness until its stdin closes, then prints how long
# each answer took
_CLIENT = """
import json, sys, threading, time, urllib.request
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
latencies = []
while not done.is_set():
    start = time.monotonic()
    urllib.request.urlopen(sys.argv[1] + "/liveness", timeout=60).read()
    latencies.append(time.monotonic() - start)
    time.sleep(0.02)
print(json.dumps(latencies))
"""


@pytest.mark.slow  # ~25 s: a parse long enough to measure the server throughout
def test_the_dashboard_answers_within_a_second_while_a_pathological_upload_is_parsed(tmp_path, monkeypatch):
    # 32 MB of JSON (pandas' own to_json layout): within every size limit, but reading it holds the GIL for seconds
    # at a time (in a thread of the server's process that stopped every request for ~3 s)
    rows = 400_000
    content = pd.DataFrame(np.random.default_rng(0).integers(0, 9, (rows, 8)), columns=list("abcdefgh")).to_json(
        ).encode()
    apps = []

    def create_app(*args, **kw):
        apps.append(real(*args, **kw))
        return apps[-1]

    real = app_module.create_app
    monkeypatch.setattr(app_module, "create_app", create_app)
    server = serve.serve_dashboard(Project.init(tmp_path / "p"), port=0, threaded=True, sample="iris")
    base = f"http://127.0.0.1:{server.port}"
    try:
        wait_live(base, timeout=90.0)
        assert requests.get(base + "/", timeout=120).status_code == 200  # a browser session: its pages are built
        page = apps[0].pages["Data"]
        from tesla_lab.data.isolated import load_isolated

        load_isolated(pd.DataFrame({"a": [1]}))  # the parsing fork server is up (started once per process)
        # what Panel does with the browser's upload event: the widget's callback runs on a worker thread
        upload = threading.Thread(target=page.upload.param.update, kwargs={"filename": "big.json", "value": content})
        client = subprocess.Popen([sys.executable, "-c", _CLIENT, base], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)  # the client is polling
        upload.start()
        upload.join()
        latencies = json.loads(client.communicate("", timeout=120)[0])
        assert page.state.error == "" and page.state.frame.shape == (rows, 8)
        assert len(latencies) >= 5, latencies  # the parse took a while and was measured throughout
        assert max(latencies) < 1.0, f"slowest /liveness answer {max(latencies):.2f} s during the parse"
    finally:
        server.stop()
