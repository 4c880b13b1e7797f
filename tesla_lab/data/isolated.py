"""Parse (and profile) user data in a worker process with a time limit, so a hostile or pathological file can
never freeze the process that asked for it — the dashboard's server keeps answering every request meanwhile.

A parser holding the GIL (pandas' JSON decoder, object-column conversion, ...) stops every other thread of its
process, so a worker *thread* is not enough: :func:`load_isolated` runs :func:`~tesla_lab.data.load` in a child
process (from a fork server that has the data libraries imported, so a load costs milliseconds of start-up), and
stops it when it runs past ``timeout`` seconds (default ``$TESLA_PARSE_TIMEOUT_S``, else 60) with an error naming
the file and the limit. The size, column and cell limits of :mod:`~tesla_lab.data.limits` still apply first, inside
the worker; a worker that dies (out of memory, a crash in a C library) is an error naming the file too.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("a,b\\n1,2\\n3,4\\n")
>>> load_isolated(p).to_dict("list")
{'a': [1, 3], 'b': [2, 4]}
>>> frame, columns = profile_isolated(p)
>>> columns[["column", "dtype", "unique"]].to_dict("list")
{'column': ['a', 'b'], 'dtype': ['int64', 'int64'], 'unique': [2, 2]}
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, DataError, TeslaError

__all__ = ["load_isolated", "profile_isolated", "parse_timeout", "warm_up", "DEFAULT_PARSE_TIMEOUT"]

logger = logging.getLogger(__name__)

DEFAULT_PARSE_TIMEOUT = 60.0
"""Seconds a worker may spend reading one source (``$TESLA_PARSE_TIMEOUT_S`` overrides it)."""
_START_TIMEOUT = 120.0  # the fork server's first start imports pandas/pyarrow/torch: not counted in the limit


def parse_timeout(timeout: float | None = None) -> float:
    """The time limit in seconds: ``timeout`` if given, else ``$TESLA_PARSE_TIMEOUT_S``, else 60.

    >>> parse_timeout(5), parse_timeout(None) > 0
    (5.0, True)
    >>> parse_timeout(0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: the parse time limit must be a positive number of seconds; got 0
    """
    if timeout is None:
        text = os.environ.get("TESLA_PARSE_TIMEOUT_S", "").strip()
        try:
            timeout = float(text) if text else DEFAULT_PARSE_TIMEOUT
        except ValueError as exc:
            raise ConfigError(f"$TESLA_PARSE_TIMEOUT_S must be a number of seconds; got {text!r}") from exc
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"the parse time limit must be a positive number of seconds; got {timeout!r}")
    return float(timeout)


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        # never fork the (multi-threaded) caller itself: a fork server, started once, forks the workers
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def warm_up() -> None:
    """Start the fork server now, in the background (a server calls it at start-up, so the first upload does not
    wait seconds for pandas and torch to be imported); a no-op where workers are spawned.

    >>> warm_up()
    """
    context = _context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


# ------------------------------------------------------------------------------------------------ the worker
def _load(source: Any, kw: dict[str, Any]) -> pd.DataFrame:
    from tesla_lab.data.ingest import load

    return load(source, **kw)


def _load_and_profile(source: Any, kw: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    from tesla_lab.data.profile import profile_columns

    frame = _load(source, kw)
    return frame, profile_columns(frame)


def _worker(conn: Any, task: Callable[..., Any], source: Any, kw: dict[str, Any], env: dict[str, str],
            cwd: str) -> None:
    # the fork server started earlier: take the caller's environment (limits, data folders) and folder now
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    conn.send(("ready", None))
    try:
        result = ("ok", task(source, kw))
    except TeslaError as exc:
        result = ("error", exc)
    except MemoryError:
        result = ("error", DataError(f"'{source}' needs more memory than this machine has to be read as a table; "
                                     "load a subset of its columns or rows"))
    except Exception as exc:  # noqa: BLE001 - anything a parser raises comes back as one clear error
        result = ("error", DataError(f"cannot read '{source}': {type(exc).__name__}: {exc}"))
    try:
        conn.send(result)
    except Exception as exc:  # noqa: BLE001 - an exception that cannot be pickled: send its text
        conn.send(("error", DataError(f"cannot read '{source}': {type(exc).__name__}: {exc}")))
    conn.close()


def _ended(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _run(task: Callable[..., Any], source: Any, kw: dict[str, Any], timeout: float | None,
         label: str | None) -> Any:
    limit = parse_timeout(timeout)
    shown = label if label is not None else os.fspath(source) if isinstance(source, (str, os.PathLike)) else "data"
    if multiprocessing.current_process().daemon:  # a daemonic process may not start one: read here, unlimited
        logger.debug("reading %s in this (daemonic) process: no worker, no time limit", shown)
        return task(source, kw)
    context = _context()
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_worker, args=(send, task, source, kw, dict(os.environ), os.getcwd()),
                             name="tesla-parse", daemon=True)
    worker.start()
    send.close()
    try:
        if not receive.poll(_START_TIMEOUT):
            raise DataError(f"the worker process that reads '{shown}' did not start within {_START_TIMEOUT:g} s; "
                            "the machine is overloaded: try again")
        receive.recv()  # "ready": the time limit starts now
        if not receive.poll(limit):
            logger.warning("stopped reading %s after the %g s limit", shown, limit)
            raise DataError(f"reading '{shown}' took longer than the {limit:g} s limit and was stopped; the file is "
                            "too large or malformed to read here: load a subset of it (fewer rows or columns), or "
                            "raise the limit (TESLA_PARSE_TIMEOUT_S=seconds)")
        status, value = receive.recv()
    except EOFError:
        worker.join(5)
        raise DataError(f"the worker process reading '{shown}' {_ended(worker.exitcode)} before it finished (out of "
                        "memory, or a crash in a parsing library); the file is too large or damaged: load a subset "
                        "of it or check it") from None
    finally:
        if worker.is_alive():
            worker.kill()
        worker.join(5)
        receive.close()
    if status == "error":
        raise value
    return value


# ------------------------------------------------------------------------------------------------ public
def load_isolated(source: Any, *, timeout: float | None = None, label: str | None = None,
                  **kw: Any) -> pd.DataFrame:
    """:func:`~tesla_lab.data.load` ``(source, **kw)`` in a worker process, stopped past ``timeout`` seconds
    (see :func:`parse_timeout`); ``label`` names the source in messages (default: ``source`` itself).

    >>> load_isolated("no/such/file.csv")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: file not found: 'no/such/file.csv'; check the path (relative paths start at ...)
    """
    return _run(_load, source, kw, timeout, label)


def profile_isolated(source: Any, *, timeout: float | None = None, label: str | None = None,
                     **kw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Like :func:`load_isolated`, and also the table's column profile
    (:func:`~tesla_lab.data.profile.profile_columns`), computed in the same worker under the same limit.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.json"
    >>> _ = p.write_text('[{"x": 1}, {"x": null}]')
    >>> profile_isolated(p)[1][["column", "missing"]].to_dict("list")
    {'column': ['x'], 'missing': [1]}
    """
    return _run(_load_and_profile, source, kw, timeout, label)  # type: ignore[no-any-return]
