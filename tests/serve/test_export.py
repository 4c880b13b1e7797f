"""export_model: files, metadata, atomic writes, ONNX (present or missing) and the refusals."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch

from tesla_lab.data import Standardize
from tesla_lab.errors import ConfigError, DataError, ShapeError
from tesla_lab.serve import export as export_mod
from tesla_lab.serve.export import METADATA_FILE, ONNX_FILE, TORCHSCRIPT_FILE, export_model, read_metadata
from tesla_lab.serve.trace import ExportError
from tesla_lab.store.artifacts import sha256_file

from .conftest import FEATURES, LABELS


def _linear_export(path, **kw):
    torch.manual_seed(0)
    kw.setdefault("task", "regression")
    kw.setdefault("formats", ("torchscript",))
    return export_model(torch.nn.Linear(3, 2), torch.randn(4, 3), path, **kw)


def test_metadata_describes_inputs_outputs_and_preprocessing(tabular_export, tabular):
    df, pipe, X, _ = tabular
    meta = tabular_export.metadata
    assert meta == read_metadata(tabular_export.path)
    assert meta["input"] == {"shape": [None, 8], "dtype": "float32", "raw_shape": [None, 6]}
    assert meta["output"] == {"shape": [None, 3], "kind": "logits"}
    assert meta["task"] == "classification" and meta["class_labels"] == LABELS
    assert meta["feature_names"] == FEATURES
    assert meta["preprocessing"] == json.loads(json.dumps(pipe.to_dict()))
    assert meta["metadata"] == {"run": "r1"}
    assert {"torch", "tesla_lab", "python"} <= set(meta["versions"])
    assert [layer["layer"] for layer in meta["model"]["tt_layers"]] == ["body.0.0", "body.1.0"]
    assert meta["model"]["config"]["type"] == "TensorNetwork"


def test_metadata_holds_training_histograms_for_every_feature(tabular_export):
    ref = tabular_export.metadata["reference"]
    assert ref["n_samples"] == 400
    assert [f["name"] for f in ref["features"]] == FEATURES
    for feature in ref["features"]:
        assert sum(feature["fractions"]) == pytest.approx(1.0)
    assert ref["features"][-1]["kind"] == "categorical"
    assert sorted(ref["features"][-1]["categories"]) == ["blue", "green", "red"]


def test_every_file_is_listed_with_its_sha256(tabular_export):
    files = tabular_export.metadata["files"]
    assert set(files) == {TORCHSCRIPT_FILE, ONNX_FILE}
    for name, entry in files.items():
        path = tabular_export.path / name
        assert entry == {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def test_onnx_export_matches_the_model(tabular_export, tabular):
    ort = pytest.importorskip("onnxruntime")
    _, _, X, model = tabular
    assert tabular_export.metadata["formats"]["onnx"]["status"] == "ok"
    session = ort.InferenceSession(str(tabular_export.path / ONNX_FILE), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": X[:13]})[0]  # another batch size than the example's 8
    with torch.no_grad():
        want = model(torch.from_numpy(X[:13])).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_missing_onnx_package_skips_onnx_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(export_mod, "available", lambda name: name != "onnx")
    with caplog.at_level(logging.WARNING, logger="tesla_lab.serve.export"):
        info = _linear_export(tmp_path / "m", formats=("torchscript", "onnx"))
    assert info.formats == ["torchscript"]
    assert info.metadata["formats"]["onnx"]["status"] == "skipped"
    assert "onnx package is not installed" in info.metadata["formats"]["onnx"]["reason"]
    assert "ONNX export skipped" in caplog.text
    assert not (tmp_path / "m" / ONNX_FILE).exists()


def test_export_is_atomic_and_leaves_no_temporary_directories(tmp_path):
    _linear_export(tmp_path / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [METADATA_FILE, TORCHSCRIPT_FILE]


def test_failed_export_writes_nothing(tmp_path):
    class TwoOutputs(torch.nn.Module):
        def forward(self, x):
            return x, x

    with pytest.raises(ExportError, match="must return one tensor"):
        export_model(TwoOutputs(), torch.ones(2, 3), tmp_path / "m", task="regression")
    assert list(tmp_path.iterdir()) == []


def test_existing_export_is_replaced_only_with_overwrite(tmp_path):
    first = _linear_export(tmp_path / "m")
    with pytest.raises(ConfigError, match="is not empty; pass overwrite=True"):
        _linear_export(tmp_path / "m")
    second = _linear_export(tmp_path / "m", overwrite=True, metadata={"v": 2})
    assert read_metadata(tmp_path / "m")["metadata"] == {"v": 2}
    assert second.metadata["created"] >= first.metadata["created"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_overwrite_refuses_a_directory_that_is_not_an_export(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="not a previous export"):
        _linear_export(tmp_path / "m", overwrite=True)
    assert (tmp_path / "m" / "thesis.tex").read_text() == "precious"


def test_export_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "m").write_text("x")
    with pytest.raises(ConfigError, match="is a file; give a directory path"):
        _linear_export(tmp_path / "m")


def test_probabilities_are_detected_from_softmax_outputs(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Softmax(dim=1))
    info = export_model(model, torch.randn(5, 3), tmp_path / "m", task="classification", formats=("torchscript",))
    assert info.metadata["output"]["kind"] == "probabilities"
    assert info.metadata["class_labels"] == [0, 1, 2, 3]


def test_task_is_inferred_from_labels_or_defaults_to_regression(tmp_path):
    assert _linear_export(tmp_path / "r", task=None).metadata["task"] == "regression"
    labelled = _linear_export(tmp_path / "c", task=None, class_labels=["no", "yes"])
    assert labelled.metadata["task"] == "classification"


def test_wrong_number_of_class_labels_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"outputs 2 value\(s\) per sample but 3 class_labels"):
        _linear_export(tmp_path / "m", task="classification", class_labels=["a", "b", "c"])


def test_duplicate_class_labels_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="class_labels must be distinct"):
        _linear_export(tmp_path / "m", task="classification", class_labels=["a", "a"])


def test_unknown_task_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="task must be one of: classification, regression"):
        _linear_export(tmp_path / "m", task="ranking")


def test_unknown_output_kind_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="outputs must be one of: auto, logits, probabilities; got 'scores'"):
        _linear_export(tmp_path / "m", task="classification", outputs="scores")


def test_formats_without_torchscript_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="formats must include 'torchscript'"):
        _linear_export(tmp_path / "m", formats=("onnx",))


def test_old_onnx_opset_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="opset must be an integer >= 17; got 13"):
        _linear_export(tmp_path / "m", opset=13)


def test_unknown_tt_path_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="tt_path must be one of"):
        _linear_export(tmp_path / "m", tt_path="sparse")


def test_non_module_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="needs a torch.nn.Module; got function"):
        export_model(lambda x: x, torch.ones(1, 2), tmp_path / "m")


def test_metadata_that_is_not_json_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="metadata must be plain JSON"):
        _linear_export(tmp_path / "m", metadata={"when": object()})


def test_unfitted_pipeline_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="the pipeline is not fitted"):
        _linear_export(tmp_path / "m", pipeline=Standardize())


def test_pipeline_of_the_wrong_type_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="pipeline must be a fitted tesla_lab.data Pipeline"):
        _linear_export(tmp_path / "m", pipeline="standardize")


def test_duplicate_feature_names_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="feature_names must be a non-empty list of distinct names"):
        _linear_export(tmp_path / "m", feature_names=["a", "a", "b"])


def test_example_without_batch_dimension_is_refused(tmp_path):
    with pytest.raises(ShapeError, match=r"example_input must be a batch \(N, ...\)"):
        export_model(torch.nn.Linear(3, 2), torch.randn(3), tmp_path / "m")


def test_example_with_nan_is_refused(tmp_path):
    with pytest.raises(DataError, match="example_input contains NaN/inf"):
        export_model(torch.nn.Linear(3, 2), [[1.0, float("nan"), 0.0]], tmp_path / "m")


def test_example_that_is_not_numeric_is_refused(tmp_path):
    with pytest.raises(ShapeError, match="example_input must be a tensor or a numeric array"):
        export_model(torch.nn.Linear(3, 2), [["a", "b", "c"]], tmp_path / "m")


def test_reference_data_that_does_not_fit_the_model_is_refused(tmp_path):
    wrong = pd.DataFrame(np.zeros((10, 4)), columns=list("wxyz"))
    with pytest.raises(ShapeError, match=r"reference rows become samples of shape \[4\]"):
        _linear_export(tmp_path / "m", reference_data=wrong)


def test_reference_data_missing_a_feature_is_refused(tmp_path):
    ref = pd.DataFrame(np.zeros((10, 3)), columns=["a", "b", "z"])
    with pytest.raises(DataError, match=r"reference_data lacks feature\(s\) \['c'\]"):
        _linear_export(tmp_path / "m", reference_data=ref, feature_names=["a", "b", "c"])


def test_empty_reference_data_is_refused(tmp_path):
    with pytest.raises(DataError, match="reference_data is empty"):
        _linear_export(tmp_path / "m", reference_data=np.zeros((0, 3)))


def test_feature_names_default_to_the_reference_frame_columns(tmp_path):
    ref = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=["x", "y", "z"])
    info = _linear_export(tmp_path / "m", reference_data=ref)
    assert info.metadata["feature_names"] == ["x", "y", "z"]
    assert [f["name"] for f in info.metadata["reference"]["features"]] == ["x", "y", "z"]


def test_read_metadata_refuses_other_json(tmp_path):
    (tmp_path / METADATA_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ExportError, match="is not TESLA Lab export metadata"):
        read_metadata(tmp_path)


def test_read_metadata_refuses_broken_json(tmp_path):
    (tmp_path / METADATA_FILE).write_text("{not json")
    with pytest.raises(ExportError, match="is not valid JSON"):
        read_metadata(tmp_path)


def test_read_metadata_refuses_a_newer_format_version(tmp_path):
    info = _linear_export(tmp_path / "m")
    meta = dict(info.metadata, format_version=99)
    (tmp_path / "m" / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ExportError, match="has export format version 99"):
        read_metadata(tmp_path / "m")


@pytest.mark.parametrize("tt_path", ["factorized", "dense"])
def test_tt_layers_export_to_onnx_on_both_paths(tmp_path, tt_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from tesla_lab.nn import TTLinear

    torch.manual_seed(0)
    model = torch.nn.Sequential(TTLinear(64, 32, rank=4), torch.nn.ReLU(), TTLinear(32, 8, rank=2))
    info = export_model(model, torch.randn(4, 64), tmp_path / "m", task="regression", tt_path=tt_path)
    assert info.metadata["formats"]["onnx"] == {"status": "ok", "file": ONNX_FILE, "opset": 17,
                                                "exporter": "torchscript", "verified_with": "onnxruntime"}
    assert {layer["path"] for layer in info.metadata["model"]["tt_layers"]} == {tt_path}
    x = torch.randn(11, 64)
    session = ort.InferenceSession(str(info.path / ONNX_FILE), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        np.testing.assert_allclose(session.run(None, {"input": x.numpy()})[0], model(x).numpy(), rtol=1e-4, atol=1e-5)


def test_onnx_exporter_failure_keeps_the_torchscript_export(tmp_path, monkeypatch):
    pytest.importorskip("onnx")

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operator aten::frobnicate")

    monkeypatch.setattr(torch.onnx, "export", broken)
    info = _linear_export(tmp_path / "m", formats=("torchscript", "onnx"))
    assert info.formats == ["torchscript"]
    assert info.metadata["formats"]["onnx"] == {"status": "failed", "reason": "unsupported operator aten::frobnicate"}
    assert sorted(info.metadata["files"]) == [TORCHSCRIPT_FILE]
