"""ONNX export in a process that has imported TensorFlow (Keras 3's TensorFlow backend).

A previous session saw the main test process die in an ONNX export test after pytest's fixture scan had imported
TensorFlow into it. The scenario runs here in a child interpreter (this test process never imports TensorFlow), with
``-X faulthandler`` so that a crash would show the native stack in the failure message.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")
if not any(os.path.isdir(os.path.join(p, "tensorflow")) for p in sys.path if p):  # no import: that is the point
    pytest.skip("tensorflow is not installed", allow_module_level=True)

CHILD = r"""
import json, os, sys, tempfile, warnings
import keras  # KERAS_BACKEND=tensorflow: imports TensorFlow
import tensorflow as tf
import tesla_lab.keras  # the TESLA Keras layers on the TensorFlow backend, as the fixture scan imported them
import numpy as np, onnxruntime as ort, torch
import tesla_lab as tesla
from tesla_lab.serve import export_model

assert keras.backend.backend() == "tensorflow" and "tensorflow" in sys.modules
tf.constant([1.0, 2.0]) * 2.0  # TensorFlow has run an op: its thread pools are up
torch.manual_seed(0)
out = {}

# 1. TESLA's export path: TorchScript trace of a tensor-train network, torch.onnx.export, checked by onnxruntime
model = tesla.TensorNetwork(input_dim=8, hidden_dim=16, output_dim=3, tt_rank=2).eval()
x = torch.randn(6, 8)
info = export_model(model, x, os.path.join(tempfile.mkdtemp(), "m"), class_labels=["a", "b", "c"])
out["tesla"] = info.metadata["formats"]["onnx"]

# 2. plain torch.onnx.export of a small module, run by onnxruntime
net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)).eval()
z = torch.randn(3, 4)
path = os.path.join(tempfile.mkdtemp(), "plain.onnx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.onnx.export(net, (z,), path, dynamo=False, input_names=["input"], output_names=["output"])
got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": z.numpy()})[0]
with torch.no_grad():
    out["plain_max_diff"] = float(np.abs(got - net(z).numpy()).max())
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow  # importing TensorFlow in the child: ~10 s of CPU
def test_onnx_export_succeeds_in_a_process_that_imported_tensorflow():
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1",
               TF_NUM_INTEROP_THREADS="1")
    env.pop("TESLA_KERAS_BACKEND", None)
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", CHILD], capture_output=True, text=True,
                          timeout=240, env=env)
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stderr[-4000:]}"
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["tesla"]["status"] == "ok", result
    assert result["tesla"]["verified_with"] == "onnxruntime"  # outputs matched the eager model
    assert result["plain_max_diff"] < 1e-5
