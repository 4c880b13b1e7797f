"""Export (TorchScript + ONNX) and in-process serving in a process that has imported TensorFlow (Keras 3's
TensorFlow backend).

What killed the main test process once: pytest's fixture scan imported TensorFlow during collection, so absl's
logging handler (created when TensorFlow imports absl) kept pytest's capture file as its stream. The deploy test
then started ``background_server``, whose uvicorn configured logging with ``logging.config.dictConfig``; that
closes every handler of the process, and absl's handler closes its stream when that is no longer ``sys.stderr``:
pytest's capture file was closed under it and the session died ("I/O operation on closed file", "lost
sys.stderr"). The ONNX export itself was never the problem. The scenario runs in a child interpreter (this test
process never imports TensorFlow), with ``-X faulthandler`` so that a native crash would show in the message.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("uvicorn")
if not any(os.path.isdir(os.path.join(p, "tensorflow")) for p in sys.path if p):  # no import: that is the point
    pytest.skip("tensorflow is not installed", allow_module_level=True)

CHILD = r"""
import json, os, sys, tempfile, urllib.request, warnings
capture = open(sys.argv[1], "w")  # stands for pytest's capture file: sys.stderr while TensorFlow is imported
sys.stderr = capture
import keras  # KERAS_BACKEND=tensorflow: imports TensorFlow (and absl.logging)
import tensorflow as tf
import tesla_lab.keras  # the TESLA Keras layers on the TensorFlow backend, as the fixture scan imported them
sys.stderr = sys.__stderr__
import numpy as np, onnxruntime as ort, torch
import tesla_lab as tesla
from tesla_lab.serve import background_server, export_model

assert keras.backend.backend() == "tensorflow" and "absl.logging" in sys.modules
tf.constant([1.0, 2.0]) * 2.0  # TensorFlow has run an op: its thread pools are up
torch.manual_seed(0)
out = {}

# 1. TESLA's export path: TorchScript trace of a tensor-train network, torch.onnx.export, checked by onnxruntime
model = tesla.TensorNetwork(input_dim=8, hidden_dim=16, output_dim=3, tt_rank=2).eval()
x = torch.randn(6, 8)
info = export_model(model, x, os.path.join(tempfile.mkdtemp(), "m"), class_labels=["a", "b", "c"])
out["onnx"] = info.metadata["formats"]["onnx"]

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

# 3. served in this process, as `tesla deploy --serve` is in the CLI tests
with background_server(info.path) as url:
    req = urllib.request.Request(url + "/predict", data=json.dumps({"inputs": x[:2].tolist()}).encode(),
                                 headers={"content-type": "application/json"})
    out["served"] = json.loads(urllib.request.urlopen(req, timeout=20).read())["predictions"]
with torch.no_grad():
    out["want"] = [["a", "b", "c"][i] for i in model(x[:2]).argmax(1).tolist()]
out["capture_closed"] = capture.closed
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow  # importing TensorFlow in the child: ~10 s of CPU
def test_a_process_that_imported_tensorflow_exports_onnx_and_serves(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1",
               TF_NUM_INTEROP_THREADS="1")
    env.pop("TESLA_KERAS_BACKEND", None)
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", CHILD, str(tmp_path / "capture.txt")],
                          capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stderr[-4000:]}"
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["onnx"]["status"] == "ok", result
    assert result["onnx"]["verified_with"] == "onnxruntime"  # outputs matched the eager model
    assert result["plain_max_diff"] < 1e-5
    assert result["served"] == result["want"]
    assert result["capture_closed"] is False  # uvicorn did not close absl's stream
