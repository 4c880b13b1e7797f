"""Deployment and monitoring: export a trained model (TorchScript + ONNX + metadata), serve it over REST with
FastAPI, and watch latency, errors and input drift.

scikit-learn models export to ONNX (:func:`export_sklearn`, with skl2onnx). FastAPI, uvicorn, ONNX and
skl2onnx are optional: ``pip install 'tesla-lab[serve]'``. Exporting and loading need only torch.

>>> import tempfile, torch, tesla_lab as tesla
>>> from tesla_lab import serve
>>> model = tesla.TensorNetwork(input_dim=8, hidden_dim=8, output_dim=2, tt_rank=2)
>>> info = serve.export_model(model, torch.randn(4, 8), tempfile.mkdtemp() + "/m", formats=("torchscript",))
>>> serve.load_exported(info.path).task
'regression'
"""

from tesla_lab.errors import ExportError, InputError, MissingDependencyError
from tesla_lab.serve.deploy import Deployment, check_servable, deploy_registered, export_registered
from tesla_lab.serve.export import ExportInfo, export_model, read_metadata
from tesla_lab.serve.inputs import InputSpec
from tesla_lab.serve.loadtest import LoadTestResult, load_test
from tesla_lab.serve.monitor import DriftMonitor, LatencyWindow, Monitor, RequestLog, psi, reference_profile
from tesla_lab.serve.predictor import ExportedModel, load_exported
from tesla_lab.serve.server import background_server, check_bind, create_app, serve
from tesla_lab.serve.sklearn_onnx import export_sklearn

__all__ = [
    "export_model", "export_sklearn", "load_exported", "read_metadata", "ExportedModel", "ExportInfo", "ExportError",
    "InputError", "InputSpec", "MissingDependencyError",
    "create_app", "serve", "background_server", "check_bind", "export_registered",
    "deploy_registered", "Deployment", "check_servable",
    "Monitor", "DriftMonitor", "LatencyWindow", "RequestLog", "psi", "reference_profile",
    "load_test", "LoadTestResult",
]
