"""The error classes of TESLA Lab.

Every error is a :class:`TeslaError`; each subclass also derives from the built-in exception a Python user would
expect (``ValueError``, ``TypeError``, ...), so ``except ValueError`` keeps working. Messages state the rule, the
value received and the fix.

>>> from tesla_lab.errors import CheckpointError, ShapeError, TeslaError
>>> issubclass(ShapeError, (TeslaError, ValueError))
True

The errors of the upper layers (serving, jobs, AutoML, the workbench) live here too, so one module holds the whole
hierarchy; their old modules re-export them (``from tesla_lab.serve.trace import ExportError`` still works).

>>> from tesla_lab.errors import ExportError, InputError, MissingDependencyError
>>> issubclass(ExportError, CheckpointError), InputError.status_code, issubclass(MissingDependencyError, ImportError)
(True, 422, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations only: errors.py is the lowest layer and imports nothing of TESLA Lab at run time
    from tesla_lab.jobs.notebook_records import NotebookResult
    from tesla_lab.train.launch import LaunchResult

__all__ = [
    "DownloadError", "ChecksumError", "PeerLostError",
    "TeslaError",
    "ConfigError",
    "ShapeError",
    "FactorizationError",
    "DataError",
    "NotFittedError",
    "CheckpointError",
    "StoreError",
    "NotFoundError",
    "MissingDependencyError",
    "LabDependencyError",
    "ExportError",
    "InputError",
    "TooManyRowsError",
    "ServerError",
    "MonitorError",
    "AutoMLError",
    "LaunchError",
    "JobError",
    "NotebookError",
]


class TeslaError(Exception):
    """Base class of every error raised on purpose by TESLA Lab."""


class ConfigError(TeslaError, ValueError):
    """An option has a value that is not allowed (unknown activation, optimizer, loss, rank < 1, ...)."""


class ShapeError(TeslaError, ValueError):
    """Tensor or layer shapes do not fit together."""


class FactorizationError(ShapeError):
    """A dimension cannot be split into the requested tensor-train mode sizes."""


class DataError(TeslaError, ValueError):
    """Input data is unusable as given: empty, non-numeric, NaN/inf, or X and y of different lengths."""


class NotFittedError(TeslaError, RuntimeError):
    """A model or transform is used before it was built, compiled or fitted."""


class CheckpointError(TeslaError, RuntimeError):
    """A checkpoint cannot be written or read back."""


class DownloadError(TeslaError, OSError):
    """A data set file is not in the cache and cannot be downloaded; the message says where to put it by hand."""


class ChecksumError(DownloadError, DataError):
    """A downloaded file does not have its published SHA-256 sum; it was not kept."""


class StoreError(TeslaError, RuntimeError):
    """The project store cannot be read or written (not a database, corrupted, locked too long, missing rows)."""


class NotFoundError(StoreError, LookupError):
    """A run, model version, dataset version or artifact that is not in the store; the message lists what is."""


class MissingDependencyError(TeslaError, ImportError):
    """An optional package a feature needs (FastAPI, ONNX, Panel, ipywidgets, ...) is not installed; the message
    names the extra to install."""


class LabDependencyError(MissingDependencyError):
    """An optional package a JupyterLab action needs (papermill, the jobs module) is not installed."""


class ExportError(CheckpointError):
    """A model cannot be exported (untraceable, traced outputs differ from the eager model) or an export directory
    cannot be read back (missing file, hash mismatch, unknown format)."""


class InputError(DataError):
    """A prediction request whose data is malformed; ``status_code`` is the HTTP status to answer with."""

    status_code = 422


class TooManyRowsError(InputError):
    """A request with more rows than the server accepts in one call."""

    status_code = 413


class ServerError(TeslaError, RuntimeError):
    """The server could not be started (e.g. the port is taken)."""


class MonitorError(TeslaError, RuntimeError):
    """The model server could not be reached or refused the request."""


class AutoMLError(TeslaError, RuntimeError):
    """A search that produced no usable model (every trial failed)."""


class LaunchError(TeslaError, RuntimeError):
    """A process of a :func:`~tesla_lab.train.launch.launch`-ed job failed (raised with ``check=True``); ``.result``
    is the :class:`~tesla_lab.train.launch.LaunchResult`."""

    result: LaunchResult | None = None


class PeerLostError(LaunchError):
    """A process of a multi-process (multi-node) training lost its peers mid-run: a node died, the network
    failed, or a collective waited longer than its timeout. The run is marked failed; its last checkpoint is
    intact and ``tesla train --resume RUN_ID`` continues it."""


class JobError(TeslaError, RuntimeError):
    """A background job cannot be started, found, stopped or resumed as asked."""


class NotebookError(TeslaError, RuntimeError):
    """A notebook run that did not finish (raised by :func:`~tesla_lab.jobs.notebooks.run` with ``check=True``);
    ``.result`` holds the :class:`~tesla_lab.jobs.notebook_records.NotebookResult` (run id, status, output notebook,
    error text).

    >>> issubclass(NotebookError, RuntimeError)
    True
    """

    def __init__(self, message: str, result: NotebookResult | None = None) -> None:
        super().__init__(message)
        self.result = result
