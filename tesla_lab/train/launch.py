"""Start a training script (or module) on several processes with torchrun, and report the first failure.

:func:`launch` runs ``python -m torch.distributed.run`` (torchrun) as an argument list (never through a shell)
with one process per device; the script's ``Trainer`` then trains data-parallel (``strategy='auto'`` picks DDP
under torchrun). It waits, returns a :class:`LaunchResult` with the exit code, and when a process failed, the
traceback of the rank that failed FIRST (the others usually fail afterwards with "connection closed by peer").
``tesla train --nproc N`` calls it.

One node: ``launch("train.py", ["--epochs", "5"], nproc=4)`` (a private rendezvous on a free local port).
Several nodes: run the same call on every node with ``nnodes=2`` and ``rdzv_endpoint="node0:29500"`` (the
c10d rendezvous hosted by the node whose address that is); ranks are assigned when the nodes meet.

>>> cmd = torchrun_command("train.py", ["--epochs", "5"], nproc=4, python="python")
>>> " ".join(cmd)
'python -m torch.distributed.run --nnodes 1 --nproc-per-node 4 --standalone --max-restarts 0 train.py --epochs 5'
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tesla_lab.errors import ConfigError, LaunchError

__all__ = ["launch", "torchrun_command", "first_failure", "LaunchResult", "LaunchError", "DIST_TIMEOUT_ENV",
           "dist_timeout_from_env", "lost_peer", "lost_peer_cause"]

logger = logging.getLogger(__name__)

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_RANK_PREFIX = re.compile(r"^(\[rank(\d+)\]:\s?)+")
# errors a rank raises BECAUSE another one died first: they are reported only when nothing else failed
_SECONDARY = re.compile(
    r"connection (reset|closed) by peer|connectFullMesh|broken pipe|NCCL communicator was aborted|"
    r"DistNetworkError|DistBackendError|SignalException|Socket Timeout|timed out|watchdog", re.IGNORECASE)


DIST_TIMEOUT_ENV = "TESLA_DIST_TIMEOUT"  # seconds a collective waits for a lost peer (launch(dist_timeout=...))


def dist_timeout_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """The collective timeout (seconds) :func:`launch` passed to its processes in ``TESLA_DIST_TIMEOUT``, or None
    (torch's default, 30 minutes) when it is not set.

    >>> dist_timeout_from_env({"TESLA_DIST_TIMEOUT": "20"}), dist_timeout_from_env({})
    (20.0, None)
    >>> dist_timeout_from_env({"TESLA_DIST_TIMEOUT": "soon"})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: TESLA_DIST_TIMEOUT must be a positive number of seconds; got 'soon'
    """
    text = (os.environ if environ is None else environ).get(DIST_TIMEOUT_ENV)
    if text is None or text == "":
        return None
    return _check_timeout(text, DIST_TIMEOUT_ENV)


def lost_peer(exc: BaseException) -> bool:
    """True when ``exc`` is what a process of a torchrun job raises because ANOTHER process (or its node) went
    away: a torch.distributed error, a closed or reset connection, a collective that timed out.

    >>> lost_peer(RuntimeError("[pair.cc:534] Connection closed by peer [127.0.0.1]:3311")), lost_peer(KeyError("w"))
    (True, False)
    """
    try:
        import torch.distributed as dist

        if isinstance(exc, (dist.DistBackendError, dist.DistNetworkError)):
            return True
    except (ImportError, AttributeError):  # pragma: no cover - torch without distributed
        pass
    return isinstance(exc, (RuntimeError, OSError)) and bool(_SECONDARY.search(str(exc)))


def lost_peer_cause(exc: BaseException, run_id: str | None = None,
                    environ: Mapping[str, str] | None = None) -> str | None:
    """The sentence a failed run of a multi-process job keeps when ``exc`` came from a lost peer (see
    :func:`lost_peer`), else None (also in a single process, where such errors have other causes).

    >>> lost_peer_cause(RuntimeError("Connection closed by peer"), "ab12", environ={"WORLD_SIZE": "2"})[:60]
    'training lost a peer process (a node died, its network faile'
    >>> lost_peer_cause(RuntimeError("Connection closed by peer"), environ={}) is None
    True
    """
    env = os.environ if environ is None else environ
    if not env.get("WORLD_SIZE", "1").isdigit() or int(env.get("WORLD_SIZE", "1")) < 2 or not lost_peer(exc):
        return None
    resume = f"`tesla train --resume {run_id}`" if run_id else "`tesla train --resume RUN_ID`"
    return (f"training lost a peer process (a node died, its network failed, or a collective timed out): "
            f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}. The run is marked failed and its last "
            f"checkpoint is intact: continue it with {resume}")


def _check_timeout(value: object, name: str) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = float("nan")
    if isinstance(value, bool) or not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds; got {value!r}")
    return seconds


@dataclass
class LaunchResult:
    """What :func:`launch` reports.

    Attributes:
        returncode: torchrun's exit code (0: every process succeeded).
        command: the argument list that was run.
        failed_rank: rank of the first process that failed (the global rank when its traceback shows it, else
            its local rank on this node), or ``None``.
        error: that process's traceback (its last lines), or a sentence saying why none is known.
        log_dir: per-rank ``stdout.log``/``stderr.log`` of a failed run (removed after a successful one).

    >>> r = LaunchResult(0, ["python"]); r.ok, bool(r)
    (True, True)
    """

    returncode: int
    command: list[str] = field(default_factory=list)
    failed_rank: int | None = None
    error: str | None = None
    log_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __bool__(self) -> bool:
        return self.ok


def _check_nproc(nproc: int | str) -> str:
    if isinstance(nproc, str) and nproc in ("auto", "gpu", "cpu"):
        return nproc
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ConfigError(f"nproc must be an integer >= 1 (processes per node) or 'auto'/'gpu'/'cpu'; got {nproc!r}")
    return str(nproc)


def _check_nnodes(nnodes: int | str) -> tuple[str, int]:
    """torchrun's --nnodes value and the largest node count it allows."""
    if isinstance(nnodes, str) and re.fullmatch(r"\d+:\d+", nnodes):
        low, high = (int(v) for v in nnodes.split(":"))
        if 1 <= low <= high:
            return nnodes, high
    elif not isinstance(nnodes, bool) and isinstance(nnodes, int) and nnodes >= 1:
        return str(nnodes), nnodes
    raise ConfigError(f"nnodes must be an integer >= 1 or an elastic range 'MIN:MAX' like '1:4'; got {nnodes!r}")


def _check_endpoint(endpoint: str) -> str:
    host, sep, port = str(endpoint).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"rdzv_endpoint must be 'HOST:PORT' of the node hosting the rendezvous (e.g. '10.0.0.1:29500'); got "
            f"{endpoint!r}"
        )
    return str(endpoint)


def _is_module(target: str, module: bool | None) -> bool:
    if module is not None:
        return bool(module)
    return not target.endswith(".py") and not Path(target).exists() and bool(_MODULE.match(target))


def torchrun_command(
    target: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    nproc: int | str = 2,
    nnodes: int | str = 1,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = "tesla",
    node_rank: int | None = None,
    join_timeout: float | None = None,
    module: bool | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    max_restarts: int = 0,
    python: str | None = None,
) -> list[str]:
    """The torchrun argument list :func:`launch` runs (see there for the arguments).

    ``target`` is a script path, or a module name run like ``python -m`` (``module=None`` guesses: a dotted
    name that is not an existing file is a module). With a c10d rendezvous, ``node_rank=0`` makes this node host
    the rendezvous store (``is_host=1``) and any other rank connect to it; the ranks of the processes are assigned
    when the nodes meet.

    >>> torchrun_command("tesla_lab.cli", ["train", "cfg.yaml"], nproc=2, nnodes=2, rdzv_endpoint="10.0.0.1:29500",
    ...                  node_rank=1, python="python")  # doctest: +NORMALIZE_WHITESPACE
    ['python', '-m', 'torch.distributed.run', '--nnodes', '2', '--nproc-per-node', '2', '--rdzv-backend', 'c10d',
     '--rdzv-endpoint', '10.0.0.1:29500', '--rdzv-id', 'tesla', '--rdzv-conf', 'is_host=0', '--max-restarts', '0',
     '-m', 'tesla_lab.cli', 'train', 'cfg.yaml']
    >>> torchrun_command("train.py", nnodes=2)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: nnodes=2 needs rdzv_endpoint='HOST:PORT' of the node hosting the rendezvous (the \
same on every node), e.g. rdzv_endpoint='10.0.0.1:29500'
    """
    target = os.fspath(target)
    if not target:
        raise ConfigError("launch needs a script path or a module name to run; got an empty string")
    if isinstance(args, (str, bytes)):
        raise ConfigError(f"args must be a list of strings (one per argument), not one string; got {args!r}")
    nproc_s = _check_nproc(nproc)
    nnodes_s, max_nodes = _check_nnodes(nnodes)
    if max_nodes > 1 and rdzv_endpoint is None:
        raise ConfigError(
            f"nnodes={nnodes} needs rdzv_endpoint='HOST:PORT' of the node hosting the rendezvous (the same on every "
            "node), e.g. rdzv_endpoint='10.0.0.1:29500'"
        )
    if node_rank is not None and (isinstance(node_rank, bool) or not isinstance(node_rank, int)
                                  or not 0 <= node_rank < max_nodes):
        raise ConfigError(f"node_rank must be an integer in 0..{max_nodes - 1} (nnodes={nnodes}); got {node_rank!r}")
    if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
        raise ConfigError(f"max_restarts must be an integer >= 0; got {max_restarts!r}")
    cmd = [python or sys.executable, "-m", "torch.distributed.run", "--nnodes", nnodes_s, "--nproc-per-node", nproc_s]
    if rdzv_endpoint is not None:
        cmd += ["--rdzv-backend", "c10d", "--rdzv-endpoint", _check_endpoint(rdzv_endpoint), "--rdzv-id",
                str(rdzv_id)]
    else:
        cmd += ["--standalone"]  # a private rendezvous on a free local port
    conf = []
    if node_rank is not None and rdzv_endpoint is not None:
        # c10d assigns ranks when the nodes meet (torchrun ignores --node-rank for it); node 0 is the one whose
        # address the endpoint names: it hosts the rendezvous store, the others connect to it
        conf.append(f"is_host={1 if node_rank == 0 else 0}")
    elif node_rank is not None:
        cmd += ["--node-rank", str(node_rank)]
    if join_timeout is not None and rdzv_endpoint is not None:
        conf.append(f"join_timeout={int(math.ceil(_check_timeout(join_timeout, 'join_timeout')))}")
    if conf:
        cmd += ["--rdzv-conf", ",".join(conf)]
    cmd += ["--max-restarts", str(max_restarts)]
    if log_dir is not None:
        cmd += ["--log-dir", os.fspath(log_dir), "--tee", "3"]  # per-rank log files, still shown on the console
    if _is_module(target, module):
        cmd += ["-m"]
    return [*cmd, target, *(str(a) for a in args)]


# ----------------------------------------------------------------------------------------------- first failure
@dataclass
class _Failure:
    rank: int
    traceback: str
    when: float
    secondary: bool


def _read_failure(rank_dir: Path) -> _Failure | None:
    """The last Python traceback a rank wrote to its stderr.log, if any."""
    stderr = rank_dir / "stderr.log"
    if not stderr.is_file():
        return None
    lines = stderr.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line]
    if not starts:
        return None
    block = lines[starts[-1]:]
    rank = int(rank_dir.name) if rank_dir.name.isdigit() else -1
    found = _RANK_PREFIX.match(block[0])
    if found:  # torch.distributed prefixes uncaught errors with the GLOBAL rank
        rank = int(found.group(2))
    block = [_RANK_PREFIX.sub("", line) for line in block]
    last = next((line for line in reversed(block) if line.strip()), "")
    text = "\n".join(block[-40:])
    return _Failure(rank, text, stderr.stat().st_mtime, bool(_SECONDARY.search(last)))


def first_failure(log_dir: str | os.PathLike[str]) -> tuple[int | None, str | None]:
    """``(rank, traceback)`` of the process that failed first in a torchrun ``--log-dir`` tree: the earliest
    traceback, preferring a real error over the "connection closed by peer" errors it caused on the other ranks.

    >>> first_failure("/nonexistent")
    (None, None)
    """
    found = [f for d in sorted(Path(log_dir).glob("**/attempt_*/*")) if d.is_dir() and (f := _read_failure(d))]
    if not found:
        return None, None
    first = min(found, key=lambda f: (f.secondary, f.when))
    return first.rank, first.traceback


def _stop(proc: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """SIGTERM torchrun's process group (torchrun stops its workers), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, sig)  # the group we started (start_new_session): torchrun and its workers
            else:  # Windows: no process groups; torchrun forwards the signal to its workers
                proc.send_signal(sig)
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def launch(
    target: str | os.PathLike[str],
    args: Sequence[str] = (),
    *,
    nproc: int | str = 2,
    nnodes: int | str = 1,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = "tesla",
    node_rank: int | None = None,
    join_timeout: float | None = None,
    module: bool | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    dist_timeout: float | None = None,
    capture_errors: bool = True,
    check: bool = False,
) -> LaunchResult:
    """Run ``target`` (a script, or a module with ``python -m``) on ``nproc`` processes per node with torchrun,
    wait for it, and return a :class:`LaunchResult`.

    Args:
        target, args: what each process runs, and its command-line arguments (a list: no shell is involved).
        nproc: processes per node, usually the GPUs per node (``'gpu'``: as many as visible; CPU: any number).
        nnodes: number of nodes (or an elastic range ``'MIN:MAX'``); more than one needs ``rdzv_endpoint``.
        rdzv_endpoint: ``'HOST:PORT'`` of the c10d rendezvous, the same on every node; ``None`` on one node
            starts a private one on a free local port.
        rdzv_id: job id, the same on every node (several jobs may share one endpoint with different ids).
        node_rank: this node's rank: with ``rdzv_endpoint``, 0 hosts the c10d rendezvous and the others connect to
            it (the processes' ranks are assigned when the nodes meet); else passed as ``--node-rank``.
        join_timeout: seconds the c10d rendezvous waits for every node to join (torchrun's default: 600).
        module: run ``target`` as a module (``python -m``); ``None`` guesses from its form.
        env: extra environment variables for the processes (e.g. ``{"OMP_NUM_THREADS": "4"}``). ``PYTHONPATH``
            gets the directory holding this ``tesla_lab``, so the processes import the same one.
        cwd: working directory of the processes.
        timeout: seconds before the whole job is stopped (SIGTERM, then SIGKILL); the result then has
            returncode 124.
        dist_timeout: seconds a collective (all-reduce, barrier) waits for a peer before it fails, passed to the
            processes as ``TESLA_DIST_TIMEOUT`` (the Trainer's ``init_process_group(timeout=...)``); a node lost
            mid-run then ends the job with an error after at most this long. ``None``: torch's 30 minutes.
        capture_errors: keep per-rank logs (``--log-dir``/``--tee``) to report the first failing rank's traceback.
        check: raise :class:`LaunchError` (with that traceback) instead of returning a failed result.

    Ctrl-C stops every process and re-raises ``KeyboardInterrupt``.

    >>> launch("train.py", nproc=0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: nproc must be an integer >= 1 (processes per node) or 'auto'/'gpu'/'cpu'; got 0
    """
    timeout_env = {} if dist_timeout is None else {DIST_TIMEOUT_ENV: str(_check_timeout(dist_timeout, "dist_timeout"))}
    log_dir = Path(tempfile.mkdtemp(prefix="tesla-launch-")) if capture_errors else None
    try:
        cmd = torchrun_command(target, args, nproc=nproc, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint, rdzv_id=rdzv_id,
                               node_rank=node_rank, join_timeout=join_timeout, module=module, log_dir=log_dir)
    except ConfigError:
        if log_dir is not None:
            shutil.rmtree(log_dir, ignore_errors=True)
        raise
    full_env = {**os.environ, **(dict(env) if env else {}), **timeout_env}
    # the workers import the same tesla_lab as this process, also from a source checkout that is not installed
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in full_env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in paths:
        full_env["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
    logger.info("launching: %s", " ".join(cmd))
    t0 = time.monotonic()
    # a new session, so a timeout or Ctrl-C can stop torchrun AND its workers as one process group
    proc = subprocess.Popen(cmd, env=full_env, cwd=cwd, start_new_session=True)
    timed_out = False
    try:
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(proc)
        returncode = 124
    except BaseException:  # KeyboardInterrupt: take the workers down with us
        _stop(proc)
        if log_dir is not None:
            shutil.rmtree(log_dir, ignore_errors=True)
        raise
    result = LaunchResult(returncode, cmd)
    if returncode != 0:
        rank, text = first_failure(log_dir) if log_dir is not None else (None, None)
        if timed_out:
            text = f"the job did not finish within timeout={timeout} s and was stopped" + (
                f"; rank {rank} had failed with:\n{text}" if text else "")
        elif text is None:
            text = (f"torchrun exited with code {returncode} and no process wrote a Python traceback (killed by a "
                    "signal, e.g. out of memory?)" + ("" if log_dir else "; run with capture_errors=True to keep "
                                                      "per-rank logs"))
        result.failed_rank, result.error, result.log_dir = rank, text, log_dir
        # the traceback itself is in result.error (the CLI prints it), not repeated in the log
        logger.warning("distributed job failed (exit code %d after %.0f s)%s; per-rank logs in %s", returncode,
                       time.monotonic() - t0, f"; rank {rank} failed first" if rank is not None else "", log_dir)
        if check:
            error = LaunchError(f"the distributed job failed with exit code {returncode}"
                                + (f"; rank {rank} failed first" if rank is not None else "") + f":\n{text}")
            error.result = result
            raise error
    elif log_dir is not None:
        shutil.rmtree(log_dir, ignore_errors=True)
    return result
