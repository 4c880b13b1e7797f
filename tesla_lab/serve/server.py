"""REST serving of an export with FastAPI: ``POST /predict``, ``GET /health``, ``GET /metadata``, ``GET /metrics``, and
the Open Inference Protocol (KServe V2: ``/v2/health/ready``, ``/v2/models/{name}``, ``/v2/models/{name}/infer``; see
:mod:`tesla_lab.serve.v2`).

:func:`create_app` builds the app (FastAPI is imported lazily: ``pip install 'tesla-lab[serve]'``), :func:`serve` runs
it with uvicorn, :func:`background_server` runs it in a thread (notebooks, tests, load tests).

Requests: ``{"rows": [{feature: value, ...}, ...]}`` (models exported with feature names) or
``{"inputs": [[...], ...]}`` (raw samples); both go through the export's preprocessing pipeline. Anything malformed
gets a 4xx answer whose ``detail`` names the problem (bad JSON 400, bad token 401, too large 413, invalid data 422),
never a 5xx. With a ``token``, every endpoint except the health probes (``/health``, ``/v2/health/live``,
``/v2/health/ready``) needs ``Authorization: Bearer <token>``; binding beyond loopback without a token is refused.

>>> import tempfile, torch
>>> from fastapi.testclient import TestClient
>>> from tesla_lab.serve.export import export_model
>>> info = export_model(torch.nn.Linear(2, 1), torch.zeros(4, 2), tempfile.mkdtemp() + "/m",
...                     feature_names=["a", "b"], task="regression", formats=("torchscript",))
>>> client = TestClient(create_app(info.path))
>>> client.post("/predict", json={"rows": [{"a": 1.0, "b": 2.0}]}).status_code
200
>>> print(client.post("/predict", json={"rows": [{"a": 1.0}]}).json()["detail"])
row 0: missing feature(s) 'b'; every row needs all 2 features
"""

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError, InputError, ServerError, TeslaError, TooManyRowsError
from tesla_lab.serve._deps import require
from tesla_lab.serve.batching import MicroBatcher
from tesla_lab.serve.limits import body_limit, release_memory, server_config
from tesla_lab.serve.monitor import Monitor
from tesla_lab.serve.predictor import ExportedModel, load_exported
from tesla_lab.serve.v2 import V2Routes, add_v2_routes

__all__ = ["create_app", "serve", "background_server", "is_loopback", "check_bind", "ServerError"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 2**20
# annotations are evaluated when FastAPI inspects the endpoints (no `from __future__ import annotations` here), so the
# lazily imported fastapi.Request can be named in a signature inside create_app.


PUBLIC_PATHS = frozenset({"/health", "/v2/health/live", "/v2/health/ready"})  # probes send no token
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine (``localhost``, ``127.x.x.x``, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("::")
    (True, True, False, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost may resolve to any interface
        return False


def _check_token(token: str | None) -> str | None:
    if token is None:
        return None
    if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
        raise ConfigError("token must be a non-empty string without spaces, e.g. secrets.token_urlsafe(32); got "
                          f"{'an empty string' if isinstance(token, str) else type(token).__name__}")
    if len(token) < 16:
        log.warning("the serving token is only %d characters long; use at least 16 random ones "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(32))')", len(token))
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind beyond loopback without a token.

    >>> check_bind("127.0.0.1", None)
    >>> check_bind("127.0.0.1", "  ")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: --token must be a non-empty string without spaces, e.g. ...
    >>> check_bind("0.0.0.0", None)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: --host 0.0.0.0 requires --token: serving beyond this machine without \
authentication lets anyone on the network use the model; pass token=... (CLI: --token) or bind 127.0.0.1
    """
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f"host must be an address such as '127.0.0.1'; got {host!r}")
    if isinstance(token, str) and (not token.strip() or any(c.isspace() for c in token)):
        raise ConfigError("--token must be a non-empty string without spaces, e.g. "
                          "python -c 'import secrets; print(secrets.token_urlsafe(32))'; got "
                          f"{'an empty or blank string' if not token.strip() else 'a string with whitespace'}")
    if not is_loopback(host) and token is None:
        raise ConfigError(f"--host {host} requires --token: serving beyond this machine without authentication lets "
                          "anyone on the network use the model; pass token=... (CLI: --token) or bind 127.0.0.1")


def _reject_constant(name: str) -> Any:
    raise InputError(f"{name} is not a valid JSON number; send finite numbers (or null for a missing value)")


def _decode(body: bytes) -> Any:
    if not body.strip():
        raise InputError('the request body is empty; send JSON such as {"inputs": [[...]]} or {"rows": [{...}]}')
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except InputError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        err = InputError(f"the request body is not valid JSON: {str(exc)[:200]}")
        err.status_code = 400
        raise err from None


def _parse(exported: ExportedModel, body: bytes) -> Any:
    """Decode and validate a ``POST /predict`` body (runs in a worker thread) → raw samples."""
    return exported.parse_payload(_decode(body))


def _answer(exported: ExportedModel, out: Any) -> dict[str, Any]:
    """Model outputs → the JSON answer; non-finite outputs are the input's fault (far outside the training range)."""
    if out.is_floating_point() and not bool(out.isfinite().all()):
        row = int((~out.reshape(len(out), -1).isfinite()).any(1).nonzero()[0])
        raise InputError(f"row {row}: the model produced NaN/inf for this input; its values are probably far outside "
                         "the training range")
    result = exported.postprocess(out)
    result["n"] = len(out)
    return result


def create_app(
    export_dir: str | os.PathLike[str],
    *,
    token: str | None = None,
    log_path: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    max_rows: int = 1024,
    batch_size: int = 256,
    max_body_bytes: int | None = None,
    decode_concurrency: int = 2,
    drift_window: int = 5000,
    min_drift_samples: int = 100,
    latency_window: int = 10_000,
) -> Any:
    """A FastAPI app serving the export in ``export_dir`` (hashes verified at load).

    Args:
        token: when set, every endpoint except the health probes (``PUBLIC_PATHS``) requires ``Authorization: Bearer
            <token>`` (compared in constant time) and the interactive docs are switched off.
        log_path: JSON-lines request log (rotated at 10 MiB, 3 backups); None keeps no log.
        device: where the model runs (``'cpu'``, ``'cuda'``, ``'cuda:1'``).
        max_rows: most rows per request (more → 413); batch_size: rows per forward pass.
        max_body_bytes: largest request body (more → 413, checked before decoding); None: what ``max_rows`` rows
            of this model can take as JSON (:func:`tesla_lab.serve.limits.body_limit`), at most 8 MiB.
        decode_concurrency: request bodies decoded at the same time (each decoded body briefly costs ~30× its size).
        drift_window, min_drift_samples: rows kept for drift and the fewest for a PSI value.
        latency_window: requests kept per endpoint for the latency percentiles.

    Concurrent ``/predict`` requests are preprocessed and run as one batch (:mod:`tesla_lab.serve.batching`).

    >>> import tempfile
    >>> create_app(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ExportError: ... is not an export directory: metadata.json is missing; create one with \
tesla_lab.serve.export_model(...)
    """
    fastapi = require("fastapi")
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    token = _check_token(token)
    exported = load_exported(export_dir, device=device, max_rows=max_rows, batch_size=batch_size)
    monitor = Monitor(exported.metadata.get("reference"), log_path=log_path, latency_window=latency_window,
                      drift_window=drift_window, min_drift_samples=min_drift_samples)
    batcher = MicroBatcher(exported, max_rows=max(max_rows, 4 * batch_size))
    meta = exported.metadata
    if max_body_bytes is None:
        n_values = 1
        for size in exported.input_shape:
            n_values *= int(size)
        max_body_bytes = body_limit(n_values=n_values, max_rows=max_rows, names=exported.feature_names,
                                    ceiling=MAX_BODY_BYTES)
    decoding = asyncio.Semaphore(max(1, int(decode_concurrency)))

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        batcher.close()
        monitor.close()

    docs = {"docs_url": None, "redoc_url": None, "openapi_url": None} if token else {}
    app = fastapi.FastAPI(
        title=f"TESLA Lab model: {meta['model']['class']}",
        description=f"{meta['task']} model exported {meta['created']} from {Path(export_dir).name}",
        version=str(meta["versions"].get("tesla_lab", "")),
        lifespan=lifespan,
        **docs,
    )
    app.state.exported = exported
    app.state.monitor = monitor
    app.state.batcher = batcher
    app.state.token_required = token is not None
    expected = None if token is None else token.encode()

    def error(status: int, detail: str) -> Any:
        return JSONResponse({"detail": detail}, status_code=status)

    @app.middleware("http")
    async def guard_and_measure(request: Any, call_next: Any) -> Any:
        # One place for auth, timing and counting, so 401/404/405 answers are measured like the rest.
        start = time.perf_counter()
        request.state.rows, request.state.features, request.state.error = 0, None, None
        # a client's X-Request-ID is kept (for tracing across services) when it is short and plain
        request_id = request.headers.get("x-request-id", "")
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex[:16]
        if expected is not None and request.url.path not in PUBLIC_PATHS:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), expected):
                denied = "missing or wrong token; send the header 'Authorization: Bearer <token>'"
                response = (JSONResponse({"error": denied}, status_code=401) if request.url.path.startswith("/v2")
                            else error(401, denied))
                response.headers["WWW-Authenticate"] = "Bearer"
                request.state.error = "unauthorized"
                return _finish(request, response, start, request_id, "auth")
        try:
            response = await call_next(request)
        except Exception:  # a bug, not bad input: logged with its traceback, answered 500 without details
            log.exception("request %s to %s failed", request_id, request.url.path)
            request.state.error = "internal error"
            response = error(500, f"internal error (request id {request_id}); see the server log")
        route = request.scope.get("route")
        return _finish(request, response, start, request_id, getattr(route, "path", "other"))

    def _finish(request: Any, response: Any, start: float, request_id: str, endpoint: str) -> Any:
        response.headers["X-Request-ID"] = request_id
        monitor.record(endpoint, response.status_code, time.perf_counter() - start, rows=request.state.rows,
                       features=request.state.features, error=request.state.error, request_id=request_id)
        return response

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness: always open (no token), answers as long as the process serves requests."""
        return {"status": "ok", "task": meta["task"], "uptime_s": round(time.time() - monitor.started, 3)}

    @app.get("/metadata")
    def metadata() -> dict[str, Any]:
        """The export's metadata.json: input shape, features, labels, preprocessing, drift reference, versions."""
        return meta

    @app.get("/metrics")
    def metrics() -> dict[str, Any]:
        """Request and error counts, latency p50/p90/p99 (ms) and per-feature PSI drift over the recent window."""
        return monitor.snapshot()

    async def read_body(request: Any) -> bytes:
        """The request body, refused (InputError 413) past ``max_body_bytes`` before any of it is decoded."""
        too_big = (f"at most {max_body_bytes} bytes are accepted (what {max_rows} rows of this model take); send "
                   f"at most {max_rows} rows per request")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body_bytes:
            raise TooManyRowsError(f"the request body has {int(length)} bytes; {too_big}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise TooManyRowsError(f"the request body exceeds {max_body_bytes} bytes; {too_big}")
            chunks.append(chunk)
        return b"".join(chunks)

    async def predict(request: fastapi.Request) -> Any:
        """Predict for ``{"rows": [{feature: value}]}`` or ``{"inputs": [[...]]}``; classifiers also return
        ``probabilities`` and ``class_labels``."""
        try:
            body = await read_body(request)
        except InputError as exc:
            return error(exc.status_code, str(exc))
        try:
            async with decoding:  # bounded: N concurrent large bodies must not each be decoded at once
                raw = await run_in_threadpool(_parse, exported, body)
                if len(body) > 2**20:
                    release_memory()
                del body
            out = await asyncio.wrap_future(batcher.submit(raw))  # joined with concurrent requests, see batching.py
            result = _answer(exported, out)
        except InputError as exc:
            request.state.error = str(exc)
            return error(exc.status_code, str(exc))
        except TeslaError as exc:  # refused by a lower layer (shape, data) on input it was handed
            request.state.error = str(exc)
            return error(422, str(exc))
        request.state.rows = result["n"]
        request.state.features = raw if monitor.drift is not None else None
        return JSONResponse(result)

    app.add_api_route("/predict", predict, methods=["POST"], summary="Predict",
                      openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                          "schema": {"type": "object", "properties": {
                              "rows": {"type": "array", "items": {"type": "object"}},
                              "inputs": {"type": "array", "items": {"type": "array"}}}}}}}})
    user = meta.get("metadata") or {}
    version = user.get("model_version")
    add_v2_routes(app, V2Routes(exported=exported, batcher=batcher, read_body=read_body, decode=_decode,
                                answer=_answer, decoding=decoding, name=str(user.get("model_name") or
                                                                           Path(export_dir).name),
                                version=None if version is None else str(version)))
    return app


def serve(
    export_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    *,
    log_path: str | os.PathLike[str] | None = None,
    log_level: str = "info",
    torch_threads: int | None = None,
    server_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> None:
    """Serve an export with uvicorn until interrupted. Binding anything but loopback requires ``token``.

    ``torch_threads`` sets ``torch.set_num_threads`` for this (serving) process: 1 suits small models on a busy or
    small machine (intra-op threads then cannot fight the HTTP threads or other processes for cores); None keeps
    torch's default. ``app_options`` go to :func:`create_app`; ``server_options`` (``header_timeout_s``,
    ``keep_alive_s``, ``limit_concurrency``) to :func:`tesla_lab.serve.limits.server_config`.

    >>> serve("no-such-dir", host="0.0.0.0")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: --host 0.0.0.0 requires --token: serving beyond this machine without \
authentication lets anyone on the network use the model; pass token=... (CLI: --token) or bind 127.0.0.1
    """
    check_bind(host, token)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer in 0..65535; got {port!r}")
    if torch_threads is not None:
        if isinstance(torch_threads, bool) or not isinstance(torch_threads, int) or torch_threads < 1:
            raise ConfigError(f"torch_threads must be a positive integer or None; got {torch_threads!r}")
    uvicorn = require("uvicorn")
    server_options = dict(server_options or {})
    app = create_app(export_dir, token=token, log_path=log_path, **app_options)
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    log.info("serving %s on http://%s:%d", export_dir, host, port)
    uvicorn.Server(server_config(app, host=host, port=port, log_level=log_level, **server_options)).run()


@contextlib.contextmanager
def background_server(
    app_or_export: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    timeout: float = 20.0,
    log_level: str = "warning",
    server_options: dict[str, Any] | None = None,
    **app_options: Any,
) -> Iterator[str]:
    """Run uvicorn in a daemon thread for the ``with`` block; yields the base URL (``port=0``: a free port).

    ``app_or_export``: an app from :func:`create_app`, or an export directory (then ``token`` and ``app_options``
    go to :func:`create_app`). The same loopback/token rule as :func:`serve` applies.

    >>> import tempfile, torch, urllib.request
    >>> from tesla_lab.serve.export import export_model
    >>> info = export_model(torch.nn.Linear(2, 1), torch.zeros(4, 2), tempfile.mkdtemp() + "/m",
    ...                     task="regression", formats=("torchscript",))
    >>> with background_server(info.path) as url:
    ...     urllib.request.urlopen(url + "/health").status
    200
    """
    uvicorn = require("uvicorn")
    if isinstance(app_or_export, (str, os.PathLike)):
        app = create_app(app_or_export, token=token, **app_options)
    else:
        app = app_or_export
    check_bind(host, "set" if getattr(app.state, "token_required", False) else token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))  # bound before the thread starts: the port is known and no other process can take it
    except OSError as exc:
        sock.close()
        msg = f"cannot bind {host}:{port} ({exc.strerror}); choose another port, or port=0 for a free one"
        raise ServerError(msg) from exc
    # log_config=None: uvicorn's default config goes through logging.config.dictConfig, which closes every logging
    # handler of this process (the caller's log files stop; absl's handler, imported by TensorFlow, closes the
    # stream it was created with); without it uvicorn only sets its loggers' levels and they propagate
    options = {"log_config": None, **(server_options or {})}
    server = uvicorn.Server(server_config(app, log_level=log_level, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="tesla-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ServerError(f"the server on {host}:{sock.getsockname()[1]} did not start within {timeout} s")
            time.sleep(0.01)
        bound = sock.getsockname()[1]
        yield f"http://{'[' + host + ']' if family == socket.AF_INET6 else host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
