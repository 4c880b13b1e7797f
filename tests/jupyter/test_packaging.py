"""The prebuilt labextension shipped in the wheel: built from the current sources, named and wired as the server
extension and JupyterLab expect."""

import importlib.util
import json
import re
from pathlib import Path

import tesla_lab.jupyter as lab

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "tesla_lab" / "labextension"


def _source_hash_module():
    spec = importlib.util.spec_from_file_location("source_hash", REPO / "extensions" / "scripts" / "source_hash.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_labextension_was_built_from_the_current_sources():
    hashes = _source_hash_module()
    assert hashes.built_hash() == hashes.source_hash(), (
        "tesla_lab/labextension is out of date with extensions/ (package.json, yarn.lock, tsconfig.json, src/, "
        "style/): run `make labextension` and commit tesla_lab/labextension")


def test_labextension_paths_point_at_the_built_extension():
    (entry,) = lab._jupyter_labextension_paths()
    folder = (Path(lab.__file__).parent / entry["src"]).resolve()
    meta = json.loads((folder / "package.json").read_text())
    assert folder == BUILT and entry["dest"] == meta["name"] == "tesla-lab"
    assert (folder / meta["jupyterlab"]["_build"]["load"]).is_file()
    assert (folder / "static" / "style.js").is_file()


def test_server_config_enables_the_server_extension_module():
    config = json.loads((REPO / "extensions" / "jupyter-config" / "server-config" / "tesla_lab.json").read_text())
    modules = [name for name, on in config["ServerApp"]["jpserver_extensions"].items() if on]
    assert modules == [p["module"] for p in lab._jupyter_server_extension_points()] == ["tesla_lab.jupyter"]


def test_frontend_calls_the_routes_the_server_registers():
    from tesla_lab.jupyter.handlers import routes

    patterns = {p.removeprefix("/tesla-lab/") for p, _ in routes("/")}
    source = "\n".join(p.read_text() for p in (REPO / "extensions" / "src").glob("*.ts"))
    for endpoint in ["config", "overview", "project", "project/demo", "notebooks/template", "notebooks/validate",
                     "notebooks", "jobs", "dashboard"]:
        assert endpoint in patterns and re.search(f"['`]{endpoint}['`$]", source), endpoint
    assert r"runs/([^/]+)/stop" in patterns and "`runs/${encodeURIComponent(id)}/stop`" in source
    assert r"runs/([^/]+)" in patterns and "`runs/${encodeURIComponent(id)}`" in source
    assert r"runs/([^/]+)/notebook" in patterns and "`runs/${encodeURIComponent(id)}/notebook`" in source
    assert (r"models/([^/]+)/([^/]+)/stage" in patterns
            and "`models/${encodeURIComponent(name)}/${version}/stage`" in source)
