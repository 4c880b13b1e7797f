"""Every format read from a compressed file goes through the capped stream decompression: a bomb is refused at the
cap, a damaged archive is one clear error naming the file (rc 1 from `tesla load`, never a crash)."""

import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tesla_lab.data import load
from tesla_lab.data.limits import ReadLimits
from tesla_lab.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
FRAME = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "target": [0, 1, 0]})


def _plain_bytes(fmt: str, frame: pd.DataFrame = FRAME) -> bytes:
    buf = io.BytesIO()
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    if fmt == "json":
        return frame.to_json(orient="records").encode()
    if fmt == "jsonl":
        return frame.to_json(orient="records", lines=True).encode()
    if fmt == "parquet":
        frame.to_parquet(buf, compression=None)
    elif fmt == "pkl":
        frame.to_pickle(buf, compression=None)
    return buf.getvalue()


def _compress(path: Path, raw: bytes) -> Path:
    name = path.name
    if name.endswith(".gz") and ".tar" not in name:
        path.write_bytes(gzip.compress(raw))
    elif name.endswith(".bz2"):
        path.write_bytes(bz2.compress(raw))
    elif name.endswith(".xz"):
        path.write_bytes(lzma.compress(raw))
    elif name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name.removesuffix(".zip"), raw)
    elif name.endswith(".tar.gz"):
        with tarfile.open(path, "w:gz") as archive:
            info = tarfile.TarInfo(name.removesuffix(".tar.gz"))
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return path


def _kw(fmt: str) -> dict:
    return {"trust": True} if fmt == "pkl" else {}


@pytest.mark.parametrize("name", ["t.csv.gz", "t.json.gz", "t.jsonl.gz", "t.parquet.gz", "t.pkl.gz", "t.json.bz2",
                                  "t.jsonl.xz", "t.json.zip", "t.csv.tar.gz"])
def test_each_format_loads_from_a_compressed_file(tmp_path, name):
    fmt = name.split(".")[1]
    frame = load(_compress(tmp_path / name, _plain_bytes(fmt)), **_kw(fmt))
    assert frame.to_dict("list") == FRAME.to_dict("list")


@pytest.mark.parametrize("name", ["bomb.json.gz", "bomb.jsonl.gz", "bomb.pkl.gz", "bomb.parquet.gz", "bomb.json.xz"])
def test_a_decompression_bomb_is_refused_at_the_cap_in_every_format(tmp_path, name):
    fmt = name.split(".")[1]
    raw = _plain_bytes(fmt, pd.DataFrame({"a": [f"{i}{'x' * 1000}" for i in range(6000)],
                                               "target": [0] * 6000}))
    if fmt in ("json", "jsonl"):
        raw += b" " * (4 * 2**20)  # whitespace compresses ~1000:1
    path = _compress(tmp_path / name, raw)
    assert path.stat().st_size < 200_000 and len(raw) > 4 * 2**20
    with pytest.raises(DataError, match=rf"{name.replace('.', '[.]')}' expands to more than 2 MB when decompressed "
                                        r".*TESLA_MAX_EXPANDED_MB"):
        load(path, limits=ReadLimits(max_expanded_bytes=2 * 2**20), **_kw(fmt))


def test_the_cap_comes_from_the_environment(tmp_path, monkeypatch):
    path = _compress(tmp_path / "big.jsonl.gz", _plain_bytes("jsonl") + b"\n" * (3 * 2**20))
    monkeypatch.setenv("TESLA_MAX_EXPANDED_MB", "1")
    with pytest.raises(DataError, match=r"big\.jsonl\.gz' expands to more than 1 MB"):
        load(path)


@pytest.mark.parametrize("name", ["rows.csv.gz", "rows.json.gz", "rows.jsonl.gz", "rows.parquet.gz", "rows.pkl.gz"])
@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_or_truncated_archive_names_the_file_in_every_format(tmp_path, name, damage):
    fmt = name.split(".")[1]
    big = pd.DataFrame({"a": range(20_000), "target": [i % 3 for i in range(20_000)]})
    path = _compress(tmp_path / name, _plain_bytes(fmt, big))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else raw[:20] + b"\xff" * 64 + raw[84:])
    with pytest.raises(DataError, match=rf"{name.replace('.', '[.]')}' is not a readable \.gz archive .*truncated or "
                                        "corrupt"):
        load(path, **_kw(fmt))


def test_a_compressed_sqlite_file_is_refused_with_the_fix(tmp_path):
    path = _compress(tmp_path / "x.db.gz", b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(DataError, match=r"x\.db\.gz' is a compressed SQLite database; .*gunzip -k"):
        load(path, table="t")


@pytest.mark.parametrize("name", ["bad.csv.gz", "bad.json.gz", "bad.jsonl.gz"])
def test_tesla_load_of_a_damaged_archive_exits_1_with_the_file_name(tmp_path, name):
    subprocess.run([sys.executable, "-m", "tesla_lab.cli", "init", str(tmp_path / "p")], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    fmt = name.split(".")[1]
    path = _compress(tmp_path / name, _plain_bytes(fmt, pd.DataFrame({"a": range(30_000), "target": 0})))
    path.write_bytes(path.read_bytes()[:5000])  # truncated download
    done = subprocess.run([sys.executable, "-m", "tesla_lab.cli", "load", "-d", str(path), "-o", "d"],
                          cwd=tmp_path / "p", capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stderr
    assert f"'{path}' is not a readable .gz archive" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def http_folder(tmp_path):
    """A loopback HTTP server over tmp_path/www (files the test writes)."""
    import functools
    import http.server
    import threading

    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_compressed_file_behind_a_url_is_read_under_the_same_cap(http_folder):
    www, base = http_folder
    _compress(www / "ok.json.gz", _plain_bytes("json"))
    assert load(f"{base}/ok.json.gz").to_dict("list") == FRAME.to_dict("list")
    _compress(www / "bomb.jsonl.gz", _plain_bytes("jsonl") + b"\n" * (3 * 2**20))
    with pytest.raises(DataError, match=rf"'{base}/bomb\.jsonl\.gz' expands to more than 1 MB"):
        load(f"{base}/bomb.jsonl.gz", limits=ReadLimits(max_expanded_bytes=2**20))
    (www / "cut.csv.gz").write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 50_000)[:200])
    with pytest.raises(DataError, match=rf"'{base}/cut\.csv\.gz' is not a readable \.gz archive"):
        load(f"{base}/cut.csv.gz")
    with pytest.raises(DataError, match=rf"cannot download '{base}/missing\.csv\.gz' \(HTTP Error 404"):
        load(f"{base}/missing.csv.gz")
