"""Optional dependencies: tesla_lab imports without FastAPI/uvicorn; using the server names the extra to install."""

import subprocess
import sys

import pytest

from tesla_lab.serve._deps import MissingDependencyError, available, require


def test_require_names_the_extra():
    with pytest.raises(MissingDependencyError, match=r"not_a_module_abc is not installed; .*'tesla-lab\[x\]'"):
        require("not_a_module_abc", extra="x")
    assert issubclass(MissingDependencyError, ImportError)
    assert not available("not_a_module_abc") and available("json")


def test_tesla_lab_imports_and_exports_without_fastapi_or_onnx(tmp_path):
    # Blocking the modules in a fresh interpreter: importing them then raises ImportError, as when not installed.
    code = f"""
import sys
for name in ("fastapi", "uvicorn", "starlette", "onnx", "onnxruntime", "httpx"):
    sys.modules[name] = None
import torch, tesla_lab
from tesla_lab import serve
info = serve.export_model(torch.nn.Linear(2, 1), torch.zeros(3, 2), {str(tmp_path / "m")!r}, task="regression")
assert info.formats == ["torchscript"], info.metadata["formats"]
assert serve.load_exported(info.path).predict([[1.0, 2.0]])["predictions"]
try:
    serve.create_app(info.path)
except serve.MissingDependencyError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "fastapi is not installed; it is needed for serving models: pip install 'tesla-lab[serve]'" in out.stdout
