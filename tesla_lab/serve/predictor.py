"""Load an export for inference: :func:`load_exported` verifies the files' SHA-256, loads the TorchScript module
(``torch.jit.load``: no pickled Python objects) and rebuilds the preprocessing pipeline from JSON; the
:class:`ExportedModel` it returns validates raw samples, preprocesses them and predicts, thread-safely and in batches.

>>> import tempfile, torch
>>> from tesla_lab.serve.export import export_model
>>> model = torch.nn.Sequential(torch.nn.Linear(3, 2))
>>> info = export_model(model, torch.randn(4, 3), tempfile.mkdtemp() + "/m", feature_names=["a", "b", "c"],
...                     class_labels=["no", "yes"], formats=("torchscript",))
>>> exported = load_exported(info.path)
>>> out = exported.predict([{"a": 1.0, "b": 0.0, "c": -1.0}])
>>> out["class_labels"], out["predictions"][0] in ("no", "yes"), round(sum(out["probabilities"][0]), 6)
(['no', 'yes'], True, 1.0)
"""

from __future__ import annotations

import copy
import math
import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tesla_lab.data.pipeline import transform_from_dict
from tesla_lab.data.transform import Transform
from tesla_lab.errors import ConfigError, ExportError, InputError, TeslaError
from tesla_lab.serve.export import METADATA_FILE, ONNX_FILE, TORCHSCRIPT_FILE, read_metadata
from tesla_lab.serve.inputs import InputSpec, parse_inputs, parse_payload, parse_rows
from tesla_lab.store.artifacts import sha256_file

__all__ = ["ExportedModel", "load_exported"]


def _steps(data: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not data:
        return []
    if data.get("type") == "Pipeline":
        return [s for step in data.get("steps", []) for s in _steps(step)]
    return [data]


def _categorical_columns(pipeline: Mapping[str, Any] | None) -> set[str]:
    """Columns that a OneHot / LabelEncode step encodes: they take text values in requests."""
    cols: set[str] = set()
    for step in _steps(pipeline):
        if step.get("type") in ("OneHot", "LabelEncode"):
            cols.update(str(c) for c in step.get("state", {}).get("columns_", []) or [])
    return cols


def _has_fill(pipeline: Mapping[str, Any] | None) -> bool:
    return any(step.get("type") == "FillMissing" for step in _steps(pipeline))


class ExportedModel:
    """A loaded export: the TorchScript module, its metadata and preprocessing, with thread-safe batched inference.

    Build it with :func:`load_exported`. :meth:`predict` takes rows (list of dicts), a DataFrame, or an array of raw
    samples, applies the pipeline, runs the model under ``torch.inference_mode`` in batches and returns predictions
    (plus probabilities and class labels for classifiers).
    """

    def __init__(self, path: Path, module: Any, metadata: dict[str, Any], *, device: torch.device,
                 max_rows: int = 1024, batch_size: int = 256) -> None:
        self.path = path
        self.module = module
        self.metadata = metadata
        self.device = device
        self.batch_size = batch_size
        self.task: str = metadata["task"]
        self.class_labels: list[Any] | None = metadata.get("class_labels")
        self.feature_names: list[str] | None = metadata.get("feature_names")
        self.input_shape: tuple[int, ...] = tuple(metadata["input"]["shape"][1:])
        dtype = getattr(torch, str(metadata["input"]["dtype"]), None)
        if not isinstance(dtype, torch.dtype):
            raise ExportError(f"unknown input dtype {metadata['input']['dtype']!r:.40} in {METADATA_FILE}; export the "
                              "model again")
        self.dtype: torch.dtype = dtype
        self.output_kind: str = metadata["output"]["kind"]
        # probabilities within this of the top one count as a tie, won by the first class like numpy's argmax on the
        # exact values (a scikit-learn export computes them in float32: 0.5/0.5 may come out 0.50000006/0.49999997)
        self.tie_tolerance = float(metadata["output"].get("tie_tolerance", 0.0))
        pre = metadata.get("preprocessing")
        self.pipeline: Transform | None = transform_from_dict(pre) if pre else None
        # a scikit-learn export holds the numeric tail of the pipeline in its ONNX graph (sklearn_onnx.py)
        every_step = {"type": "Pipeline", "steps": [*_steps(pre), *(metadata.get("graph_preprocessing") or [])]}
        self.allow_nan = bool(metadata["input"].get("allow_nan", False))  # the graph fills NaN itself
        self.runtime: str = metadata.get("runtime", "torchscript")
        names = tuple(self.feature_names) if self.feature_names is not None else None
        categorical = _categorical_columns(every_step) | {
            f["name"] for f in (metadata.get("reference") or {}).get("features", []) if f["kind"] == "categorical"}
        self.spec = InputSpec(
            feature_names=names, sample_shape=tuple(metadata["input"]["raw_shape"][1:]),
            categorical=frozenset(categorical) if names is not None else frozenset(),
            allow_missing=_has_fill(every_step), max_rows=max_rows, integer=not self.dtype.is_floating_point,
        )
        self._lock = threading.Lock()

    def parse(self, data: Any) -> np.ndarray | pd.DataFrame:
        """Raw samples from rows (list of dicts), a DataFrame, or an array/nested list; validated against the
        export's features and shape (:class:`~tesla_lab.errors.InputError` otherwise)."""
        if isinstance(data, pd.DataFrame):
            if self.feature_names is None:
                return parse_inputs(data.to_numpy().tolist(), self.spec)
            return parse_rows(data.to_dict("records"), self.spec)
        if isinstance(data, list) and data and isinstance(data[0], Mapping):
            return parse_rows(data, self.spec)
        if isinstance(data, (np.ndarray, torch.Tensor)):
            data = (data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data).tolist()
        return parse_inputs(data, self.spec)

    def parse_payload(self, payload: Any) -> np.ndarray | pd.DataFrame:
        """Raw samples from a ``POST /predict`` body: ``{"rows": [...]}`` or ``{"inputs": [...]}``."""
        return parse_payload(payload, self.spec)

    def preprocess(self, raw: np.ndarray | pd.DataFrame) -> torch.Tensor:
        """Apply the pipeline to validated raw samples → the model's input tensor (N, *input_shape)."""
        values: Any = raw
        if self.pipeline is not None:
            try:
                values = self.pipeline.transform(raw)
            except TeslaError as exc:
                raise InputError(f"preprocessing refused the input: {exc}") from exc
        arr = values.to_numpy() if isinstance(values, pd.DataFrame) else np.asarray(values)
        if arr.dtype == object:
            raise InputError("after preprocessing the input still holds non-numeric values; send the feature values "
                             "the model was trained on")
        arr = arr.reshape(len(arr), -1)
        if arr.shape[1] != math.prod(self.input_shape):
            raise InputError(f"after preprocessing each sample has {arr.shape[1]} values but the model takes "
                             f"{math.prod(self.input_shape)} (shape {list(self.input_shape)})")
        bad = (np.isinf(arr) if self.allow_nan else ~np.isfinite(arr)) if arr.dtype.kind == "f" else None
        if bad is not None and bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise InputError(f"row {i}: value {j} is {arr[i, j]} after preprocessing; send values the model can use")
        arr = np.array(arr.reshape(len(arr), *self.input_shape), copy=True)  # (N, *input_shape), writable for torch
        return torch.from_numpy(arr).to(self.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw model outputs for a prepared batch, computed in chunks of ``batch_size`` (serialised by a lock)."""
        outs = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(x), self.batch_size):
                outs.append(self.module(x[start : start + self.batch_size].to(self.device)).float().cpu())
        return torch.cat(outs) if outs else torch.empty(0)

    def postprocess(self, out: torch.Tensor) -> dict[str, Any]:
        """Model outputs → ``{"predictions": [...]}`` plus ``"probabilities"`` and ``"class_labels"`` for
        classifiers."""
        if self.task == "regression":
            values = out.reshape(len(out), -1)
            preds = values[:, 0].tolist() if values.shape[1] == 1 else values.reshape(out.shape).tolist()
            return {"predictions": preds}
        flat = out.reshape(len(out), -1).double()  # (N, C)
        if flat.shape[1] == 1:  # one binary output: P(class 1)
            p1 = flat[:, 0] if self.output_kind == "probabilities" else torch.sigmoid(flat[:, 0])
            probs = torch.stack([1 - p1, p1], dim=1)
        else:
            probs = flat if self.output_kind == "probabilities" else torch.softmax(flat, dim=1)
        labels = self.class_labels or list(range(probs.shape[1]))
        if self.tie_tolerance:
            top = probs.max(dim=1, keepdim=True).values
            idx = (probs >= top - self.tie_tolerance).to(torch.int8).argmax(dim=1).tolist()  # first within tolerance
        else:
            idx = probs.argmax(dim=1).tolist()
        return {"predictions": [labels[i] for i in idx], "probabilities": probs.tolist(), "class_labels": labels}

    def predict(self, data: Any) -> dict[str, Any]:
        """Predict for raw samples (rows, DataFrame or array): ``{"predictions", ["probabilities", "class_labels"]}``.

        >>> import tempfile, torch
        >>> from tesla_lab.serve.export import export_model
        >>> info = export_model(torch.nn.Linear(2, 1), torch.zeros(3, 2), tempfile.mkdtemp() + "/lin",
        ...                     feature_names=["a", "b"], task="regression", formats=("torchscript",))
        >>> load_exported(info.path).predict([{"a": 1.0, "b": "x"}])
        Traceback (most recent call last):
        ...
        tesla_lab.errors.InputError: row 0: feature 'b' must be a number; got str 'x'
        """
        return self.postprocess(self.forward(self.preprocess(self.parse(data))))

    def __repr__(self) -> str:
        return (f"ExportedModel({str(self.path)!r}, task={self.task!r}, input_shape={list(self.input_shape)}, "
                f"features={len(self.feature_names) if self.feature_names else None})")




def load_exported(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    verify: bool = True,
    max_rows: int = 1024,
    batch_size: int = 256,
) -> ExportedModel:
    """Load an export written by :func:`export_model`: check every file's SHA-256 against ``metadata.json``, then
    ``torch.jit.load`` the module onto ``device`` (TorchScript, no pickled Python objects).

    >>> import tempfile
    >>> load_exported(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ExportError: ... is not an export directory: metadata.json is missing; create one with \
tesla_lab.serve.export_model(...)
    """
    for name, value in (("max_rows", max_rows), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    root = Path(path)
    meta = read_metadata(root)
    if verify:
        for name, entry in meta.get("files", {}).items():
            f = root / name
            if not f.is_file():
                raise ExportError(f"export {root} is incomplete: {name} is missing; export the model again")
            actual = sha256_file(f)
            if actual != entry.get("sha256"):
                raise ExportError(f"export file {f} is corrupted or was modified: sha256 {actual[:16]}... differs "
                                  f"from {str(entry.get('sha256'))[:16]}... in {METADATA_FILE}; export the model again")
    if meta.get("runtime") == "onnx":  # a scikit-learn export (sklearn_onnx.py): onnxruntime on the CPU
        from tesla_lab.serve.sklearn_onnx import load_onnx

        onnx_file = root / meta.get("formats", {}).get("onnx", {}).get("file", ONNX_FILE)
        if verify and onnx_file.name not in meta.get("files", {}):
            raise ExportError(f"{onnx_file.name} is not listed in {METADATA_FILE}, so its hash cannot be checked; "
                              "export the model again")
        return _exported(root, load_onnx(onnx_file, meta.get("task", "")), meta, torch.device("cpu"), max_rows,
                         batch_size)
    ts_file = root / meta.get("formats", {}).get("torchscript", {}).get("file", TORCHSCRIPT_FILE)
    if verify and ts_file.name not in meta.get("files", {}):
        raise ExportError(f"{ts_file.name} is not listed in {METADATA_FILE}, so its hash cannot be checked; export the "
                          "model again")
    dev = torch.device(device)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load's notice; TorchScript is the format
            module = torch.jit.load(str(ts_file), map_location=dev)
    except Exception as exc:
        raise ExportError(f"cannot load {ts_file}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                          "export the model again (with this torch version)") from exc
    module.eval()
    return _exported(root, module, meta, dev, max_rows, batch_size)


def _exported(root: Path, module: Any, meta: dict[str, Any], dev: torch.device, max_rows: int,
              batch_size: int) -> ExportedModel:
    try:
        return ExportedModel(root, module, copy.deepcopy(meta), device=dev, max_rows=max_rows, batch_size=batch_size)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ExportError(f"{root / METADATA_FILE} lacks or garbles an entry ({type(exc).__name__}: {exc}); export the "
                          "model again") from exc
