"""load_exported / ExportedModel: predictions equal the eager model, files are verified, nothing is unpickled."""

import json
import pickle
import shutil
import threading

import numpy as np
import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.serve.export import METADATA_FILE, TORCHSCRIPT_FILE, export_model
from tesla_lab.serve.inputs import InputError
from tesla_lab.serve.predictor import load_exported
from tesla_lab.serve.trace import ExportError

from .conftest import FEATURES, LABELS, make_frame


def _eager_probs(model, pipe, frame):
    x = torch.from_numpy(np.asarray(pipe.transform(frame), dtype=np.float32))
    with torch.no_grad():
        return torch.softmax(model(x), dim=1).numpy()


def test_export_load_predict_equals_eager_model_with_pipeline(tabular, tabular_dir):
    _, pipe, _, model = tabular
    exported = load_exported(tabular_dir)
    frame = make_frame(25, seed=7)
    out = exported.predict(frame.to_dict("records"))
    want = _eager_probs(model, pipe, frame)
    np.testing.assert_allclose(out["probabilities"], want, rtol=1e-4, atol=1e-6)
    assert out["predictions"] == [LABELS[i] for i in want.argmax(1)]
    assert out["class_labels"] == LABELS


def test_rows_frames_and_arrays_give_the_same_predictions(tabular_dir):
    exported = load_exported(tabular_dir)
    frame = make_frame(5, seed=3)
    by_rows = exported.predict(frame.to_dict("records"))
    by_frame = exported.predict(frame)
    by_inputs = exported.predict(frame.to_numpy().tolist())
    assert by_rows == by_frame == by_inputs


def test_regression_export_predicts_the_eager_values(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    info = export_model(model, torch.randn(6, 4), tmp_path / "m", task="regression", formats=("torchscript",))
    x = torch.randn(9, 4)
    out = load_exported(info.path).predict(x.numpy())
    with torch.no_grad():
        np.testing.assert_allclose(out["predictions"], model(x)[:, 0].numpy(), rtol=1e-5, atol=1e-6)
    assert set(out) == {"predictions"}


def test_single_logit_classifier_returns_two_class_probabilities(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    info = export_model(model, torch.randn(4, 3), tmp_path / "m", class_labels=["no", "yes"],
                        formats=("torchscript",))
    x = torch.randn(5, 3)
    out = load_exported(info.path).predict(x.numpy())
    with torch.no_grad():
        p_yes = torch.sigmoid(model(x))[:, 0].numpy()
    np.testing.assert_allclose(np.asarray(out["probabilities"])[:, 1], p_yes, rtol=1e-5)
    assert out["predictions"] == ["yes" if p > 0.5 else "no" for p in p_yes]


def test_image_model_takes_nested_samples(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    info = export_model(model, torch.randn(2, 4, 4), tmp_path / "m", task="classification", formats=("torchscript",))
    exported = load_exported(info.path)
    assert exported.spec.sample_shape == (4, 4)
    x = torch.randn(3, 4, 4)
    out = exported.predict(x.tolist())
    with torch.no_grad():
        np.testing.assert_allclose(np.asarray(out["probabilities"]), torch.softmax(model(x), 1).numpy(), rtol=1e-5)
    with pytest.raises(InputError, match=r"must have shape \[4, 4\]"):
        exported.predict(torch.randn(1, 16).tolist())


def test_concurrent_predictions_from_threads_match_sequential_ones(tabular_dir):
    exported = load_exported(tabular_dir)
    frames = [make_frame(3 + i, seed=i).to_dict("records") for i in range(8)]
    want = [exported.predict(f) for f in frames]
    got: list = [None] * len(frames)

    def work(i):
        for _ in range(5):
            got[i] = exported.predict(frames[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(frames))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want


def test_loading_never_unpickles(tabular_dir, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("an export must load without pickle")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    exported = load_exported(tabular_dir)
    assert exported.predict(make_frame(2).to_dict("records"))["class_labels"] == LABELS


def _copy(src, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_modified_model_file_is_refused(tabular_dir, tmp_path):
    dst = _copy(tabular_dir, tmp_path)
    with open(dst / TORCHSCRIPT_FILE, "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ExportError, match="is corrupted or was modified"):
        load_exported(dst)


def test_missing_model_file_is_refused(tabular_dir, tmp_path):
    dst = _copy(tabular_dir, tmp_path)
    (dst / TORCHSCRIPT_FILE).unlink()
    with pytest.raises(ExportError, match="is incomplete: model.torchscript.pt is missing"):
        load_exported(dst)


def test_unlisted_model_file_is_refused(tabular_dir, tmp_path):
    dst = _copy(tabular_dir, tmp_path)
    meta = json.loads((dst / METADATA_FILE).read_text())
    del meta["files"][TORCHSCRIPT_FILE]
    (dst / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ExportError, match="is not listed in metadata.json"):
        load_exported(dst)


def test_unloadable_torchscript_is_refused_without_verification(tabular_dir, tmp_path):
    dst = _copy(tabular_dir, tmp_path)
    (dst / TORCHSCRIPT_FILE).write_bytes(b"not a zip archive")
    with pytest.raises(ExportError, match="cannot load .*model.torchscript.pt"):
        load_exported(dst, verify=False)


def test_bad_loader_options_are_refused(tabular_dir):
    with pytest.raises(ConfigError, match="max_rows must be a positive integer; got 0"):
        load_exported(tabular_dir, max_rows=0)


def test_unknown_category_is_an_input_error(tabular_dir):
    row = make_frame(1).to_dict("records")[0] | {"color": "purple"}
    with pytest.raises(InputError, match="preprocessing refused the input: .*purple"):
        load_exported(tabular_dir).predict([row])


def test_input_spec_comes_from_the_metadata(tabular_dir):
    spec = load_exported(tabular_dir).spec
    assert spec.feature_names == tuple(FEATURES)
    assert spec.categorical == {"color"}
    assert spec.allow_missing is False and spec.sample_shape == (6,)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_model_exports_and_serves_on_cuda_and_cpu(tmp_path):
    from tesla_lab.nn import TTLinear

    torch.manual_seed(0)
    model = torch.nn.Sequential(TTLinear(64, 32, rank=4), torch.nn.ReLU(), torch.nn.Linear(32, 3)).cuda()
    info = export_model(model, torch.randn(8, 64, device="cuda"), tmp_path / "m", task="classification")
    x = torch.randn(5, 64)
    with torch.no_grad():
        want = torch.softmax(model(x.cuda()), dim=1).cpu().numpy()
    for device in ("cuda", "cpu"):
        out = load_exported(info.path, device=device).predict(x.numpy())
        np.testing.assert_allclose(out["probabilities"], want, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["input"].update(dtype="system"), "unknown input dtype 'system'"),
        (lambda m: m.pop("task"), r"lacks or garbles an entry \(KeyError"),
    ],
)
def test_garbled_metadata_is_refused(tabular_dir, tmp_path, edit, message):
    dst = _copy(tabular_dir, tmp_path)
    meta = json.loads((dst / METADATA_FILE).read_text())
    edit(meta)
    (dst / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ExportError, match=message):
        load_exported(dst)
