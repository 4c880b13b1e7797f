"""The shipped notebooks run top to bottom in the ``tesla-lab`` kernel (registered under this Python's prefix, like
``python -m ipykernel install --sys-prefix --name tesla-lab``)."""

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat and nbclient (tesla-lab[test])")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient (tesla-lab[test])")

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "tesla-lab"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernel():
    """Register this Python as the ``tesla-lab`` kernel unless a kernel of that name already runs it."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return KERNEL
    except NoSuchKernel:
        pass
    install(kernel_name=KERNEL, display_name="TESLA Lab (Python)", prefix=sys.prefix)
    return KERNEL


def _run(name, kernel, cwd, monkeypatch, parameters=None):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout, installed or not
    monkeypatch.setenv("TESLA_DEMO_DIR", str(cwd / "demo"))  # never the user's ~/.tesla/demo
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    if parameters:
        tagged = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        tagged.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    client = nbclient.NotebookClient(nb, kernel_name=kernel, timeout=300, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _text(cell):
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_quickstart_trains_a_tt_network_on_digits(kernel, tmp_path, monkeypatch):
    nb = _run("01_quickstart.ipynb", kernel, tmp_path, monkeypatch, {"EPOCHS": 8})
    summary, result = _text(nb.cells[4]), _text(nb.cells[-2])
    assert "Dense" in summary and "compression" in summary
    assert "test accuracy" in result and "fewer than the dense equivalent" in result


def test_workbench_notebook_shows_the_widgets_and_records_a_run(kernel, tmp_path, monkeypatch):
    nb = _run("02_workbench.ipynb", kernel, tmp_path, monkeypatch, {"EPOCHS": 2})
    widgets = [c for c in nb.cells if c.cell_type == "code" and any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c.get("outputs", []))]
    assert len(widgets) >= 5  # loader, explorer, builder, workbench, monitor, runs
    assert "finished" in "".join(_text(c) for c in nb.cells)
    from tesla_lab.store import Project

    runs = Project(tmp_path / "demo").runs()
    assert runs["name"].tolist() == ["digits-tt"] and runs["status"].tolist() == ["finished"]
