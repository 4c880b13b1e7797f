"""The cases of the fault and bad-input suite (``bench/fault_suite.py`` runs them many times and prints the table;
``tests/bench/test_fault_cases.py`` runs each once). Each case returns an :class:`Outcome`: how many faults it tried,
how many were answered with a clear message (a TESLA error naming the file or the problem and the fix; for the REST
server a 4xx with a JSON error), and how many completed writes were lost.

* ``kill``: a process training small models into a project (runs, per-epoch metrics, checkpoints, the model,
  dataset snapshots) is killed with SIGKILL at a random moment; then the project must open, pass
  ``PRAGMA integrity_check``, hold every run and snapshot the process reported as done, and show the killed run
  ``crashed`` (never ``running`` forever).
* ``disk``: a full disk while storing a snapshot, metrics, an artifact and a checkpoint, in a process whose
  file-size limit (RLIMIT_FSIZE) makes every write past it fail, and, where a tmpfs can be mounted (root), on a
  really full 2 MB file system.
* ``corrupt``: data files of every format (plain and .gz) truncated or with random bytes, read by the dashboard's
  worker; a store whose last page holds random bytes (``tesla doctor``); a damaged artifact and checkpoint.
* ``predict``: fuzzed ``POST /predict`` bodies (wrong types, shapes, names, encodings, sizes) to the REST app.
* ``upload``: crafted uploads to the dashboard's Data view (bombs, over-wide rows, binary, deep JSON, traversal
  names, archives of two files, ...).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# what an unclear answer looks like: an unexpected exception or a traceback; on a full disk, also recovery advice that
# would throw the store away or blame the data
CLEAR_PATTERN = re.compile(r"unexpected [A-Z]\w+(Error|Exception)|Traceback")
WRONG_FOR_DISK = re.compile(r"move it aside|give each column one type|not a readable TESLA store")


@dataclass
class Outcome:
    """What one case found."""

    case: str
    tried: int = 0
    answered: int = 0  # with a clear message (or, for a harmless input, a correct result)
    lost: int = 0  # completed writes missing afterwards
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # what was checked, e.g. runs kept across the kills

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def add(self, ok: bool, problem: str = "") -> None:
        self.tried += 1
        self.answered += bool(ok)
        if not ok:
            self.problems.append(problem[:300])


def _is_clear(exc: BaseException, *, names: str | None = None) -> bool:
    from tesla_lab.errors import TeslaError

    text = str(exc)
    return isinstance(exc, TeslaError) and not CLEAR_PATTERN.search(text) and (names is None or names in text)


# ------------------------------------------------------------------------------------------------ kill -9
def _writer(root: str, seed: int, conn: Any) -> None:
    """Train tiny models into the project at ``root`` for ever, telling ``conn`` what is done."""
    import numpy as np
    import pandas as pd
    import torch

    from tesla_lab.store import Project, StoreCallback
    from tesla_lab.train import Trainer

    torch.set_num_threads(1)
    project = Project(root)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(256, 16, generator=g)
    y = (X[:, 0] > 0).long()
    rng = np.random.default_rng(seed)
    warm = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    Trainer(device="cpu", seed=0).fit(warm, X, y, loss_fn="cross_entropy", epochs=1, batch_size=64)  # lazy imports
    conn.send(("ready", None))
    for i in range(10_000):
        run = project.start_run(name=f"kill-{seed}-{i}")
        conn.send(("started", run.id))
        net = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
        Trainer(device="cpu", seed=i, callbacks=[StoreCallback(run, checkpoint_every=1)]).fit(
            net, X, y, loss_fn="cross_entropy", epochs=3, batch_size=64)
        conn.send(("finished", run.id))
        version = project.datasets.snapshot(f"kill-{seed}", pd.DataFrame(rng.random((300, 6))), message=str(i))
        conn.send(("dataset", version.version))


def kill_during_training(workdir: Path, rng: random.Random, trials: int = 6, *,
                         start_method: str = "forkserver") -> Outcome:
    """SIGKILL a training process ``trials`` times at random moments; check the project after each."""
    from tesla_lab.store import Project

    out = Outcome("kill -9 during training and store writes")
    root = workdir / "kill"
    Project.init(root).close()
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":  # the writers start in milliseconds, with torch and the store imported
        context.set_forkserver_preload(["torch", "tesla_lab.store", "tesla_lab.train"])
    for trial in range(trials):
        receive, send = context.Pipe(duplex=False)
        seed = rng.randrange(10**6)
        child = context.Process(target=_writer, args=(str(root), seed, send), daemon=True)
        child.start()
        send.close()
        events: list[tuple[str, Any]] = []
        if not receive.poll(180) or receive.recv()[0] != "ready":
            child.kill()
            out.add(False, f"trial {trial}: the writer did not start")
            continue
        deadline = time.monotonic() + rng.uniform(0.1, 3.0)
        while (left := deadline - time.monotonic()) > 0:
            if receive.poll(left):
                with contextlib.suppress(EOFError):
                    events.append(receive.recv())
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(30)
        with contextlib.suppress(EOFError, OSError):
            while receive.poll(0.1):
                events.append(receive.recv())
        receive.close()
        out_problem = _check_after_kill(root, seed, events, out)
        out.add(out_problem == "", f"trial {trial} (seed {seed}): {out_problem}")
    return out


def _check_after_kill(root: Path, seed: int, events: list[tuple[str, Any]], out: Outcome) -> str:
    from tesla_lab.store import Project

    try:
        project = Project(root)
    except Exception as exc:  # noqa: BLE001 - reported
        return f"the project does not open after the kill: {type(exc).__name__}: {exc}"
    try:
        if project.db.integrity_check() != "ok":
            return "integrity_check fails after the kill"
        finished = {run_id for kind, run_id in events if kind == "finished"}
        started = {run_id for kind, run_id in events if kind == "started"}
        out.count("finished runs kept", len(finished))
        out.count("killed runs marked crashed", len(started - finished))
        out.count("snapshots kept", sum(kind == "dataset" for kind, _ in events))
        for run_id in started:
            try:
                status = project.get_run(run_id).info()["status"]
            except Exception:  # noqa: BLE001 - a run reported started but missing
                out.lost += run_id in finished
                return f"run {run_id} is missing after the kill"
            if run_id in finished and status != "finished":
                out.lost += 1
                return f"finished run {run_id} is {status} after the kill"
            if run_id not in finished and status not in ("crashed", "finished"):
                return f"the killed run {run_id} is {status!r} after opening the project (stuck)"
        for kind, version in events:
            if kind == "dataset":
                try:
                    project.datasets.load_version(f"kill-{seed}", version)
                except Exception as exc:  # noqa: BLE001 - a lost snapshot
                    out.lost += 1
                    return f"snapshot v{version} is lost: {exc}"
        return ""
    finally:
        project.close()


# ------------------------------------------------------------------------------------------------ full disk
def _fill_operations(root: str, conn: Any, fsize: int | None) -> None:
    """In a child: the four writes that meet a full disk; send (operation, error type, message or '')."""
    import numpy as np
    import pandas as pd
    import torch

    from tesla_lab.store import Project
    from tesla_lab.train import save_checkpoint

    project = Project(root)
    run = project.start_run(name="before")
    run.log_metrics({"loss": 1.0}, step=0)
    if fsize is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    rng = np.random.default_rng(0)
    big = pd.DataFrame(rng.random((60_000, 8)))

    def attempt(name: str, fn: Any) -> None:
        try:
            fn()
            conn.send((name, "", ""))
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            from tesla_lab.errors import TeslaError

            conn.send((name, type(exc).__name__ if not isinstance(exc, TeslaError) else "TeslaError", str(exc)))

    def metrics() -> None:
        for step in range(1, 200_000):
            run.log_metrics({f"metric_{k}": step + k / 7 for k in range(20)}, step=step)

    attempt("dataset snapshot", lambda: project.datasets.snapshot("big", big))
    attempt("metrics", metrics)
    attempt("artifact", lambda: project.artifacts.put_bytes(rng.bytes(4 * 2**20)))
    attempt("checkpoint", lambda: save_checkpoint(Path(root) / "ckpt" / "checkpoint-epoch0001.pt",
                                                  model=torch.nn.Linear(1000, 1000), epoch=1))
    run.finish()
    conn.send(("done", "", ""))


def _tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True,
                          check=False)
    return done.returncode == 0


def disk_full(workdir: Path, rng: random.Random, *, start_method: str = "spawn", tmpfs: bool = True) -> Outcome:
    """Store a snapshot, metrics, an artifact and a checkpoint on a full disk (a file-size limit, and a 2 MB
    tmpfs where one can be mounted); every failure must say so clearly and the store stay intact."""
    from tesla_lab.store import Project

    out = Outcome("full disk (file-size limit; 2 MB tmpfs as root)")
    setups: list[tuple[Path, int | None]] = [(workdir / "fsize", None)]
    mount = workdir / "tmpfs"
    mounted = tmpfs and _tmpfs(mount, "2m")
    if mounted:
        setups.append((mount, None))
    try:
        for where, _ in setups:
            root = where / "project"
            Project.init(root).close()
            limit = None if where == mount else max(f.stat().st_size for f in root.rglob("*") if f.is_file()) + 65536
            context = multiprocessing.get_context(start_method)
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_fill_operations, args=(str(root), send, limit), daemon=True)
            child.start()
            send.close()
            results = []
            with contextlib.suppress(EOFError):
                while receive.poll(300):
                    item = receive.recv()
                    if item[0] == "done":
                        break
                    results.append(item)
            child.join(30)
            label = "tmpfs" if where == mount else "RLIMIT_FSIZE"
            if not results:
                out.add(False, f"{label}: the child ended with {child.exitcode} before reporting")
            for name, kind, message in results:
                clear = kind in ("", "TeslaError") and not (CLEAR_PATTERN.search(message)
                                                            or WRONG_FOR_DISK.search(message)) and (
                    kind == "" or any(w in message.lower() for w in ("disk", "space", "write", "i/o", "file too")))
                out.add(clear, f"{label} {name}: {kind}: {message}")
            project = Project(root)
            try:
                if project.db.integrity_check() != "ok" or len(project.runs()) < 1:
                    out.lost += 1
                    out.problems.append(f"{label}: the store lost data after the full disk")
            finally:
                project.close()
    finally:
        if mounted:
            subprocess.run(["umount", str(mount)], check=False, capture_output=True)
    return out


# ------------------------------------------------------------------------------------------------ corrupt files
def _damage(raw: bytes, rng: random.Random, how: str) -> bytes:
    if how == "truncate":
        return raw[: rng.randrange(1, max(len(raw) - 1, 2))]
    if how == "flip":
        data = bytearray(raw)
        for _ in range(rng.randrange(1, 16)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if how == "zero-tail":
        cut = rng.randrange(len(raw) // 2, len(raw))
        return raw[:cut] + b"\x00" * (len(raw) - cut)
    return os.urandom(rng.randrange(16, 4096)) + raw  # garbage in front


def corrupt_files(workdir: Path, rng: random.Random, rounds: int = 2) -> Outcome:
    """Damaged data files of every format through the dashboard's worker; a damaged store, artifact, checkpoint."""
    import pandas as pd
    import torch

    from tesla_lab.data.isolated import load_isolated
    from tesla_lab.store import Project
    from tesla_lab.store.doctor import diagnose
    from tesla_lab.train import load_checkpoint, save_checkpoint

    out = Outcome("corrupt files (data, store, artifact, checkpoint)")
    folder = workdir / "corrupt"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"a": range(3000), "b": [i * 0.5 for i in range(3000)], "target": [i % 3 for i in
                                                                                               range(3000)]})
    writers = {
        "csv": lambda: frame.to_csv(index=False).encode(),
        "json": lambda: frame.to_json(orient="records").encode(),
        "jsonl": lambda: frame.to_json(orient="records", lines=True).encode(),
        "parquet": lambda: (lambda b: (frame.to_parquet(b), b.getvalue())[1])(io.BytesIO()),
    }
    for _ in range(rounds):
        for fmt, write in writers.items():
            for gz in (False, True):
                for how in ("truncate", "flip", "zero-tail", "garbage"):
                    raw = write()
                    raw = gzip.compress(raw) if gz else raw
                    path = folder / f"{fmt}-{how}-{rng.randrange(10**6)}.{fmt}{'.gz' if gz else ''}"
                    path.write_bytes(_damage(raw, rng, how))
                    try:
                        load_isolated(path, timeout=60)
                        out.add(True)  # the damage was harmless to the table (e.g. a digit changed)
                    except Exception as exc:  # noqa: BLE001 - judged below
                        generic = re.search(r"cannot read '.*': [A-Z]\w+: |worker process", str(exc))
                        out.add(_is_clear(exc, names=path.name) and not generic,
                                f"{path.name}: {type(exc).__name__}: {exc}")
    # the store's last page, an artifact, a checkpoint
    project = Project.init(folder / "project")
    project.datasets.snapshot("d", frame)
    sha = project.artifacts.put_bytes(os.urandom(50_000))
    project.close()
    db = folder / "project" / ".tesla" / "store.db"
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [row[0] for row in conn.execute("SELECT rootpage FROM sqlite_master WHERE rootpage > 1")]
    page = rng.choice(pages)  # a page in use (free pages can hold anything)
    data = bytearray(db.read_bytes())
    for i in range((page - 1) * size, page * size):
        data[i] = rng.randrange(256)
    db.write_bytes(bytes(data))
    try:
        findings = diagnose(folder / "project", full=True)
        out.add(any(not f.ok for f in findings), f"tesla doctor did not notice random bytes in page {page} of the "
                "store: " + "; ".join(f"{f.check}: {f.ok}" for f in findings))
    except Exception as exc:  # noqa: BLE001 - a verified corruption may be raised, with its recovery advice
        out.add(_is_clear(exc) and "quick_check" in str(exc), f"tesla doctor on a damaged store: {exc}")
    artifact = next((folder / "project" / ".tesla" / "artifacts").rglob(sha))
    os.chmod(artifact, 0o644)
    artifact.write_bytes(artifact.read_bytes()[:-10] + b"0123456789")
    try:
        from tesla_lab.store import ArtifactStore

        ArtifactStore(artifact.parent.parent).get_bytes(sha)
        out.add(False, "a damaged artifact was read without an error")
    except Exception as exc:  # noqa: BLE001 - judged
        out.add(_is_clear(exc), f"artifact: {type(exc).__name__}: {exc}")
    ckpt = save_checkpoint(folder / "ckpt" / "checkpoint-epoch0001.pt", model=torch.nn.Linear(20, 20), epoch=1)
    ckpt.write_bytes(_damage(ckpt.read_bytes(), rng, "truncate"))
    try:
        load_checkpoint(ckpt, model=torch.nn.Linear(20, 20))
        out.add(False, "a truncated checkpoint was loaded")
    except Exception as exc:  # noqa: BLE001 - judged
        out.add(_is_clear(exc, names=ckpt.name), f"checkpoint: {type(exc).__name__}: {exc}")
    return out


# ------------------------------------------------------------------------------------------------ /predict
def _bodies(rng: random.Random, n: int) -> list[tuple[str, bytes, str]]:
    """(what, body, content type) of malformed requests."""
    fixed: list[tuple[str, Any]] = [
        ("empty object", {}), ("inputs null", {"inputs": None}), ("inputs string", {"inputs": "1,2,3,4"}),
        ("ragged", {"inputs": [[1, 2, 3, 4], [1, 2]]}), ("too wide", {"inputs": [[1.0] * 5]}),
        ("too narrow", {"inputs": [[1.0] * 3]}), ("3-d", {"inputs": [[[1.0] * 4]]}),
        ("text cells", {"inputs": [["a", "b", "c", "d"]]}), ("nan text", {"inputs": [["NaN", 1, 2, 3]]}),
        ("huge number", {"inputs": [[1e308 * 10, 1, 2, 3]]}), ("bool cells", {"inputs": [[True, False, True, 1]]}),
        ("rows unknown names", {"rows": [{"zz": 1}]}), ("rows not a list", {"rows": {"a": 1}}),
        ("rows of lists", {"rows": [[1, 2, 3, 4]]}), ("2000 rows", {"inputs": [[0.0] * 4] * 2000}),
        ("nested deep", {"inputs": json.loads("[" * 200 + "]" * 200)}), ("array top", [[1, 2, 3, 4]]),
        ("number top", 5), ("both keys", {"inputs": [[1.0] * 4], "rows": [{"a": 1}]}),
    ]
    bodies = [(what, json.dumps(body).encode(), "application/json") for what, body in fixed]
    bodies += [("not json", b"{inputs: [1, 2", "application/json"), ("binary", os.urandom(300), "application/json"),
               ("form", b"inputs=1&inputs=2", "application/x-www-form-urlencoded"),
               ("utf-16", json.dumps({"inputs": [[1, 2, 3, 4]]}).encode("utf-16"), "application/json"),
               ("deep 100k", b"[" * 100_000 + b"]" * 100_000, "application/json")]
    while len(bodies) < n:  # random mutations of a valid body
        raw = bytearray(json.dumps({"inputs": [[rng.uniform(-9, 9) for _ in range(4)] for _ in range(3)]}).encode())
        for _ in range(rng.randrange(1, 6)):
            raw[rng.randrange(len(raw))] = rng.choice(b'{}[],:"0123456789-eE.nNaItrufl \x00\xff')
        bodies.append(("mutated", bytes(raw), "application/json"))
    return bodies


def fuzz_predict(workdir: Path, rng: random.Random, n: int = 70) -> Outcome:
    """Malformed ``POST /predict`` bodies: each must get a 4xx with a JSON error (or a 200 when it is valid)."""
    import torch
    from fastapi.testclient import TestClient

    from tesla_lab.serve import export_model
    from tesla_lab.serve.server import create_app

    out = Outcome("fuzzed POST /predict requests")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    export = workdir / "export"
    export_model(model, torch.randn(4, 4), export, formats=("torchscript",), class_labels=["a", "b", "c"])
    with TestClient(create_app(export)) as client:
        for what, body, kind in _bodies(rng, n):
            response = client.post("/predict", content=body, headers={"content-type": kind})
            ok = response.status_code == 200 or (400 <= response.status_code < 500 and _json_error(response))
            out.add(ok, f"{what}: HTTP {response.status_code} {response.text[:200]}")
    return out


def _json_error(response: Any) -> bool:
    try:
        payload = response.json()
    except ValueError:
        return False
    return isinstance(payload, dict) and bool(payload.get("detail") or payload.get("error"))


# ------------------------------------------------------------------------------------------------ uploads
def _zip_of_two() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", "a,b\n1,2\n")
        archive.writestr("b.csv", "a,b\n3,4\n")
    return buffer.getvalue()


def crafted_uploads(workdir: Path, rng: random.Random) -> Outcome:
    """Crafted uploads to the Data view: each is refused with a clear message and nothing escapes the project."""
    from tesla_lab.data.limits import ReadLimits
    from tesla_lab.store import Project
    from tesla_lab.ui.state.data import DataState

    out = Outcome("crafted dashboard uploads")
    bomb = ReadLimits().max_expanded_bytes + 8 * 2**20  # expands past the cap ($TESLA_MAX_EXPANDED_MB, 200 MB)
    project = Project.init(workdir / "uploads" / "project")
    state = DataState(project)
    uploads = [
        ("wide.csv", ("a,b,target\n" + ",".join("1" for _ in range(100_000)) + "\n").encode()),
        ("bomb.csv.gz", gzip.compress(b"a,b\n" + b"1,2\n" * (bomb // 4), compresslevel=1)),
        ("bomb.json.gz", gzip.compress(b"[" + b" " * bomb + b"]", compresslevel=1)),
        ("binary.csv", os.urandom(5000)), ("nul.csv", b"a,b\n1,\x002\n"), ("empty.csv", b""),
        ("header-only.csv", b"a,b,target\n"), ("shift.csv", b"a,b,target\n9,1,2,0\n3,4,5\n"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000), ("two.zip", _zip_of_two()),
        ("../../escape.csv", b"a,b\n1,2\n"),
        ("corrupt.csv.gz", gzip.compress(b"a,b\n" + os.urandom(9000).hex().encode())[:4000]),
        ("notparquet.parquet", b"PAR1" + os.urandom(200)), ("latin.csv", "a,b\né,ü\n".encode("latin-1")),
        ("nan.json", b'[{"a": NaN}]'), ("scalar.json", b"5"), ("table.db", b"SQLite format 3\x00" + os.urandom(500)),
        ("noext", b"a,b\n1,2\n"), ("lines.jsonl", b'{"a": 1}\n{"a": \n'),
    ]
    before = set((workdir / "uploads").rglob("*"))
    for name, content in uploads:
        frame = state.load_upload(name, content)
        if frame is not None:  # loaded: only fine for a harmless input
            harmless = ("../../escape.csv", "noext", "nan.json")  # a table, under its base name; NaN is a value
            out.add(name in harmless, f"{name} was loaded: {frame.shape}")
            continue
        shown = os.path.basename(name) or name
        out.add(bool(state.error) and not CLEAR_PATTERN.search(state.error)
                and not re.search(r": [A-Z]\w+(Error|Exception): ", state.error)
                and (shown in state.error or "upload" in state.error), f"{name}: {state.error}")
    escaped = [p for p in set((workdir / "uploads").rglob("*")) - before if "escape" in p.name]
    escaped += list(workdir.parent.glob("escape.csv")) + list(workdir.glob("escape.csv"))
    if escaped:
        out.add(False, f"an upload name escaped the project: {escaped}")
    project.close()
    return out
