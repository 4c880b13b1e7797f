"""Widget events of one dashboard session run one after another, in the order the browser sent them.

The dashboard runs widget events on Panel's thread pool (``pn.config.nthreads``) so that a slow handler (parsing an
upload, profiling a wide table) never stops the server from answering other sessions and ``/liveness``. Panel
submits every event to the pool on its own, though: a text value typed and a button clicked right after it (the
value reaches the server first) can then be handled by two threads in either order, and the click may read the
old value. :class:`SessionOrderedExecutor` wraps the pool so that tasks of one session (one Bokeh ``Document``)
run one at a time in submission order, while different sessions still run side by side;
:func:`order_events_per_session` installs it as Panel's pool. Tasks that belong to no session, and periodic
callbacks, run as before.

>>> from concurrent.futures import ThreadPoolExecutor
>>> from bokeh.document import Document
>>> pool = SessionOrderedExecutor(ThreadPoolExecutor(max_workers=4))
>>> doc, seen = Document(), []
>>> handle = lambda doc, i: seen.append(i)  # an event handler of session `doc` (the Document names the session)
>>> futures = [pool.submit(handle, doc, i) for i in range(50)]
>>> [f.result() for f in futures] == [None] * 50 and seen == list(range(50))
True
>>> pool.shutdown()
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

__all__ = ["SessionOrderedExecutor", "order_events_per_session"]

_Task = tuple[Future, Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def _session_of(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """The Bokeh ``Document`` whose events a task of Panel's handles, or None.

    Panel passes it as an argument (``_change_event(doc)``, ``_process_bokeh_event(doc, event)``, ``_on_load(doc)``)
    or inside a ``functools.partial`` (``pn.state.execute(..., schedule='thread')``); otherwise it is the document
    current where the task is submitted, if any. A periodic callback (polling the store) is no browser event: it
    runs beside them as before, since a poll slower than its period would otherwise queue up behind itself without
    end and delay every click queued after it.
    """
    from bokeh.document import Document
    from panel.io.callbacks import PeriodicCallback
    from panel.io.state import state

    if isinstance(getattr(fn, "__self__", None), PeriodicCallback):
        return None
    while isinstance(fn, functools.partial):
        args = (*fn.args, *args)
        fn = fn.func
    for arg in args:
        if isinstance(arg, Document):
            return arg
    return state.curdoc


class SessionOrderedExecutor(Executor):
    """An executor over ``pool`` that runs the tasks of one session in order, one at a time.

    A task's session is the Bokeh ``Document`` among its arguments (see the module docstring); each session with
    work pending holds at most one of the pool's threads, so other sessions keep running beside it. Tasks of no
    session go to ``pool`` directly. ``shutdown`` shuts ``pool`` down.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> pool = SessionOrderedExecutor(ThreadPoolExecutor(max_workers=2))
    >>> pool.submit(pow, 2, 10).result()
    1024
    >>> pool.shutdown()
    """

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self._lock = threading.Lock()
        self._queues: dict[int, deque[_Task]] = {}  # id(document) -> tasks not yet started; present while draining

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        doc = _session_of(fn, args)
        if doc is None:
            return self.pool.submit(fn, *args, **kwargs)
        future: Future = Future()
        key = id(doc)  # the queued task refers to the document, so the id is not reused while it waits
        with self._lock:
            queue = self._queues.get(key)
            start = queue is None
            if start:
                queue = self._queues[key] = deque()
            queue.append((future, fn, args, kwargs))  # type: ignore[union-attr]
        if start:
            try:
                self.pool.submit(self._drain, key)
            except BaseException:  # the pool is shut down: nothing will run this session's tasks
                with self._lock:
                    dropped = self._queues.pop(key, deque())
                for task in dropped:
                    task[0].cancel()
                raise
        return future

    def _drain(self, key: int) -> None:
        """Run the session's tasks one after another until its queue is empty (on one of the pool's threads)."""
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]  # the next task of this session starts a new drain
                    return
                future, fn, args, kwargs = queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to whoever waits on the future, as a ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def order_events_per_session() -> SessionOrderedExecutor | None:
    """Make Panel's thread pool (``pn.config.nthreads``) run each session's events in order; return it (None
    when Panel has no thread pool: events then run on the server's event loop, in order anyway). Idempotent.

    >>> from panel.io.state import state
    >>> pool = order_events_per_session()
    >>> pool is state._thread_pool and order_events_per_session() is pool  # wrapped once
    True
    """
    from panel.io.state import state

    pool = state._thread_pool  # Panel's own pool; the only attribute Panel reads from it is submit / shutdown
    if pool is None or isinstance(pool, SessionOrderedExecutor):
        return pool
    state._thread_pool = SessionOrderedExecutor(pool)
    return state._thread_pool
