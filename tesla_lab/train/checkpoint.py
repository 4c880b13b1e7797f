"""Checkpoints that hold everything needed for an exact resume, written atomically.

A checkpoint is one ``torch.save`` file with: the model, optimizer and loss-scaler states, the number of completed
epochs, the history, every random-number state (torch CPU and CUDA, NumPy, Python ``random`` and the trainer's
shuffle generator) and a free ``extra`` dict. RNG states are stored as tensors and plain types so the file loads
with ``torch.load(..., weights_only=True)`` (no arbitrary code runs when a checkpoint is opened).

Writes go to a temporary file in the same directory, are flushed and fsynced, then renamed over the target with
``os.replace``: a crash mid-write leaves the previous checkpoint intact and never a partial file under a checkpoint
name. Files in a checkpoint directory are named ``checkpoint-epoch0003.pt`` (3 = completed epochs).

>>> import tempfile, torch
>>> d = tempfile.mkdtemp()
>>> model = torch.nn.Linear(2, 1)
>>> path = save_checkpoint(checkpoint_path(d, 3), model=model, epoch=3)
>>> path.name, latest_checkpoint(d) == path
('checkpoint-epoch0003.pt', True)
>>> load_checkpoint(path, model=torch.nn.Linear(2, 1))["epoch"]
3
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tesla_lab._atomic import atomic_write
from tesla_lab.errors import CheckpointError, ConfigError

__all__ = [
    "CHECKPOINT_FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "list_checkpoints",
    "prune_checkpoints",
    "checkpoint_path",
    "capture_rng_state",
    "restore_rng_state",
]

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "tesla_lab.checkpoint/1"
_NAME = re.compile(r"^checkpoint-epoch(\d+)\.pt$")


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    # torch.compile wraps in OptimizedModule (keys gain '_orig_mod.'), DDP in .module: store the plain module's keys
    model = getattr(model, "_orig_mod", model)
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        model = model.module
    return model


def checkpoint_path(dirpath: str | Path, epoch: int) -> Path:
    """The file name used for the checkpoint after ``epoch`` completed epochs.

    >>> checkpoint_path("runs/a", 12).as_posix()
    'runs/a/checkpoint-epoch0012.pt'
    """
    return Path(dirpath) / f"checkpoint-epoch{int(epoch):04d}.pt"


def list_checkpoints(dirpath: str | Path) -> list[Path]:
    """Checkpoint files in ``dirpath`` (named ``checkpoint-epochNNNN.pt``), oldest epoch first.

    >>> list_checkpoints("/nonexistent/dir")
    []
    """
    d = Path(dirpath)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name)) and p.is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(dirpath: str | Path) -> Path | None:
    """The checkpoint with the most completed epochs in ``dirpath``, or ``None`` when there is none.

    >>> latest_checkpoint("/nonexistent/dir") is None
    True
    """
    found = list_checkpoints(dirpath)
    return found[-1] if found else None


def prune_checkpoints(dirpath: str | Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest checkpoints in ``dirpath``; return the deleted paths.

    >>> prune_checkpoints("/nonexistent/dir", keep=2)
    []
    """
    if keep < 1:
        raise ConfigError(f"keep must be >= 1 so the latest checkpoint survives; got keep={keep}")
    old = list_checkpoints(dirpath)[:-keep]
    for p in old:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return old


# ---------------------------------------------------------------------------------------------------- RNG states
def capture_rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every random-number state as tensors and plain types (loadable with ``weights_only=True``).

    >>> state = capture_rng_state(); a = torch.rand(1); restore_rng_state(state); bool(torch.rand(1) == a)
    True
    """
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),  # uint32 (624,) widened: no uint32 pickle
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        # random.getstate() is (version, tuple of 625 ints < 2**32, gauss_next or None)
        "python": {"version": int(py_version), "state": torch.tensor(py_state, dtype=torch.int64), "gauss": py_gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def restore_rng_state(state: Mapping[str, Any], generator: torch.Generator | None = None) -> None:
    """Put back the states captured by :func:`capture_rng_state` (missing entries are left alone).

    >>> g = torch.Generator().manual_seed(1); s = capture_rng_state(g); a = torch.randperm(5, generator=g)
    >>> restore_rng_state(s, g); bool((torch.randperm(5, generator=g) == a).all())
    True
    """
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "numpy" in state:
        s = state["numpy"]
        np.random.set_state((s["name"], s["keys"].cpu().numpy().astype(np.uint32), s["pos"], s["has_gauss"],
                             s["gauss"]))
    if "python" in state:
        s = state["python"]
        random.setstate((s["version"], tuple(int(v) for v in s["state"].tolist()), s["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [t.cpu() for t in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            logger.warning("checkpoint has CUDA RNG states for %d devices but %d are visible; CUDA RNG not restored",
                           len(cuda_states), torch.cuda.device_count())
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"].cpu())


# ---------------------------------------------------------------------------------------------------- save / load
def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scaler: torch.amp.GradScaler | None = None,
    epoch: int,
    history: Any = None,
    extra: Mapping[str, Any] | None = None,
    generator: torch.Generator | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path.

    ``epoch`` is the number of completed epochs (training resumes at that epoch index). ``history`` is a
    :class:`~tesla_lab.train.History` or its ``to_dict()``; ``extra`` must hold tensors and plain Python types
    (it is read back with ``weights_only=True``). ``generator`` is the shuffle generator whose state is saved with
    the other RNG states.

    >>> import tempfile
    >>> p = save_checkpoint(Path(tempfile.mkdtemp()) / "m.pt", model=torch.nn.Linear(1, 1), epoch=1, extra={"k": 1})
    >>> torch.load(p, weights_only=True)["extra"]
    {'k': 1}
    """
    path = Path(path)
    if history is not None and hasattr(history, "to_dict"):
        history = history.to_dict()
    payload = {
        "format": CHECKPOINT_FORMAT,
        "torch_version": str(torch.__version__),
        "epoch": int(epoch),
        "model": _unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "history": history,
        "rng": capture_rng_state(generator),
        "extra": dict(extra) if extra is not None else {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temp file's name does not match the checkpoint pattern: a crash never leaves something that looks like one.
    try:
        with atomic_write(path) as f:
            torch.save(payload, f)
    except Exception as exc:
        raise CheckpointError(
            f"could not write checkpoint {path} ({type(exc).__name__}: {exc}); the previous checkpoint is "
            "untouched. Check free disk space and that `extra` holds only tensors and plain Python types"
        ) from exc
    logger.debug("wrote checkpoint %s (epoch %d)", path, epoch)
    return path


def _previous_hint(path: Path) -> str:
    others = [p for p in list_checkpoints(path.parent) if p.resolve() != path.resolve()]
    _m = _NAME.match(path.name)
    if _m:  # prefer the newest one older than the broken file
        older = [p for p in others if int(_NAME.match(p.name).group(1)) < int(_m.group(1))]  # type: ignore[union-attr]
        others = older or others
    if others:
        return f"resume from the previous one instead: fit(..., resume={str(others[-1])!r})"
    return "no other checkpoint is in that directory; delete the file and train from the start"


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[:limit] + "..."


def load_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scaler: torch.amp.GradScaler | None = None,
    map_location: str | torch.device | None = "cpu",
    restore_rng: bool = False,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    """Read a checkpoint (``weights_only=True``), load it into ``model`` / ``optimizer`` / ``scaler`` when given,
    and return the whole checkpoint dict (``epoch``, ``history``, ``rng``, ``extra``, ...).

    ``restore_rng=True`` also restores every RNG state (and ``generator``'s), as an exact resume needs.
    A corrupted or truncated file raises :class:`~tesla_lab.errors.CheckpointError` naming it and the previous one.

    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "checkpoint-epoch0001.pt"; _ = bad.write_bytes(b"not a checkpoint")
    >>> load_checkpoint(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tesla_lab.errors.CheckpointError: checkpoint .../checkpoint-epoch0001.pt cannot be read (...); it is corrupted \
or truncated. no other checkpoint is in that directory; delete the file and train from the start
    """
    path = Path(path)
    if not path.is_file():
        hint = latest_checkpoint(path.parent)
        where = f"; the latest one in that directory is {str(hint)!r}" if hint else ""
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist{where}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        text = str(exc)
        if "Unsupported global" in text:  # a well-formed file holding classes weights_only refuses to import
            found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
            raise CheckpointError(
                f"checkpoint {path} holds objects that safe loading (weights_only=True) refuses"
                f"{': ' + found.group(1) if found else ''}; store only tensors and plain Python types in `extra`"
            ) from exc
        reason = "not a valid torch file" if isinstance(exc, pickle.UnpicklingError) else _first_line(exc, 100)
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {reason}); it is corrupted or truncated. "
            f"{_previous_hint(path)}"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a TESLA Lab checkpoint (expected format {CHECKPOINT_FORMAT!r}); write checkpoints with "
            "tesla_lab.train.save_checkpoint or Trainer(checkpoint_dir=...)"
        )
    if model is not None:
        try:
            _unwrap(model).load_state_dict(ckpt["model"])
        except RuntimeError as exc:
            raise CheckpointError(
                f"checkpoint {path} does not fit this model ({_first_line(exc)}); build the model with the same "
                "layers and sizes as the run that wrote it"
            ) from exc
    if optimizer is not None:
        if ckpt.get("optimizer") is None:
            logger.warning("checkpoint %s holds no optimizer state; the optimizer starts fresh", path)
        else:
            try:
                optimizer.load_state_dict(ckpt["optimizer"])
            except (ValueError, KeyError, RuntimeError) as exc:
                raise CheckpointError(
                    f"checkpoint {path} has optimizer state that does not fit this optimizer ({_first_line(exc)}); "
                    "use the same optimizer type and parameter groups as the run that wrote it"
                ) from exc
    if scaler is not None and ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    if restore_rng and ckpt.get("rng"):
        restore_rng_state(ckpt["rng"], generator)
    return ckpt
