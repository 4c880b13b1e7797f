"""Load test of the REST server on loopback: requests/s and client-side p50/p99 latency of ``POST /predict``.

Two exports are served one after the other, each by a uvicorn server in its own process (so the client threads do
not share the server's GIL), and hit by ``--concurrency`` threads with keep-alive connections until ``--requests``
requests were sent or ``--seconds`` passed, whichever comes first:

* ``tt``: a TensorNetwork 64 → 256 (TT, rank 8) → 256 (TT) → 10, raw arrays (``{"inputs": [[64 floats]]}``);
* ``tabular``: a TT classifier behind a OneHot + Standardize pipeline, named rows (``{"rows": [{...}]}``).

The server's own view (``GET /metrics``: latency measured inside the app, including queueing) is printed too. On a
small machine the client competes with the server for the CPU: the numbers are a lower bound.

    python bench/serve_load.py                         # 2 x (2000 requests or 20 s), 4 threads, 1 row each
    python bench/serve_load.py --rows 32 --concurrency 8 --requests 500 --seconds 10 --torch-threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import tesla_lab as tesla
from tesla_lab.data import OneHot, Pipeline, Standardize
from tesla_lab.serve import export_model, load_test


def export_tt(root: Path, rows: int) -> tuple[Path, dict]:
    torch.manual_seed(0)
    model = tesla.TensorNetwork(input_dim=64, hidden_dim=256, output_dim=10, tt_rank=8)
    model.add_layer("tt", 256)
    x = torch.randn(8, 64)
    info = export_model(model, x, root / "tt", task="classification", formats=("torchscript",))
    payload = {"inputs": np.random.default_rng(0).normal(size=(rows, 64)).round(5).tolist()}
    return info.path, payload


def export_tabular(root: Path, rows: int) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"x{i}": rng.normal(size=2000) for i in range(5)})
    df["color"] = rng.choice(["red", "green", "blue"], size=2000)
    pipe = Pipeline([OneHot(columns=["color"]), Standardize()]).fit(df)
    X = torch.from_numpy(np.asarray(pipe.transform(df), dtype=np.float32))  # (2000, 8)
    model = tesla.TensorNetwork(input_dim=8, hidden_dim=64, output_dim=3, tt_rank=4)
    info = export_model(model, X[:8], root / "tabular", pipeline=pipe, class_labels=["a", "b", "c"],
                        reference_data=df, formats=("torchscript",))
    return info.path, {"rows": df.iloc[:rows].to_dict("records")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(export_dir: Path, port: int, torch_threads: int | None) -> subprocess.Popen:
    code = (f"from tesla_lab.serve import serve; serve({str(export_dir)!r}, port={port}, log_level='warning', "
            f"torch_threads={torch_threads})")
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with code {proc.returncode}") from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not answer /health within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="most requests per model (default 2000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="most seconds per model (default 20)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rows", type=int, default=1, help="rows per request (default 1)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads in the server process (default: torch's own choice)")
    parser.add_argument("--models", nargs="+", default=["tt", "tabular"], choices=["tt", "tabular"])
    args = parser.parse_args()

    threads = args.torch_threads or torch.get_num_threads()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, server torch threads {threads}; "
          f"{args.concurrency} client threads, {args.rows} row(s) per request, "
          f"at most {args.requests} requests or {args.seconds:g} s per model")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            export_dir, payload = (export_tt if name == "tt" else export_tabular)(Path(tmp), args.rows)
            port = free_port()
            proc = start_server(export_dir, port, args.torch_threads)
            url = f"http://127.0.0.1:{port}"
            try:
                load_test(url, payload, requests=20, seconds=5, concurrency=1)  # warm-up: first calls, connections
                result = load_test(url, payload, requests=args.requests, seconds=args.seconds,
                                   concurrency=args.concurrency)
                server = json.loads(urllib.request.urlopen(url + "/metrics", timeout=10).read())["latency_ms"]
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            print(f"{name:8s} {result.summary()}")
            print(f"{'':8s} status counts {result.status_counts}; server-side p50 {server['p50']:.2f} ms, "
                  f"p99 {server['p99']:.2f} ms over {server['n']} requests")


if __name__ == "__main__":
    main()
