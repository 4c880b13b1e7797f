"""What one client can cost the model server: request body size, slow or idle connections, concurrency.

* **Body**: the row limit applies *before* decoding. :func:`body_limit` bounds the bytes that ``max_rows`` rows of
  this model can take as JSON (a generous width per value), so a body past it is refused with 413 from its
  ``Content-Length`` (or while streaming) without being decoded: decoding JSON costs about 30 bytes of Python
  objects per byte of numbers, which is what let a few 8 MiB requests take gigabytes.
* **Connections**: uvicorn closes idle keep-alive connections after ``keep_alive_s``, but a connection that never
  completes its request headers is held forever; :func:`header_timeout_protocol` closes it after
  ``header_timeout_s``. ``limit_concurrency`` answers 503 beyond that many open connections/tasks.

>>> body_limit(n_values=4, max_rows=1024, names=["a", "b", "c", "d"]) < 2**20
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Sequence
from typing import Any

__all__ = ["body_limit", "header_timeout_protocol", "server_config", "release_memory", "HEADER_TIMEOUT_S",
           "KEEP_ALIVE_S", "LIMIT_CONCURRENCY", "CHARS_PER_VALUE"]

logger = logging.getLogger(__name__)

#: seconds a connection may take to send a request's headers (a slow-loris client is cut off after this)
HEADER_TIMEOUT_S = 10.0
#: seconds an idle keep-alive connection is kept
KEEP_ALIVE_S = 5
#: open connections + running requests beyond which the server answers 503
LIMIT_CONCURRENCY = 64
#: room per value in a JSON body: ``-1.2345678901234567e-123, `` is 26 characters
CHARS_PER_VALUE = 32


def body_limit(*, n_values: int, max_rows: int, names: Sequence[str] | None = None, ceiling: int = 8 * 2**20,
               slack: int = 64 * 2**10) -> int:
    """The most bytes a body of ``max_rows`` rows with ``n_values`` values each can reasonably take (``rows``
    format: each value also carries its quoted feature name), capped at ``ceiling``."""
    per_row = n_values * CHARS_PER_VALUE + sum(len(name) + 4 for name in names or ()) + 4
    return int(min(ceiling, per_row * max_rows + slack))


def release_memory() -> None:
    """Hand freed heap memory back to the OS after decoding a large body (glibc keeps it otherwise, so the RSS of
    a server that once decoded big requests never came down)."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except OSError:  # pragma: no cover - not glibc
        pass


def header_timeout_protocol(header_timeout_s: float = HEADER_TIMEOUT_S) -> type:
    """uvicorn's HTTP protocol class, closing connections that do not complete a request's headers in time."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class HeaderTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def _arm_header_timer(self) -> None:
            self._header_cycle = self.cycle  # a new request replaces ``cycle`` once its headers are complete
            self._header_timer = self.loop.call_later(header_timeout_s, self._header_deadline)

        def _header_deadline(self) -> None:
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is self._header_cycle and (cycle is None or cycle.response_complete):
                logger.info("closing a connection from %s: no complete request headers within %.0f s",
                            self.client, header_timeout_s)
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._header_timer.cancel()
                self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._header_timer.cancel()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


def server_config(app: Any, *, log_level: str = "info", header_timeout_s: float = HEADER_TIMEOUT_S,
                  keep_alive_s: int = KEEP_ALIVE_S, limit_concurrency: int | None = LIMIT_CONCURRENCY,
                  **options: Any) -> Any:
    """A ``uvicorn.Config`` for ``app`` with the limits above (``options``: host, port, ...)."""
    import uvicorn

    return uvicorn.Config(app, log_level=log_level, http=header_timeout_protocol(header_timeout_s),
                          timeout_keep_alive=keep_alive_s, limit_concurrency=limit_concurrency, **options)
