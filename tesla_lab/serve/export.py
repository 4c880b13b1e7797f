"""Export a trained model for serving: TorchScript (+ ONNX when ``onnx`` is installed) and a ``metadata.json``
holding everything a server needs besides the weights: input shape and dtype, feature names, class labels, task,
the preprocessing pipeline (as its JSON dict), the training features' histograms for drift checks, versions and
the SHA-256 of every file.

The export directory is written to a temporary sibling and renamed into place, so a reader never sees half an
export. :func:`~tesla_lab.serve.predictor.load_exported` checks the hashes and loads the TorchScript module with
``torch.jit.load`` (no pickle of Python objects); the pipeline comes back from JSON. Tensor-train layers are traced
with a fixed contraction path and the trace is checked against the eager model (:mod:`tesla_lab.serve.trace`).

>>> import tempfile, torch, tesla_lab as tesla
>>> model = tesla.TensorNetwork(input_dim=16, hidden_dim=16, output_dim=3, tt_rank=2)
>>> info = export_model(model, torch.randn(4, 16), tempfile.mkdtemp() + "/m", class_labels=["a", "b", "c"],
...                     formats=("torchscript",))
>>> sorted(info.metadata["files"]), info.metadata["task"]
(['model.torchscript.pt'], 'classification')
>>> info.metadata["model"]["tt_layers"][0]["path"] in ("factorized", "dense")  # the plan traced for this batch
True
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import shutil
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn

from tesla_lab._atomic import fsync_dir, temp_dir_beside
from tesla_lab.data.pipeline import transform_from_dict
from tesla_lab.data.transform import Transform
from tesla_lab.errors import ConfigError, DataError, ExportError, ShapeError
from tesla_lab.serve._deps import available
from tesla_lab.serve.monitor import reference_profile
from tesla_lab.serve.trace import TT_PATHS, trace_model
from tesla_lab.store.artifacts import sha256_file

__all__ = [
    "ExportError",
    "ExportInfo",
    "export_model",
    "read_metadata",
    "FORMATS",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "TORCHSCRIPT_FILE",
    "ONNX_FILE",
]

log = logging.getLogger(__name__)

FORMAT_NAME = "tesla-lab-export"
FORMAT_VERSION = 1
FORMATS = ("torchscript", "onnx")
METADATA_FILE = "metadata.json"
TORCHSCRIPT_FILE = "model.torchscript.pt"
ONNX_FILE = "model.onnx"
TASKS = ("classification", "regression")
OUTPUT_KINDS = ("auto", "logits", "probabilities")


# --------------------------------------------------------------------------------------------------- helpers
def _json_safe(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be plain JSON (dicts, lists, str, finite numbers, bool, None); {exc}") from exc


def _example_tensor(example_input: Any) -> torch.Tensor:
    if isinstance(example_input, torch.Tensor):
        x = example_input.detach()
    else:
        if isinstance(example_input, pd.DataFrame):
            example_input = example_input.to_numpy(dtype=np.float32)
        try:
            x = torch.as_tensor(np.asarray(example_input))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ShapeError(f"example_input must be a tensor or a numeric array (N, ...); got "
                             f"{type(example_input).__name__} ({exc})") from exc
        if x.is_floating_point():
            x = x.to(torch.float32)
    if x.ndim < 2 or x.shape[0] < 1:
        raise ShapeError(f"example_input must be a batch (N, ...) with N >= 1 samples as the model takes it (after "
                         f"preprocessing), e.g. X_train[:8]; got shape {tuple(x.shape)}")
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise DataError("example_input contains NaN/inf; export with real, preprocessed samples, e.g. X_train[:8]")
    return x


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _pipeline_dict(pipeline: Transform | Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, Transform | None]:
    if pipeline is None:
        return None, None
    if isinstance(pipeline, Transform):
        data = pipeline.to_dict()
    elif isinstance(pipeline, Mapping):
        data = dict(pipeline)
    else:
        raise ConfigError(f"pipeline must be a fitted tesla_lab.data Pipeline/transform or its to_dict(); got "
                          f"{type(pipeline).__name__}")
    data = _json_safe(data, "the pipeline's to_dict()")
    rebuilt = transform_from_dict(data)
    if not rebuilt.is_fitted:
        raise ConfigError("the pipeline is not fitted; fit it on the training data before exporting "
                          "(pipeline.fit(X_train))")
    return data, rebuilt


def _versions() -> dict[str, str]:
    import tesla_lab

    out = {"tesla_lab": getattr(tesla_lab, "__version__", "unknown"), "torch": torch.__version__,
           "python": platform.python_version(), "numpy": np.__version__}
    with contextlib.suppress(Exception):
        import onnx

        out["onnx"] = onnx.__version__
    return out


def _model_config(model: nn.Module) -> dict[str, Any] | None:
    get_config = getattr(model, "get_config", None)
    if not callable(get_config):
        return None
    try:
        return json.loads(json.dumps(get_config()))
    except Exception as exc:  # a custom layer without a config: the export itself does not need it
        log.info("model config not stored in the export: %s", exc)
        return None


def _infer_task(model: nn.Module, task: str | None, class_labels: Sequence[Any] | None) -> str:
    if task is not None:
        if task not in TASKS:
            raise ConfigError(f"task must be one of: {', '.join(TASKS)} (or None to infer it); got {task!r}")
        return task
    if class_labels is not None:
        return "classification"
    with contextlib.suppress(Exception):
        if bool(model.is_classifier):  # type: ignore[attr-defined]  # a compiled tesla Model knows its loss
            return "classification"
    log.info("export: task inferred as 'regression' (no class_labels, no classification loss); pass task= to change")
    return "regression"


def _output_kind(out: torch.Tensor, task: str, outputs: str) -> str:
    if outputs not in OUTPUT_KINDS:
        raise ConfigError(f"outputs must be one of: {', '.join(OUTPUT_KINDS)}; got {outputs!r}")
    if task == "regression":
        return "values"
    if outputs != "auto":
        return outputs
    flat = out.reshape(len(out), -1).double()  # (N, C)
    sums = flat.sum(1)
    if flat.shape[1] > 1 and bool((flat >= 0).all()) and bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4)):
        log.info("export: outputs sum to 1 per sample; treated as probabilities (pass outputs='logits' if not)")
        return "probabilities"
    return "logits"


def _check_labels(class_labels: Sequence[Any] | None, out: torch.Tensor) -> list[Any]:
    width = int(math.prod(out.shape[1:]))
    if class_labels is None:
        return list(range(2 if width == 1 else width))
    labels = _json_safe(list(class_labels), "class_labels")
    if len(set(map(str, labels))) != len(labels):
        raise ConfigError(f"class_labels must be distinct; got {labels!r:.200}")
    if len(labels) != width and not (width == 1 and len(labels) == 2):
        raise ConfigError(f"the model outputs {width} value(s) per sample but {len(labels)} class_labels were given; "
                          "give one label per output (or two for a single binary logit)")
    return labels


def _check_target(out: Path, overwrite: bool) -> None:
    """``out`` must be new, empty, or (with ``overwrite``) a previous export; checked before the slow trace."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"export path {out} is a file; give a directory path")
        if any(out.iterdir()):
            if not overwrite:
                raise ConfigError(f"export directory {out} is not empty; pass overwrite=True to replace a previous "
                                  "export, or choose a new directory")
            if not (out / METADATA_FILE).is_file():
                raise ConfigError(f"export directory {out} holds files but no {METADATA_FILE}, so it is not a "
                                  "previous export; overwrite=True only replaces exports. Choose another directory")


def _seal(tmp: Path, meta: dict[str, Any]) -> None:
    """Record each file of the export folder ``tmp`` in ``meta["files"]`` (SHA-256, size), write ``meta`` there as
    :data:`METADATA_FILE`, and fsync every file, so that :func:`_publish` moves a complete export."""
    for f in sorted(p for p in tmp.iterdir() if p.is_file()):
        meta["files"][f.name] = {"sha256": sha256_file(f), "bytes": f.stat().st_size}
    (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=1, allow_nan=False), encoding="utf-8")
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def _publish(tmp: Path, out: Path) -> None:
    """Move ``tmp`` to ``out``; a previous export there is swapped out first and deleted after."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    fsync_dir(out.parent)  # the renames themselves survive a crash
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _export_onnx(traced: Any, x: torch.Tensor, path: Path, opset: int, expected: torch.Tensor,
                 rtol: float, atol: float) -> dict[str, Any]:
    """Write ``path``; returns its entry for ``metadata['formats']`` (status ok / skipped / failed)."""
    if not available("onnx"):
        log.warning("ONNX export skipped: the 'onnx' package is not installed (pip install 'tesla-lab[serve]'); "
                    "the TorchScript export is complete without it")
        return {"status": "skipped", "reason": "the onnx package is not installed; pip install 'tesla-lab[serve]'"}
    names = {"input_names": ["input"], "output_names": ["output"]}
    axes = {"input": {0: "batch"}, "output": {0: "batch"}}
    exporter = "torchscript"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice; correctness is checked below
            try:
                torch.onnx.export(traced, (x,), str(path), opset_version=opset, dynamic_axes=axes, dynamo=False,
                                  **names)
            except TypeError:  # a torch whose exporter has no legacy (TorchScript-based) mode any more
                exporter = "dynamo"
                torch.onnx.export(traced, (x,), str(path), opset_version=opset, dynamo=True, external_data=False,
                                  dynamic_shapes=({0: torch.export.Dim("batch")},), **names)
    except Exception as exc:  # ONNX is the optional extra format: report it, keep the TorchScript export
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("ONNX export failed (%s); the TorchScript export is complete without it", msg)
        path.unlink(missing_ok=True)
        return {"status": "failed", "reason": msg[:500]}
    entry: dict[str, Any] = {"status": "ok", "file": path.name, "opset": opset, "exporter": exporter}
    import onnx

    onnx.checker.check_model(str(path))
    if available("onnxruntime"):
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x.detach().cpu().numpy()})[0]
        if not np.allclose(got, expected.detach().cpu().numpy(), rtol=rtol * 10, atol=atol * 10):
            diff = float(np.abs(got - expected.detach().cpu().numpy()).max())
            log.warning("ONNX export dropped: onnxruntime outputs differ from the model by up to %.3g", diff)
            path.unlink(missing_ok=True)
            return {"status": "failed", "reason": f"onnxruntime outputs differ from the model by up to {diff:.3g}"}
        entry["verified_with"] = "onnxruntime"
    else:
        entry["verified_with"] = "onnx.checker"
    return entry


# ------------------------------------------------------------------------------------------------- export
@dataclass(frozen=True)
class ExportInfo:
    """Where an export was written and its metadata (the content of ``metadata.json``).

    >>> ExportInfo(Path("m"), {"formats": {"torchscript": {"status": "ok"}}}).formats
    ['torchscript']
    """

    path: Path
    metadata: dict[str, Any]

    @property
    def formats(self) -> list[str]:
        """The formats written successfully."""
        return [k for k, v in self.metadata.get("formats", {}).items() if v.get("status") == "ok"]


def export_model(
    model: nn.Module,
    example_input: Any,
    out_dir: str | os.PathLike[str],
    *,
    pipeline: Transform | Mapping[str, Any] | None = None,
    feature_names: Sequence[str] | None = None,
    class_labels: Sequence[Any] | None = None,
    task: Literal["classification", "regression"] | None = None,
    metadata: Mapping[str, Any] | None = None,
    reference_data: Any = None,
    formats: Sequence[str] = FORMATS,
    outputs: Literal["auto", "logits", "probabilities"] = "auto",
    tt_path: Literal["auto", "factorized", "dense"] = "auto",
    opset: int = 17,
    overwrite: bool = False,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> ExportInfo:
    """Trace ``model`` and write a self-contained serving directory ``out_dir`` (atomically).

    Args:
        model: the trained module; it is put in eval mode for the trace and restored after.
        example_input: a batch ``(N, ...)`` exactly as the model takes it (after preprocessing), e.g.
            ``X_train[:8]``. Its sample shape and dtype become the export's input signature.
        pipeline: the fitted preprocessing (:class:`~tesla_lab.data.Pipeline` or its ``to_dict()``) that turns
            request rows into model inputs; stored as JSON.
        feature_names: names of the raw features, in order; requests may then send ``{"rows": [{name: value}]}``.
        class_labels: one label per output (classification); predictions are returned as these labels.
        task: ``'classification'`` or ``'regression'``; None infers it (labels given, or a model compiled with a
            classification loss → classification).
        metadata: extra JSON-able facts to keep (run id, dataset version, metrics, ...).
        reference_data: raw training features (as requests send them: a DataFrame or (N, F) array) from which the
            histograms for drift monitoring are computed; also checked to flow through ``pipeline`` into the model.
        formats: ``'torchscript'`` (required: the server loads it) and optionally ``'onnx'`` (skipped with a
            warning when the ``onnx`` package is missing).
        outputs: what a classifier returns: ``'logits'``, ``'probabilities'`` or ``'auto'`` (probabilities when the
            example's outputs are non-negative and sum to 1 per sample).
        tt_path: contraction path traced into every ``TTLinear``: ``'auto'`` (the layer's own choice for the
            example's batch size), ``'factorized'`` or ``'dense'``.
        opset: ONNX opset (17 or newer).
        overwrite: replace a previous export in ``out_dir``.
        rtol, atol: tolerance of the check that the traced module reproduces the eager model.

    Returns:
        :class:`ExportInfo` with the path and the metadata written.

    >>> import tempfile
    >>> export_model(torch.nn.Linear(2, 1), torch.zeros(1, 2), tempfile.mkdtemp(), formats=("onnx",))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: formats must include 'torchscript' (the server loads it) and may add 'onnx'; got \
('onnx',)
    """
    formats = tuple(formats)
    if "torchscript" not in formats or any(f not in FORMATS for f in formats):
        raise ConfigError(f"formats must include 'torchscript' (the server loads it) and may add 'onnx'; got {formats}")
    if tt_path not in TT_PATHS:
        raise ConfigError(f"tt_path must be one of: {', '.join(TT_PATHS)}; got {tt_path!r}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 17:
        raise ConfigError(f"opset must be an integer >= 17; got {opset!r}")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"export_model needs a torch.nn.Module; got {type(model).__name__}")
    user_meta = _json_safe(dict(metadata or {}), "metadata")
    pipe_dict, pipe = _pipeline_dict(pipeline)
    if feature_names is None and isinstance(reference_data, pd.DataFrame):
        feature_names = [str(c) for c in reference_data.columns]
    names = None if feature_names is None else [str(n) for n in feature_names]
    if names is not None and (len(set(names)) != len(names) or not names):
        raise ConfigError(f"feature_names must be a non-empty list of distinct names; got {names!r:.200}")

    out = Path(out_dir)
    _check_target(out, overwrite)
    device = _model_device(model)
    x = _example_tensor(example_input).to(device)
    traced, out0, tt_layers = trace_model(model, x, tt_path=tt_path, rtol=rtol, atol=atol)
    task_ = _infer_task(model, task, class_labels)
    kind = _output_kind(out0, task_, outputs)
    labels = _check_labels(class_labels, out0) if task_ == "classification" else None

    sample_shape = [int(s) for s in x.shape[1:]]
    raw_shape = _raw_shape(names, pipe, sample_shape, reference_data)
    profile = None
    if reference_data is not None:
        _check_reference(reference_data, names, pipe, sample_shape, raw_shape)
        profile = reference_profile(reference_data, names) if len(raw_shape) == 1 else None
        if profile is None:
            log.info("export: no drift statistics for samples of shape %s (only tables are profiled)", raw_shape)

    meta: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "task": task_,
        "class_labels": labels,
        "feature_names": names,
        "input": {"shape": [None, *sample_shape], "dtype": str(x.dtype).removeprefix("torch."),
                  "raw_shape": [None, *raw_shape]},
        "output": {"shape": [None, *[int(s) for s in out0.shape[1:]]], "kind": kind},
        "preprocessing": pipe_dict,
        "reference": profile,
        "model": {"class": type(model).__name__, "config": _model_config(model),
                  "parameters": int(sum(p.numel() for p in model.parameters())), "tt_layers": tt_layers},
        "formats": {},
        "files": {},
        "metadata": user_meta,
    }
    _check_target(out, overwrite)  # again: another process may have written there during the trace
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_beside(out, suffix=".tmp")  # same file system: atomic rename; umask permissions
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.save's notice; TorchScript is the format
            torch.jit.save(traced, str(tmp / TORCHSCRIPT_FILE))
        meta["formats"]["torchscript"] = {"status": "ok", "file": TORCHSCRIPT_FILE, "method": "torch.jit.trace"}
        if "onnx" in formats:
            meta["formats"]["onnx"] = _export_onnx(traced, x, tmp / ONNX_FILE, opset, out0, rtol, atol)
        _seal(tmp, meta)
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("exported %s to %s (%s)", type(model).__name__, out, ", ".join(meta["files"]))
    return ExportInfo(out, meta)


def _raw_shape(names: list[str] | None, pipe: Transform | None, sample_shape: list[int], reference: Any) -> list[int]:
    """Shape of one sample as requests send it (before preprocessing)."""
    if names is not None:
        return [len(names)]
    if reference is not None:
        arr = reference.to_numpy() if isinstance(reference, pd.DataFrame) else np.asarray(
            reference.detach().cpu() if isinstance(reference, torch.Tensor) else reference)
        return [int(s) for s in arr.shape[1:]]
    if pipe is not None and len(sample_shape) == 1:
        first = pipe[0] if hasattr(pipe, "steps") and len(pipe) else pipe  # type: ignore[index, arg-type]
        n_in = getattr(first, "n_features_in_", None)
        if isinstance(n_in, int):
            return [n_in]
    return list(sample_shape)


def _check_reference(reference: Any, names: list[str] | None, pipe: Transform | None, sample_shape: list[int],
                     raw_shape: list[int]) -> None:
    """The first reference rows must flow through the pipeline into the model's input shape."""
    head = reference.iloc[:16] if isinstance(reference, pd.DataFrame) else np.asarray(
        reference.detach().cpu() if isinstance(reference, torch.Tensor) else reference)[:16]
    if len(head) == 0:
        raise DataError("reference_data is empty; pass the training features (before preprocessing)")
    if isinstance(head, pd.DataFrame) and names is not None:
        missing = [n for n in names if n not in map(str, head.columns)]
        if missing:
            raise DataError(f"reference_data lacks feature(s) {missing[:5]}; it must have the columns feature_names")
        head = head.rename(columns=str)[names]
    got = head.to_numpy() if isinstance(head, pd.DataFrame) else head
    if pipe is not None:
        got = np.asarray(pipe.transform(head))
    if list(np.shape(got)[1:]) != sample_shape and math.prod(np.shape(got)[1:]) != math.prod(sample_shape):
        raise ShapeError(f"reference rows become samples of shape {list(np.shape(got)[1:])} after preprocessing but "
                         f"the model's example_input has samples of shape {sample_shape}; pass the raw training "
                         "features and the pipeline fitted on them")


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata.json`` of an export directory, checked to be a TESLA Lab export of a known version.

    >>> import tempfile
    >>> read_metadata(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ExportError: ... is not an export directory: metadata.json is missing; create one with \
tesla_lab.serve.export_model(...)
    """
    meta_path = Path(path) / METADATA_FILE
    if not meta_path.is_file():
        raise ExportError(f"{Path(path)} is not an export directory: {METADATA_FILE} is missing; create one with "
                          "tesla_lab.serve.export_model(...)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{meta_path} is not valid JSON ({exc}); export the model again") from exc
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if fmt != FORMAT_NAME:
        raise ExportError(f"{meta_path} is not TESLA Lab export metadata (format {fmt!r:.40}, expected "
                          f"{FORMAT_NAME!r}); export the model again")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ExportError(f"{meta_path} has export format version {meta.get('format_version')!r}; this TESLA Lab "
                          f"reads version {FORMAT_VERSION}. Export the model again with this version")
    return meta


