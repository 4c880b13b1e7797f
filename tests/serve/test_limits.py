"""What one client may cost the server: bodies past what max_rows rows take, slow headers, too many connections."""

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from fastapi.testclient import TestClient  # noqa: E402

from tesla_lab.errors import ConfigError  # noqa: E402
from tesla_lab.serve.limits import body_limit  # noqa: E402
from tesla_lab.serve.predictor import load_exported  # noqa: E402
from tesla_lab.serve.server import background_server, check_bind, create_app  # noqa: E402

from .conftest import make_frame  # noqa: E402


def test_the_default_body_limit_follows_the_row_limit_and_is_checked_before_decoding(tabular_dir, monkeypatch):
    exported = load_exported(tabular_dir)
    limit = body_limit(n_values=exported.input_shape[0], max_rows=10, names=exported.feature_names)
    assert limit < 64 * 2**10 + 10 * 1024  # a few KiB for 10 tabular rows, not 8 MiB
    decoded = []
    import tesla_lab.serve.server as server

    real_parse = server._parse
    monkeypatch.setattr(server, "_parse", lambda *a: decoded.append(1) or real_parse(*a))
    with TestClient(create_app(tabular_dir, max_rows=10)) as client:
        ok = client.post("/predict", json={"rows": make_frame(10, seed=1).to_dict("records")})
        assert ok.status_code == 200, ok.text
        big = b'{"inputs": [' + b"1.0, " * (limit // 5) + b"1.0]}"
        refused = client.post("/predict", content=big, headers={"content-type": "application/json"})
    assert refused.status_code == 413
    assert f"at most {limit} bytes are accepted (what 10 rows of this model take)" in refused.json()["detail"]
    assert decoded == [1], "the oversized body was never decoded"


def _recv_all(sock, timeout):
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except TimeoutError:
        return data, False
    return data, True  # the server closed the connection


def test_a_connection_that_never_completes_its_headers_is_closed(tabular_dir):
    with background_server(tabular_dir, server_options={"header_timeout_s": 0.5}) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as slow:
            slow.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")  # ... and nothing more
            start = time.monotonic()
            data, closed = _recv_all(slow, timeout=10)
            assert closed and time.monotonic() - start < 5
        with urllib.request.urlopen(url + "/health", timeout=10) as ok:  # normal clients are unaffected
            assert ok.status == 200


def test_past_the_concurrency_limit_the_server_answers_503(tabular_dir):
    options = {"limit_concurrency": 2, "header_timeout_s": 30}
    with background_server(tabular_dir, server_options=options) as url:
        host, port = url.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port))) for _ in range(2)]
        try:
            time.sleep(0.2)
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(url + "/health", timeout=10)
            assert err.value.code == 503
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        with urllib.request.urlopen(url + "/health", timeout=10) as ok:
            assert ok.status == 200 and json.loads(ok.read())["status"] == "ok"


@pytest.mark.parametrize("token", ["", "   ", "two words"])
def test_a_blank_token_is_refused_before_anything_happens(token):
    with pytest.raises(ConfigError, match="--token must be a non-empty string without spaces"):
        check_bind("0.0.0.0", token)
