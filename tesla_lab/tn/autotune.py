"""Pick how to apply a TT-matrix by measuring: time the candidate plans once, cache the winner on disk.

The cost model (:mod:`tesla_lab.tn.cost`) cannot see how inefficient small GEMMs are on a given machine, so on first
use of a (shapes, ranks, batch bucket, device, dtype, train/inference) combination :func:`choose_plan` times every
candidate plan (dense rebuild always among them, so a TT layer is never slower than rebuilding ``W``), in
interleaved rounds on a random batch, and keeps the fastest: in memory and in ``tt_plans.json`` under
:func:`cache_dir` (``$TESLA_CACHE_DIR``, else ``~/.cache/tesla_lab``), written atomically. A cache file that cannot
be read is ignored (logged) and replaced on the next write.

Timing is off, and the model decides, while ``torch.jit`` traces or scripts, ``torch.compile`` or ONNX export
records, under pytest (unless ``TESLA_AUTOTUNE=1``) and whenever ``TESLA_AUTOTUNE=0``.

>>> import torch
>>> cores = [torch.randn(1, 8, 8, 4), torch.randn(4, 8, 8, 1)]
>>> choose_plan(cores, batch=2, timing=False)
Plan(path='factorized', groups=2)
>>> batch_bucket(1), batch_bucket(32), batch_bucket(33)
(1, 32, 64)
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from tesla_lab._atomic import atomic_path
from tesla_lab.tn.cost import Plan, candidate_plans, model_plan, partition_plans, plan_cost, plan_ranges

__all__ = ["choose_plan", "cache_dir", "cache_file", "timing_allowed", "batch_bucket", "measure", "clear_memory"]

log = logging.getLogger(__name__)

ENV_AUTOTUNE = "TESLA_AUTOTUNE"
ENV_CACHE_DIR = "TESLA_CACHE_DIR"
CACHE_NAME = "tt_plans.json"
VERSION = 1
ROUNDS = 15  # timed rounds per candidate at most (after one warm-up run each)
MARGIN = 1.05  # the model's plan stays unless another one measured more than 5 % faster (noise is not a reason)
BUDGET_S = 1.5  # stop adding rounds once this much was spent (at least 3 rounds)
FLOOR_S = 2e-3  # a fast run is repeated within one timing until the timing lasts about this long

_lock = threading.Lock()
_memory: dict[str, dict[str, Plan]] = {}  # cache file -> key -> plan (what this process knows)


def cache_dir() -> Path:
    """Folder of the plan cache: ``$TESLA_CACHE_DIR`` or ``~/.cache/tesla_lab``.

    >>> import os
    >>> os.environ["TESLA_CACHE_DIR"] = "/tmp/tesla-doc"; str(cache_dir()); del os.environ["TESLA_CACHE_DIR"]
    '/tmp/tesla-doc'
    """
    env = os.environ.get(ENV_CACHE_DIR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tesla_lab"


def cache_file() -> Path:
    """The JSON file holding measured plans (``cache_dir() / 'tt_plans.json'``).

    >>> cache_file().name
    'tt_plans.json'
    """
    return cache_dir() / CACHE_NAME


def clear_memory() -> None:
    """Forget the plans this process has loaded or measured (the file stays); the next lookup reads the file.

    >>> clear_memory()
    """
    with _lock:
        _memory.clear()


def _recording() -> bool:
    """True while a graph is being recorded (trace, script, compile, ONNX export): no timing, no file access."""
    if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
        return True
    onnx_export = getattr(torch.onnx, "is_in_onnx_export", None)
    return bool(onnx_export is not None and onnx_export())


def timing_allowed() -> bool:
    """Whether :func:`choose_plan` may time plans now (see the module docstring).

    >>> import os
    >>> os.environ["TESLA_AUTOTUNE"] = "0"; timing_allowed(); del os.environ["TESLA_AUTOTUNE"]
    False
    """
    env = os.environ.get(ENV_AUTOTUNE, "").strip().lower()
    if env in ("0", "false", "no", "off") or _recording():
        return False
    if env in ("1", "true", "yes", "on"):
        return True
    return "PYTEST_CURRENT_TEST" not in os.environ


def batch_bucket(batch: int) -> int:
    """The power of two >= ``batch`` under which a measured plan is cached (one measurement serves the bucket)."""
    return 1 if batch <= 1 else 1 << math.ceil(math.log2(batch))


def _device_key(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    if device.type == "cpu":
        return f"cpu:{torch.get_num_threads()}t"
    return device.type


def _plan_key(cores: Sequence[torch.Tensor], batch: int, mode: str, path: str) -> str:
    shape = ",".join(["x".join(str(int(v)) for v in c.shape) for c in cores])
    core = cores[0]
    return f"{shape}|b{batch_bucket(batch)}|{_device_key(core.device)}|{str(core.dtype).removeprefix('torch.')}|" \
           f"{mode}|{path}"


def _read(path: Path) -> dict[str, Plan]:
    """Plans stored in ``path``; a missing file is empty, an unreadable or malformed one is ignored with a log."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("plans"), dict):
            raise ValueError(f"not a version-{VERSION} plan cache")
        plans = {}
        for key, entry in data["plans"].items():
            plan = Plan(str(entry["path"]), int(entry["groups"]), tuple(int(c) for c in entry.get("cuts", ())))
            if plan.path not in ("dense", "factorized") or plan.groups < 1 or (
                    plan.cuts and len(plan.cuts) != plan.groups - 1):
                raise ValueError(f"bad plan {entry!r}")
            plans[str(key)] = plan
        return plans
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring the unreadable TT plan cache %s (%s); it is rewritten on the next measurement",
                    path, exc)
        return {}


def _write(path: Path, plans: dict[str, Plan], timings: dict[str, dict[str, float]]) -> None:
    """Merge ``plans`` into the file (re-read first: another process may have added some), atomically."""
    merged = {**_read(path), **plans}
    data = {"version": VERSION, "plans": {
        key: {"path": p.path, "groups": p.groups, **({"cuts": list(p.cuts)} if p.cuts else {}),
              **({"ms": timings[key]} if key in timings else {})}
        for key, p in sorted(merged.items())
    }}
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    except OSError as exc:  # a read-only home folder must not stop training: the plan stays in memory
        log.warning("could not write the TT plan cache %s (%s); set %s to a writable folder", path, exc,
                    ENV_CACHE_DIR)


def measure(runs: dict[Plan, Callable[[], None]], device: torch.device) -> dict[Plan, float]:
    """Seconds per call of each run: one warm-up each, then interleaved rounds (every plan once per round) until
    ``ROUNDS`` rounds or ``BUDGET_S`` seconds (at least 3 rounds); a run faster than ``FLOOR_S`` is repeated within
    one timing. The minimum over rounds is kept: other processes only ever add time. CUDA work is synchronized.

    Replaced in tests by a fake timer (``monkeypatch.setattr(autotune, 'measure', fake)``).

    >>> import torch
    >>> list(measure({Plan("dense", 1): lambda: None}, torch.device("cpu")))
    [Plan(path='dense', groups=1)]
    """

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def timed(run: Callable[[], None], inner: int) -> float:
        sync()
        t0 = time.perf_counter()
        for _ in range(inner):
            run()
        sync()
        return (time.perf_counter() - t0) / inner

    inner = {plan: max(1, min(50, math.ceil(FLOOR_S / max(timed(run, 1), 1e-6)))) for plan, run in runs.items()}
    times: dict[Plan, list[float]] = {plan: [] for plan in runs}
    start = time.perf_counter()
    for rnd in range(ROUNDS):
        for plan, run in runs.items():
            times[plan].append(timed(run, inner[plan]))
        if rnd >= 2 and time.perf_counter() - start > BUDGET_S:
            break
    return {plan: min(ts) for plan, ts in times.items()}


EXTRA_SPLITS = 3  # unbalanced groupings timed besides the balanced ones: the model's best few


def _other_splits(out_shape: tuple[int, ...], in_shape: tuple[int, ...], ranks: tuple[int, ...], batch: int,
                  candidates: list[Plan], cached_weight: bool) -> list[Plan]:
    """The model's cheapest few groupings into 2 or 3 super-cores other than the balanced ones already in
    ``candidates``. The balanced split is not always the fastest: for a 25088->4096 layer (cores' m*n 64, 32, 28, 28,
    64) at batch 32, merging cores (0-1), (2), (3-4) measured 1.6x faster than the balanced (0), (1-2), (3-4)."""
    sizes = [m * n for m, n in zip(out_shape, in_shape)]
    if len(sizes) < 3 or not any(p.path == "factorized" for p in candidates):
        return []
    have = {tuple(plan_ranges(p, sizes)) for p in candidates if p.path == "factorized"}
    extra = [p for p in partition_plans(len(sizes)) if tuple(plan_ranges(p, sizes)) not in have]
    extra.sort(key=lambda p: plan_cost(p, out_shape, in_shape, ranks, batch, cached_weight=cached_weight))
    return extra[:EXTRA_SPLITS]


def _tune(cores: Sequence[torch.Tensor], batch: int, candidates: list[Plan], train: bool,
          cached_weight: bool, model: Plan) -> tuple[Plan, dict[Plan, float]]:
    from tesla_lab.tn.contract import apply_plan, prepare_factorized, tt_matrix_full  # noqa: PLC0415 - imports us

    core = cores[0]
    n = math.prod([int(c.shape[2]) for c in cores])
    with torch.no_grad():
        cs = [c.detach().clone() for c in cores]
        weight = tt_matrix_full(cs) if cached_weight else None
    x = torch.randn(batch, n, device=core.device, dtype=core.dtype)
    if train:
        x.requires_grad_(True)
        for c in cs:
            c.requires_grad_(True)

    def make(plan: Plan) -> Callable[[], None]:
        mats = None
        if cached_weight and plan.path == "factorized":  # the caller caches the prepared matrices like W
            with torch.no_grad():
                mats = prepare_factorized(cs, plan.groups, plan.cuts)

        def run() -> None:
            with torch.set_grad_enabled(train):
                y = apply_plan(x, cs, None, plan, weight if plan.path == "dense" else None, mats)
                if train:
                    y.backward(torch.ones_like(y))

        return run

    times = measure({plan: make(plan) for plan in candidates}, core.device)
    best = min(candidates, key=lambda p: times[p])
    if model in times and times[model] <= MARGIN * times[best]:
        best = model
    return best, times


def choose_plan(
    cores: Sequence[torch.Tensor],
    batch: int,
    *,
    cached_weight: bool = False,
    path: str = "auto",
    train: bool | None = None,
    timing: bool | None = None,
) -> Plan:
    """The plan for applying the TT-matrix ``cores`` to ``batch`` rows.

    ``path``: ``'auto'`` (any candidate), ``'factorized'`` (only factorized groupings) or ``'dense'``.
    ``cached_weight``: the caller holds ``W`` and the core matrices already prepared (inference), so the dense plan
    is just a GEMM.
    ``train``: whether a backward pass follows (default: autograd is on and a core requires grad); train and
    inference are measured and cached separately. ``timing``: force measuring on or off (default
    :func:`timing_allowed`); without timing, or for an empty batch, the cost model decides.
    """
    out_shape = tuple([int(c.shape[1]) for c in cores])
    in_shape = tuple([int(c.shape[2]) for c in cores])
    ranks = (1, *[int(c.shape[-1]) for c in cores])
    if path == "dense":
        return Plan("dense", 1)
    candidates = [p for p in candidate_plans(len(cores)) if path == "auto" or p.path == path]
    if timing is None:
        timing = timing_allowed()
    if path == "auto":
        model = model_plan(out_shape, in_shape, ranks, batch, cached_weight=cached_weight)
    else:
        model = min(candidates, key=lambda p: plan_cost(p, out_shape, in_shape, ranks, batch,
                                                        cached_weight=cached_weight))
    if not timing or batch < 1 or _recording():
        return model
    if train is None:
        train = torch.is_grad_enabled() and any([c.requires_grad for c in cores])
    mode = "train" if train else ("infer-w" if cached_weight else "infer")
    key = _plan_key(cores, batch, mode, path)
    file = cache_file()
    with _lock:
        known = _memory.get(str(file))
        if known is None:
            known = _memory[str(file)] = _read(file)
        plan = known.get(key)
    if plan is not None:
        return plan
    candidates = candidates + _other_splits(out_shape, in_shape, ranks, batch, candidates, cached_weight)
    plan, times = _tune(cores, batch, candidates, train, cached_weight, model)
    ms = {("dense/1" if p.path == "dense" else p.label): round(t * 1e3, 4) for p, t in times.items()}
    log.info("TT plan %s: %s (measured ms: %s)", key, plan, ms)
    with _lock:
        _memory.setdefault(str(file), {})[key] = plan
        _write(file, {key: plan}, {key: ms})
    return plan

