"""The Open Inference Protocol (KServe V2) beside ``/predict``, so an export runs unchanged behind KServe, Seldon
MLServer or Triton-compatible clients.

Routes (added to the app of :func:`~tesla_lab.serve.create_app`):

* ``GET /v2/health/live``, ``GET /v2/health/ready`` (open without the token, like ``/health``: probes send none);
* ``GET /v2`` (server metadata), ``GET /v2/models/{name}`` (model metadata: name, versions, platform, inputs and
  outputs with datatype and shape), ``GET /v2/models/{name}/ready``;
* ``POST /v2/models/{name}/infer``, also under ``/v2/models/{name}/versions/{version}/...``.

An ``infer`` request holds either one tensor of raw samples, shape ``[N, *sample]`` (feature order of
``/metadata``), or one tensor per feature, each ``[N]`` or ``[N, 1]`` and named after it (``BYTES`` for a text
feature). ``data`` is flat, row-major; datatypes ``FP16``/``FP32``/``FP64``, the ``INT*``/``UINT*`` and ``BYTES``.
Samples go through the export's preprocessing as with ``/predict``, and are batched with concurrent requests. The
answer's ``outputs`` are ``predictions`` (``[N]``: labels as ``BYTES``/``INT64``/``FP64``, regression values
``FP64``) and, for classifiers, ``probabilities`` (``FP64`` ``[N, C]``, its ``parameters.class_labels`` naming the
columns). Errors answer ``{"error": "..."}``: 400 for a bad request, 404 for another model name, 413 past the
body or row limit.

>>> import tempfile, torch
>>> from fastapi.testclient import TestClient
>>> from tesla_lab.serve import create_app, export_model
>>> info = export_model(torch.nn.Linear(2, 1), torch.zeros(4, 2), tempfile.mkdtemp() + "/m",
...                     feature_names=["a", "b"], task="regression", formats=("torchscript",))
>>> client = TestClient(create_app(info.path))
>>> body = {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}]}
>>> out = client.post("/v2/models/m/infer", json=body).json()["outputs"][0]
>>> out["name"], out["datatype"], out["shape"]
('predictions', 'FP64', [1])
>>> client.post("/v2/models/m/infer", json={"inputs": []}).json()
{'error': "'inputs' must be a non-empty list of tensors {name, shape, datatype, data}"}
"""

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tesla_lab.errors import InputError, TeslaError, TooManyRowsError

__all__ = ["V2Routes", "add_v2_routes", "model_metadata", "parse_infer", "to_outputs", "DATATYPES"]

#: V2 datatypes accepted in requests (BOOL is left out: no model here takes booleans)
DATATYPES = ("FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BYTES")
_INTEGER = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}


def _bad(message: str) -> InputError:
    err = InputError(message)
    err.status_code = 400
    return err


@dataclass
class V2Routes:
    """What the V2 routes share with the rest of the app: the loaded export, the micro-batcher, the JSON decoder
    and body reader (with the body cap checked before decoding) and the function turning model outputs into the
    ``/predict`` answer (``predictions``, ``probabilities``, ``class_labels``)."""

    exported: Any
    batcher: Any
    read_body: Callable[[Any], Awaitable[bytes]]
    decode: Callable[[bytes], Any]
    answer: Callable[[Any, Any], dict[str, Any]]
    decoding: asyncio.Semaphore
    name: str
    version: str | None = None


# ------------------------------------------------------------------------------------------- metadata
def _label_datatype(labels: list[Any] | None) -> str:
    if not labels:
        return "INT64"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        return "INT64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels):
        return "FP64"
    return "BYTES"


def model_metadata(exported: Any, name: str, version: str | None = None) -> dict[str, Any]:
    """The ``GET /v2/models/{name}`` answer for a loaded export.

    >>> import tempfile, torch
    >>> from tesla_lab.serve import export_model, load_exported
    >>> info = export_model(torch.nn.Linear(3, 2), torch.zeros(4, 3), tempfile.mkdtemp() + "/m",
    ...                     class_labels=["no", "yes"], formats=("torchscript",))
    >>> meta = model_metadata(load_exported(info.path), "m", "1")
    >>> meta["platform"], meta["inputs"], [(o["name"], o["datatype"], o["shape"]) for o in meta["outputs"]]
    ('pytorch_torchscript', [{'name': 'input', 'datatype': 'FP32', 'shape': [-1, 3]}], \
[('predictions', 'BYTES', [-1]), ('probabilities', 'FP64', [-1, 2])])
    """
    meta = exported.metadata
    spec = exported.spec
    raw = [-1, *[int(s) for s in meta["input"]["raw_shape"][1:]]]
    dtype = str(meta["input"].get("dtype", "float32"))
    number = "INT64" if spec.integer else {"float64": "FP64", "float16": "FP16"}.get(dtype, "FP32")
    if spec.feature_names is not None and spec.categorical:  # a table with text columns: one tensor per feature
        inputs = [{"name": n, "datatype": "BYTES" if n in spec.categorical else number, "shape": [-1]}
                  for n in spec.feature_names]
    else:
        inputs = [{"name": "input", "datatype": number, "shape": raw}]
    if exported.task == "classification":
        n_classes = len(exported.class_labels or []) or 2
        outputs = [{"name": "predictions", "datatype": _label_datatype(exported.class_labels), "shape": [-1]},
                   {"name": "probabilities", "datatype": "FP64", "shape": [-1, n_classes]}]
    else:
        width = math.prod(int(s) for s in meta["output"]["shape"][1:])
        outputs = [{"name": "predictions", "datatype": "FP64", "shape": [-1] if width == 1 else [-1, width]}]
    platform = "onnxruntime_onnx" if meta.get("runtime") == "onnx" else "pytorch_torchscript"
    return {"name": name, "versions": [version] if version else [], "platform": platform, "inputs": inputs,
            "outputs": outputs, "parameters": {"task": exported.task, "feature_names": spec.feature_names,
                                               "class_labels": exported.class_labels}}


# ---------------------------------------------------------------------------------------------- requests
def _tensor(t: Any, i: int) -> tuple[str, list[int], str, list[Any]]:
    if not isinstance(t, dict):
        raise _bad(f"inputs[{i}] must be an object {{name, shape, datatype, data}}; got {type(t).__name__}")
    missing = [k for k in ("name", "shape", "datatype", "data") if k not in t]
    if missing:
        raise _bad(f"inputs[{i}] lacks {', '.join(missing)}; each tensor needs name, shape, datatype and data")
    name, shape, datatype, data = t["name"], t["shape"], t["datatype"], t["data"]
    if not isinstance(name, str):
        raise _bad(f"inputs[{i}].name must be a string; got {name!r:.40}")
    if not (isinstance(shape, list) and shape and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                       for s in shape)):
        raise _bad(f"inputs[{i}] ({name!r}).shape must be a non-empty list of sizes >= 0, e.g. [2, 4]; got "
                   f"{shape!r:.60}")
    if datatype not in DATATYPES:
        raise _bad(f"inputs[{i}] ({name!r}).datatype {datatype!r:.20} is not supported; use one of: "
                   f"{', '.join(DATATYPES)}")
    if isinstance(data, list) and data and all(isinstance(d, list) for d in data):
        data = [v for row in data for v in row]  # a client that nested the data one level: accept row-major
    if not isinstance(data, list):
        raise _bad(f"inputs[{i}] ({name!r}).data must be a flat list of values in row-major order")
    if len(data) != math.prod(shape):
        raise _bad(f"inputs[{i}] ({name!r}) has shape {shape} ({math.prod(shape)} values) but data holds "
                   f"{len(data)}; data is the tensor flattened in row-major order")
    for v in data:
        if v is None:
            continue
        if datatype == "BYTES":
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise _bad(f"inputs[{i}] ({name!r}) is BYTES, so data must hold strings; got {v!r:.40}")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _bad(f"inputs[{i}] ({name!r}) is {datatype}, so data must hold numbers; got {v!r:.40}")
        elif datatype in _INTEGER and v != int(v):
            raise _bad(f"inputs[{i}] ({name!r}) is {datatype}, so data must hold whole numbers; got {v!r:.40}")
    return name, shape, datatype, data


def _nest(data: list[Any], shape: list[int]) -> list[Any]:
    """Flat row-major ``data`` → nested lists of ``shape``."""
    for size in reversed(shape[1:]):
        data = [data[k:k + size] for k in range(0, len(data), size)] if size else [[] for _ in range(len(data))]
    return data


def parse_infer(payload: Any, exported: Any) -> tuple[Any, list[str] | None, str | None]:
    """A V2 ``infer`` body → (raw samples for the export, the output names asked for or None for all, the
    request's ``id`` to echo).

    >>> parse_infer({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1]}]}, None)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.InputError: inputs[0] ('x') has shape [1, 2] (2 values) but data holds 1; data is the tensor \
flattened in row-major order
    """
    if not isinstance(payload, dict):
        raise _bad(f"the body must be a JSON object {{\"inputs\": [...]}}; got a JSON {type(payload).__name__}")
    tensors = payload.get("inputs")
    if not isinstance(tensors, list) or not tensors:
        raise _bad("'inputs' must be a non-empty list of tensors {name, shape, datatype, data}")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise _bad(f"'id' must be a string; got {request_id!r:.40}")
    wanted = None
    if payload.get("outputs") is not None:
        outs = payload["outputs"]
        if not isinstance(outs, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str)
                                                 for o in outs):
            raise _bad("'outputs' must be a list of {\"name\": ...} objects")
        wanted = [o["name"] for o in outs]
    parsed = [_tensor(t, i) for i, t in enumerate(tensors)]
    spec = exported.spec
    rows = {shape[0] for _, shape, _, _ in parsed}
    if max(rows) > spec.max_rows:
        raise TooManyRowsError(f"the request has {max(rows)} rows but at most {spec.max_rows} are accepted per "
                               "request; split it into smaller requests")
    names = list(spec.feature_names) if spec.feature_names is not None else None
    if len(parsed) == 1 and (names is None or parsed[0][0] not in names):  # one tensor of whole samples
        _, shape, _, data = parsed[0]
        return exported.parse(_nest(data, shape)), wanted, request_id
    if names is None:
        raise _bad(f"this model takes one tensor of shape [N, {', '.join(map(str, spec.sample_shape))}]; got "
                   f"{len(parsed)} tensors")
    by_name = {name: (shape, data) for name, shape, _, data in parsed}
    unknown = [n for n in by_name if n not in names]
    missing = [n for n in names if n not in by_name]
    if unknown or missing or len(by_name) != len(parsed):
        raise _bad(f"send one tensor per feature, named {', '.join(names)} (or a single tensor of shape [N, "
                   f"{len(names)}]); " + (f"unknown: {', '.join(unknown)}" if unknown else
                                          f"missing: {', '.join(missing)}" if missing else "a name repeats"))
    if len(rows) != 1 or any(len(s) > 2 or (len(s) == 2 and s[1] != 1) for s, _ in by_name.values()):
        raise _bad("every feature tensor must have shape [N] or [N, 1] with the same N")
    n = rows.pop()
    records = [{name: by_name[name][1][i] for name in names} for i in range(n)]
    return exported.parse(records), wanted, request_id


def to_outputs(result: dict[str, Any], wanted: list[str] | None) -> list[dict[str, Any]]:
    """The ``/predict`` answer → V2 output tensors (flat row-major ``data``), the ``wanted`` ones in that order.

    >>> to_outputs({"predictions": ["a", "b"], "probabilities": [[0.9, 0.1], [0.2, 0.8]],
    ...             "class_labels": ["a", "b"], "n": 2}, ["predictions"])
    [{'name': 'predictions', 'datatype': 'BYTES', 'shape': [2], 'data': ['a', 'b']}]
    """
    preds = result["predictions"]
    n = len(preds)
    outputs = {}
    if "probabilities" in result:
        labels = result["class_labels"]
        kind = _label_datatype(labels)
        data = [str(p) for p in preds] if kind == "BYTES" else list(preds)
        outputs["predictions"] = {"name": "predictions", "datatype": kind, "shape": [n], "data": data}
        probs = result["probabilities"]
        width = len(probs[0]) if probs else len(labels)
        outputs["probabilities"] = {"name": "probabilities", "datatype": "FP64", "shape": [n, width],
                                    "data": [p for row in probs for p in row],
                                    "parameters": {"class_labels": list(labels)}}
    else:
        flat, shape = preds, [n]
        if preds and isinstance(preds[0], list):
            import numpy as np

            arr = np.asarray(preds, dtype=np.float64)
            flat, shape = arr.reshape(-1).tolist(), list(arr.shape)
        outputs["predictions"] = {"name": "predictions", "datatype": "FP64", "shape": shape, "data": flat}
    if wanted is None:
        return list(outputs.values())
    unknown = [w for w in wanted if w not in outputs]
    if unknown:
        raise _bad(f"unknown output(s) {', '.join(unknown)}; this model has: {', '.join(outputs)}")
    return [outputs[w] for w in wanted]


def _parse_body(ctx: V2Routes, body: bytes) -> tuple[Any, list[str] | None, str | None]:
    return parse_infer(ctx.decode(body), ctx.exported)  # in a worker thread: decoding a large body takes a while


# annotations are evaluated when FastAPI inspects the endpoints (no `from __future__ import annotations` here), so the
# lazily imported fastapi.Request can be named in a signature inside add_v2_routes.


# ----------------------------------------------------------------------------------------------- routes
def add_v2_routes(app: Any, ctx: V2Routes) -> None:
    """Add the V2 routes to the FastAPI ``app`` (see the module docstring)."""
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    from tesla_lab.serve.limits import release_memory

    def error(status: int, message: str) -> Any:
        return JSONResponse({"error": message}, status_code=status)

    def unknown(name: str, version: str | None) -> Any:
        if name != ctx.name:
            return error(404, f"unknown model {name!r}; this server serves {ctx.name!r} (GET /v2/models/{ctx.name})")
        if version is not None and ctx.version is not None and version != ctx.version:
            return error(404, f"model {name!r} has no version {version!r}; this server serves version {ctx.version}")
        return None

    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        """Liveness (open without the token)."""
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        """Readiness: the model is loaded before the app answers at all (open without the token)."""
        return {"ready": True}

    @app.get("/v2")
    def server_metadata() -> dict[str, Any]:
        """Server metadata."""
        version = str(ctx.exported.metadata.get("versions", {}).get("tesla_lab", ""))
        return {"name": "tesla-lab", "version": version, "extensions": []}

    def metadata(name: str, version: str | None = None) -> Any:
        """Model metadata: name, versions, platform, inputs and outputs with datatype and shape."""
        return unknown(name, version) or model_metadata(ctx.exported, ctx.name, ctx.version)

    def model_ready(name: str, version: str | None = None) -> Any:
        """Whether the model is ready (it is, once the app answers)."""
        return unknown(name, version) or {"name": ctx.name, "ready": True}

    async def infer(request: Any, name: str, version: str | None = None) -> Any:
        """Run the model on a V2 request (see the module docstring)."""
        refused = unknown(name, version)
        if refused is not None:
            return refused
        try:
            body = await ctx.read_body(request)  # 413 past the cap, before anything is decoded
            async with ctx.decoding:
                raw, wanted, request_id = await run_in_threadpool(_parse_body, ctx, body)
                if len(body) > 2**20:
                    release_memory()
            del body
            out = await asyncio.wrap_future(ctx.batcher.submit(raw))
            result = ctx.answer(ctx.exported, out)
            outputs = to_outputs(result, wanted)
        except InputError as exc:
            request.state.error = str(exc)
            return error(413 if exc.status_code == 413 else 400, str(exc))
        except TeslaError as exc:  # refused by a lower layer (shape, data) on input it was handed
            request.state.error = str(exc)
            return error(400, str(exc))
        request.state.rows = result["n"]
        request.state.features = raw if getattr(request.app.state.monitor, "drift", None) is not None else None
        answer: dict[str, Any] = {"model_name": ctx.name, "outputs": outputs}
        if ctx.version is not None:
            answer["model_version"] = ctx.version
        if request_id is not None:
            answer["id"] = request_id
        return JSONResponse(answer)

    from fastapi import Request

    async def infer_route(request: Request, name: str) -> Any:
        return await infer(request, name)

    async def infer_version_route(request: Request, name: str, version: str) -> Any:
        return await infer(request, name, version)

    app.add_api_route("/v2/models/{name}", metadata, methods=["GET"], summary="V2 model metadata")
    app.add_api_route("/v2/models/{name}/versions/{version}", metadata, methods=["GET"], summary="V2 model metadata")
    app.add_api_route("/v2/models/{name}/ready", model_ready, methods=["GET"], summary="V2 model ready")
    app.add_api_route("/v2/models/{name}/versions/{version}/ready", model_ready, methods=["GET"],
                      summary="V2 model ready")
    app.add_api_route("/v2/models/{name}/infer", infer_route, methods=["POST"], summary="V2 infer")
    app.add_api_route("/v2/models/{name}/versions/{version}/infer", infer_version_route, methods=["POST"],
                      summary="V2 infer")

