"""Widget events of one dashboard session run in the order they came, one at a time, on Panel's thread pool; other
sessions run beside them (the browser proof, a value typed then Save clicked at once: tests/ui/test_runs_browser.py).
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("panel")

from bokeh.document import Document  # noqa: E402
from panel.io.state import set_curdoc, state  # noqa: E402

from tesla_lab.ui.session_order import SessionOrderedExecutor, order_events_per_session  # noqa: E402

WAIT = 10  # seconds: only a bug waits this long


@pytest.fixture
def panel_pool(monkeypatch):
    """Panel's thread pool as ``pn.config.nthreads = 4`` makes it, put back afterwards."""
    pool = ThreadPoolExecutor(max_workers=4)
    monkeypatch.setattr(state, "_thread_pool", pool)
    yield pool
    pool.shutdown(wait=False)


def test_a_sessions_later_event_waits_for_its_slow_earlier_one_through_panels_dispatch(panel_pool):
    assert order_events_per_session() is state._thread_pool  # what serve_dashboard does
    release, done = threading.Event(), threading.Event()
    seen = []

    def typed():  # e.g. the tags value, handled slowly on a busy server
        release.wait(WAIT)
        seen.append("value")

    def clicked():  # the Save click that reads it
        seen.append("click")
        done.set()

    doc = Document()
    with set_curdoc(doc):
        state.execute(typed, schedule="thread")  # how Panel hands events to its pool
        state.execute(clicked, schedule="thread")
    assert not done.wait(0.3)  # a plain pool runs the click at once, on another thread
    release.set()
    assert done.wait(WAIT) and seen == ["value", "click"]


def test_another_session_runs_while_one_session_is_busy():
    pool = SessionOrderedExecutor(ThreadPoolExecutor(max_workers=2))
    release = threading.Event()
    busy = pool.submit(lambda doc: release.wait(WAIT), Document())  # the Document among the arguments: a session
    other = pool.submit(lambda doc: "answered", Document())
    assert other.result(timeout=WAIT) == "answered" and not busy.done()
    release.set()
    assert busy.result(timeout=WAIT) is True
    pool.shutdown()


def test_one_sessions_tasks_never_overlap_and_keep_their_order():
    pool = SessionOrderedExecutor(ThreadPoolExecutor(max_workers=4))
    doc, log, running = Document(), [], []

    def task(doc, i):
        running.append(i)
        assert len(running) == 1, f"tasks {running} of one session ran at once"
        time.sleep(0.002 * (i % 3))
        log.append(i)
        running.remove(i)

    futures = [pool.submit(task, doc, i) for i in range(40)]
    for f in futures:
        f.result(timeout=WAIT)
    assert log == list(range(40))
    pool.shutdown()


def test_a_failing_task_reports_its_error_and_the_sessions_next_task_still_runs():
    pool = SessionOrderedExecutor(ThreadPoolExecutor(max_workers=2))
    doc = Document()

    def boom(doc):
        raise ValueError("handler failed")

    failed = pool.submit(boom, doc)
    after = pool.submit(lambda doc: "next", doc)
    assert isinstance(failed.exception(timeout=WAIT), ValueError) and after.result(timeout=WAIT) == "next"
    assert pool._queues == {}  # nothing left behind once a session is idle
    pool.shutdown()


def test_events_are_found_by_their_document_and_periodic_polls_run_beside_them():
    from functools import partial

    from panel.io.callbacks import PeriodicCallback

    from tesla_lab.ui.session_order import _session_of

    doc = Document()
    assert _session_of(partial(print, doc, "x"), ()) is doc  # pn.state.execute(..., schedule="thread")
    assert _session_of(print, (doc, "event")) is doc  # _process_bokeh_event(doc, event)
    assert _session_of(print, (1, 2)) is None  # no session: straight to the pool
    poll = PeriodicCallback(callback=lambda: None, period=1000)
    poll._doc = doc
    with set_curdoc(doc):
        assert _session_of(print, ()) is doc
        # a poll slower than its period must not queue up behind itself (and delay the clicks after it)
        assert _session_of(poll._exec_callback, (True, None)) is None


def test_the_dashboard_orders_each_sessions_events(tmp_path):
    from tesla_lab.store import Project
    from tesla_lab.ui import serve

    server = serve.serve_dashboard(Project.init(tmp_path), port=0, threaded=True, sample=None, warm_worker=False)
    try:
        assert isinstance(state._thread_pool, SessionOrderedExecutor)
    finally:
        server.stop()
