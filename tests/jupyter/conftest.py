"""Fixtures for the JupyterLab extension tests: pytest-jupyter's server fixtures with the TESLA Lab server
extension enabled and a TESLA project as the server's root folder."""

import json

import pytest

from tesla_lab.store import Project

try:
    from pytest_jupyter.jupyter_server import *  # noqa: F403  (jp_fetch, jp_serverapp, ...)
except ImportError:  # no jupyter_server / pytest-jupyter: these tests cannot run; say so instead of erroring
    collect_ignore_glob = ["test_*.py"]
    import warnings

    warnings.warn("tests/jupyter skipped: pip install 'tesla-lab[lab,test]' (jupyter_server, pytest-jupyter)",
                  stacklevel=1)

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"tesla_lab.jupyter": True}},
            "TeslaLab": {"dashboard_url": "http://127.0.0.1:9/"}}  # port 9 (discard): nothing answers


@pytest.fixture
def project(jp_root_dir):
    return Project.init(jp_root_dir, name="lab-test")


def _write_template(path, source="epochs = 3\nrank = 8\ndataset = 'digits'\nlr: float = 0.01\n"):
    cells = [
        {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "execution_count": None,
         "outputs": [], "source": source},
        {"cell_type": "code", "id": "body", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "print(epochs, rank, dataset, lr)"},
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": KERNEL}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


@pytest.fixture
def write_template():
    """Write a papermill-parameterized notebook at a path: a `parameters` cell, then one cell that uses them."""
    return _write_template


# -- calling the REST handlers under /tesla-lab/ (imported by the test modules; jp_fetch is their fixture)
async def fetch_json(jp_fetch, *parts, **kwargs):
    """``(status code, decoded JSON body)`` of a request to ``/tesla-lab/<parts>``."""
    response = await jp_fetch("tesla-lab", *parts, **kwargs)
    return response.code, json.loads(response.body)


async def expect_error(jp_fetch, code, match, *parts, **kwargs):
    """Request ``/tesla-lab/<parts>``, assert it fails with ``code`` and a message containing ``match``; return it."""
    import tornado.httpclient  # jupyter_server's: only where these tests can run

    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await jp_fetch("tesla-lab", *parts, **kwargs)
    assert info.value.code == code
    message = json.loads(info.value.response.body)["message"]
    assert match in message, message
    return message
