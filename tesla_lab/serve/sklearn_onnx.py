"""Export a scikit-learn model (a :class:`~tesla_lab.models.ModelBundle` of a ``sklearn:*`` family) to ONNX with
``skl2onnx``, in the same export format as torch models, so :func:`~tesla_lab.serve.load_exported` and the server
answer ``/predict`` and the V2 ``infer`` for it with the same contract.

What goes into ``model.onnx`` (input ``input``: float64 ``(N, F)``):

* the numeric tail of the preprocessing pipeline (missing-value filling and the scalers ``Standardize``,
  ``MinMaxScale``, ``PixelScale``; :mod:`tesla_lab.serve.onnx_pipeline`) as ``IsNaN``/``Where`` and
  ``Sub``/``Div`` nodes in float64, each checked bit for bit against its step, then the cast to float32 the bundle
  does, so the estimator sees the very same values and a table of numbers is answered by the ONNX file alone
  (Triton, KServe and MLServer run it unchanged);
* the estimator, converted by ``skl2onnx``;
* what the bundle applies after it: class-probability columns put back in the order of all the bundle's classes
  (a class missing from the training split gets probability 0), a regression target's scaling undone.

Outputs: ``label`` (scikit-learn's ``predict``, as class index) and ``probabilities`` ``(N, C)`` for classifiers,
``predictions`` ``(N, 1)`` for regressors. Steps the graph cannot hold (one-hot encoding of text columns and
everything before it) stay in ``metadata.json`` as JSON and the server applies them first, as for torch models.
Every export is checked with onnxruntime against the bundle's own ``predict_proba`` / ``predict`` before it is
published; a mismatch or a failing conversion raises :class:`~tesla_lab.errors.ExportError` naming the family and
the step.

>>> check_convertible("sklearn:logistic", "sklearn.linear_model.LogisticRegression")
>>> check_convertible("sklearn:centroid", "sklearn.neighbors.NearestCentroid")
Traceback (most recent call last):
...
tesla_lab.errors.ExportError: cannot export sklearn:centroid: skl2onnx ... has no ONNX converter for \
NearestCentroid; deploy it without --export/--serve (stage only), or train a family that exports \
(torch, tt, or sklearn:gradient_boosting, sklearn:knn, sklearn:linear, sklearn:logistic, sklearn:random_forest, \
sklearn:ridge, sklearn:svm)
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab._atomic import temp_dir_beside
from tesla_lab.data.pipeline import transform_from_dict
from tesla_lab.errors import ExportError, TeslaError
from tesla_lab.serve._deps import require
from tesla_lab.serve.export import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ONNX_FILE,
    ExportInfo,
    _check_target,
    _json_safe,
    _publish,
    _seal,
    _versions,
)
from tesla_lab.serve.monitor import reference_profile
from tesla_lab.serve.onnx_pipeline import Op, split_pipeline

__all__ = ["export_sklearn", "check_convertible", "OnnxModule", "load_onnx"]

log = logging.getLogger(__name__)

_OPSET = 17
_ML_OPSET = 3
_TOLERANCE = 1e-5  # probabilities: absolute; regression values: relative
_TIE = 1e-6  # float32 probabilities this close to the top one are a tie in float64 (the server picks the first)
_patch_lock = threading.Lock()


def _fail(family: str, step: str, exc: BaseException | str) -> ExportError:
    msg = exc if isinstance(exc, str) else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return ExportError(f"cannot export {family}: the ONNX conversion failed at step '{step}': {str(msg)[:400]}; "
                       "deploy it without --export/--serve (stage only), or report the estimator and its parameters")


def check_convertible(family: str, estimator_path: str) -> None:
    """Refuse (:class:`~tesla_lab.errors.ExportError` naming ``family`` and what to do) an estimator class that
    skl2onnx has no converter for; needs ``skl2onnx`` (extra ``serve``)."""
    skl2onnx = require("skl2onnx", purpose="exporting scikit-learn models to ONNX")
    from skl2onnx._supported_operators import sklearn_operator_name_map

    from tesla_lab.models import families

    module, _, name = estimator_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name, None)
    if cls is None or cls not in sklearn_operator_name_map:
        exportable = ", ".join(f for f in families("scikit-learn"))
        raise ExportError(f"cannot export {family}: skl2onnx {skl2onnx.__version__} has no ONNX converter for {name}; "
                          "deploy it without --export/--serve (stage only), or train a family that exports "
                          f"(torch, tt, or {exportable})")


# ------------------------------------------------------------------------------------------------ graph
@contextlib.contextmanager
def _plain_tree_attributes() -> Iterator[None]:
    """skl2onnx 1.20 hands NumPy integers and Python bools from scikit-learn >= 1.8's HistGradientBoosting trees to
    ``onnx.helper.make_attribute``, which refuses them ("Expected an int, got a boolean"); cast them for the
    duration of one conversion."""
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args: Any, **kwargs: Any) -> Any:
        args = tuple(int(v) if isinstance(v, np.integer) else v for v in args)
        kwargs = {k: int(v) if isinstance(v, (bool, np.bool_, np.integer)) else v for k, v in kwargs.items()}
        return original(*args, **kwargs)

    with _patch_lock:
        tree_ensemble.add_node = add_node
        try:
            yield
        finally:
            tree_ensemble.add_node = original


def _rename(graph: Any, old: str, new: str) -> None:
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]


def _convert(estimator: Any, width: int, classifier: bool) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = {id(estimator): {"zipmap": False}} if classifier else None
    with _plain_tree_attributes(), warnings.catch_warnings():
        # skl2onnx 1.20's SVM converter reads SVC.probA_/probB_, which scikit-learn 1.9 deprecated with
        # SVC(probability=True); TESLA's SVMs are calibrated by CalibratedClassifierCV and leave them empty
        warnings.filterwarnings("ignore", message=r"Attribute `prob[AB]_` was deprecated", category=FutureWarning)
        return convert_sklearn(estimator, initial_types=[("features", FloatTensorType([None, width]))],
                               options=options, target_opset={"": _OPSET, "ai.onnx.ml": _ML_OPSET})


def _assemble(onx: Any, ops: list[Op], width: int, classifier: bool, class_map: np.ndarray | None,
              scaling: Mapping[str, float] | None) -> Any:
    """Put the preprocessing nodes before the converted estimator and the bundle's post-processing after it.

    The input is float64 and the preprocessing runs in float64 (rounded to float32 where the pipeline rounds),
    then the features are cast to float32 as the bundle casts them: the same bits reach the estimator, which
    matters to trees (a threshold equals a training value, so one ulp flips a decision)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = onx.graph
    const = []

    def init(name: str, values: np.ndarray, dtype: Any = np.float32) -> str:
        const.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        pre.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    pre: list[Any] = []
    current = "input"
    for i, (kind, p, q, f32) in enumerate(ops):
        if kind == "fill":
            isnan = node("IsNaN", [current], f"pre{i}_isnan")
            y = node("Where", [isnan, init(f"pre{i}_fill", p, np.float64), current], f"pre{i}_filled")
        else:
            shifted = node("Sub", [current, init(f"pre{i}_offset", p, np.float64)], f"pre{i}_shifted")
            y = node("Div", [shifted, init(f"pre{i}_scale", q, np.float64)], f"pre{i}_scaled")
        if f32.any():  # the pipeline stores these columns as float32 after this step
            narrow = node("Cast", [y], f"pre{i}_f32", to=TensorProto.FLOAT)
            wide = node("Cast", [narrow], f"pre{i}_rounded", to=TensorProto.DOUBLE)
            y = node("Where", [init(f"pre{i}_f32_mask", f32, np.bool_), wide, y], f"pre{i}_out")
        current = y
    node("Cast", [current], "features", to=TensorProto.FLOAT)
    outputs = {o.name: o for o in graph.output}
    post = []
    if classifier:
        _rename(graph, "probabilities", "estimator_probabilities")
        post.append(helper.make_node("MatMul", ["estimator_probabilities", init("class_map", class_map)],
                                     ["probabilities"]))  # (N, k) @ (k, C): columns into the bundle's class order
        new_out = [outputs["label"],
                   helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, class_map.shape[1]])]
    else:
        (name,) = outputs
        scale = scaling or {"mean": 0.0, "std": 1.0}
        post += [helper.make_node("Mul", [name, init("target_std", np.array([scale["std"]]))], ["target_scaled"]),
                 helper.make_node("Add", ["target_scaled", init("target_mean", np.array([scale["mean"]]))],
                                  ["predictions"])]
        new_out = [helper.make_tensor_value_info("predictions", TensorProto.FLOAT, [None, 1])]
    nodes = pre + list(graph.node) + post
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(const)
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info("input", TensorProto.DOUBLE, [None, width]))
    del graph.output[:]
    graph.output.extend(new_out)
    return onx


class OnnxModule:
    """An onnxruntime session called like a module: a float64 tensor ``(N, F)`` in, the score tensor out
    (``probabilities`` or ``predictions``), on the CPU. :func:`load_onnx` makes one.

    >>> import torch
    >>> module = load_onnx(_demo_export().path / ONNX_FILE, "classification")
    >>> module(torch.zeros(3, 1)).shape
    torch.Size([3, 2])
    """

    def __init__(self, session: Any, output: str) -> None:
        self.session = session
        self.output = output

    def eval(self) -> OnnxModule:
        """Nothing to switch (kept so the module and a TorchScript module are used alike)."""
        return self

    def __call__(self, x: Any) -> Any:
        """Scores for a prepared batch; torch tensor in, torch tensor out."""
        import torch

        values = x.detach().cpu().numpy().astype(np.float64, copy=False)
        return torch.from_numpy(self.session.run([self.output], {"input": values})[0])


def load_onnx(path: Path, task: str) -> OnnxModule:
    """An :class:`OnnxModule` for the ``model.onnx`` of a scikit-learn export (hash checked by the caller)."""
    ort = require("onnxruntime", purpose="serving scikit-learn models")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ExportError(f"cannot load {path} with onnxruntime: {str(exc).splitlines()[0]}; export the model "
                          "again") from exc
    return OnnxModule(session, "probabilities" if task == "classification" else "predictions")


# ----------------------------------------------------------------------------------------------- export
def _example_rows(bundle: Any, reference: pd.DataFrame | None) -> pd.DataFrame:
    if reference is not None and len(reference):
        return reference.head(64)
    return pd.DataFrame(np.zeros((4, len(bundle.features))), columns=bundle.features)


def export_sklearn(bundle: Any, out_dir: str | os.PathLike[str], *, metadata: Mapping[str, Any] | None = None,
                   reference_data: pd.DataFrame | None = None, overwrite: bool = False) -> ExportInfo:
    """Convert the scikit-learn ``bundle`` (pipeline tail + estimator + post-processing) to ``model.onnx``, check
    it with onnxruntime against the bundle on ``reference_data`` (raw training rows; zeros without them) and write
    the export directory atomically. Returns :class:`~tesla_lab.serve.ExportInfo` (format ``onnx``).

    >>> from tesla_lab.serve import load_exported
    >>> info = _demo_export()  # a logistic regression on x with a Standardize step, classes "neg" / "pos"
    >>> info.formats, [step["type"] for step in info.metadata["graph_preprocessing"]]
    (['onnx'], ['Standardize'])
    >>> load_exported(info.path).predict([{"x": -2.0}, {"x": 3.0}])["predictions"]
    ['neg', 'pos']
    """
    est = bundle.estimator
    family = est.family
    check_convertible(family, est.estimator)
    require("onnxruntime", purpose="checking ONNX exports")
    out = Path(out_dir)
    _check_target(out, overwrite)
    classifier = bundle.task == "classification"
    width = int(est.n_features)
    rows = _example_rows(bundle, reference_data)[bundle.features]
    try:
        head, tail, ops = split_pipeline(bundle.preprocessing.to_dict() if bundle.preprocessing is not None
                                         else None, rows)
        want = bundle.predict_proba(rows) if classifier else np.asarray(bundle.predict(rows), dtype=np.float64)
        x = np.asarray(transform_from_dict(head).transform(rows) if head is not None else rows, dtype=np.float64)
    except TeslaError as exc:
        raise _fail(family, "prepare the check rows", exc) from exc
    if x.shape[1] != width:
        raise _fail(family, "split the pipeline", f"the server's part of the pipeline makes {x.shape[1]} columns but "
                    f"the estimator takes {width}")
    class_map = None
    if classifier:
        columns = np.asarray(est.estimator_.classes_, dtype=np.int64)
        class_map = np.zeros((len(columns), est.n_outputs), dtype=np.float32)
        class_map[np.arange(len(columns)), columns] = 1.0
    try:
        onx = _convert(est.estimator_, width, classifier)
    except Exception as exc:  # skl2onnx raises anything on an estimator it does not handle
        raise _fail(family, "skl2onnx.convert_sklearn", exc) from exc
    try:
        onx = _assemble(onx, ops, width, classifier, class_map, bundle.target_scaling if not classifier else None)
        import onnx

        onnx.checker.check_model(onx, full_check=True)
    except Exception as exc:
        raise _fail(family, "assemble the graph", exc) from exc
    meta: dict[str, Any] = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _sk_versions(), "runtime": "onnx", "task": bundle.task,
        "class_labels": list(bundle.classes) if classifier else None, "feature_names": list(bundle.features),
        "input": {"shape": [None, width], "dtype": "float64", "raw_shape": [None, len(bundle.features)],
                  "allow_nan": any(op[0] == "fill" for op in ops)},
        "output": {"shape": [None, est.n_outputs if classifier else 1],
                   "kind": "probabilities" if classifier else "values",
                   **({"tie_tolerance": _TIE} if classifier else {})},
        "preprocessing": head, "graph_preprocessing": tail,
        "reference": reference_profile(reference_data, list(bundle.features)) if reference_data is not None else None,
        "model": {"class": type(est.estimator_).__name__, "framework": est.framework, "family": family,
                  "estimator": est.estimator, "config": _json_safe(est.get_config(), "the estimator config")},
        "formats": {}, "files": {}, "metadata": _json_safe(dict(metadata or {}), "metadata"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_beside(out, suffix=".tmp")  # same file system: atomic rename; umask permissions
    try:
        path = tmp / ONNX_FILE
        path.write_bytes(onx.SerializeToString())
        got = load_onnx(path, bundle.task)(_torch(x)).numpy().astype(np.float64)
        _verify(family, got, want, classifier)
        meta["formats"]["onnx"] = {"status": "ok", "file": ONNX_FILE, "opset": _OPSET, "exporter": "skl2onnx",
                                   "verified_with": "onnxruntime", "checked_rows": len(x)}
        _seal(tmp, meta)
        _check_target(out, overwrite)
        _publish(tmp, out)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("exported %s (%s) to %s", family, type(est.estimator_).__name__, out)
    return ExportInfo(out, meta)


def _torch(x: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.array(x, dtype=np.float64))  # a writable copy


def _verify(family: str, got: np.ndarray, want: np.ndarray, classifier: bool) -> None:
    want = want.reshape(got.shape)
    if classifier:
        ok = np.allclose(got, want, rtol=0, atol=_TOLERANCE)
    else:
        ok = np.allclose(got, want, rtol=_TOLERANCE, atol=_TOLERANCE * float(np.abs(want).max(initial=1.0)))
    if not ok:
        diff = float(np.abs(got - want).max())
        raise _fail(family, "check with onnxruntime",
                    f"the ONNX model's {'probabilities' if classifier else 'predictions'} differ from the "
                    f"bundle's by up to {diff:.3g}")


def _sk_versions() -> dict[str, str]:
    out = _versions()
    for name in ("sklearn", "skl2onnx", "onnxruntime"):
        with contextlib.suppress(Exception):
            out["scikit-learn" if name == "sklearn" else name] = importlib.import_module(name).__version__
    return out


def _demo_export() -> ExportInfo:
    """A small exported scikit-learn classifier for the examples above."""
    from tesla_lab.data import Pipeline, Standardize
    from tesla_lab.models import ModelBundle, make_model

    df = pd.DataFrame({"x": np.linspace(-3, 3, 40)})
    pipe = Pipeline([Standardize()]).fit(df)
    model = make_model("sklearn:logistic", 1, 2, "classification").fit(pipe.transform(df), df["x"] > 0)
    bundle = ModelBundle(model, features=["x"], target="y", task="classification", classes=["neg", "pos"],
                         preprocessing=pipe)
    return export_sklearn(bundle, Path(tempfile.mkdtemp()) / "demo")
