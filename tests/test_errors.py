"""One error hierarchy: every error class lives in tesla_lab.errors, and the old import paths give the same class."""

import importlib

import pytest

from tesla_lab import errors

OLD_PATHS = [
    ("tesla_lab.serve._deps", "MissingDependencyError"),
    ("tesla_lab.ui._deps", "MissingDependencyError"),
    ("tesla_lab.serve", "MissingDependencyError"),
    ("tesla_lab.jupyter.api", "LabDependencyError"),
    ("tesla_lab.serve.trace", "ExportError"),
    ("tesla_lab.serve.export", "ExportError"),
    ("tesla_lab.serve", "ExportError"),
    ("tesla_lab.serve.inputs", "InputError"),
    ("tesla_lab.serve.inputs", "TooManyRowsError"),
    ("tesla_lab.serve", "InputError"),
    ("tesla_lab.serve.server", "ServerError"),
    ("tesla_lab.ui.state.monitor", "MonitorError"),
    ("tesla_lab.automl.search", "AutoMLError"),
    ("tesla_lab.automl", "AutoMLError"),
    ("tesla_lab.train.launch", "LaunchError"),
    ("tesla_lab.jobs.training", "JobError"),
    ("tesla_lab.jobs", "JobError"),
    ("tesla_lab.jobs.notebooks", "NotebookError"),
]


@pytest.mark.parametrize(("module", "name"), OLD_PATHS, ids=lambda x: x)
def test_an_old_import_path_gives_the_class_defined_in_errors(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert cls is getattr(errors, name)
    assert cls.__module__ == "tesla_lab.errors"


def test_every_error_is_a_tesla_error_with_the_builtin_base_users_catch():
    expected = {
        "MissingDependencyError": ImportError, "LabDependencyError": errors.MissingDependencyError,
        "ExportError": errors.CheckpointError, "InputError": errors.DataError, "TooManyRowsError": errors.InputError,
        "ServerError": RuntimeError, "MonitorError": RuntimeError, "AutoMLError": RuntimeError,
        "LaunchError": RuntimeError, "JobError": RuntimeError, "NotebookError": RuntimeError,
    }
    for name, base in expected.items():
        cls = getattr(errors, name)
        assert issubclass(cls, errors.TeslaError) and issubclass(cls, base), name
    assert set(errors.__all__) >= set(expected)


def test_http_status_codes_and_carried_results_are_kept():
    assert errors.InputError.status_code == 422 and errors.TooManyRowsError.status_code == 413
    err = errors.NotebookError("the notebook failed", result="r")
    assert str(err) == "the notebook failed" and err.result == "r"
    assert errors.NotebookError("no result").result is None
    assert errors.LaunchError("failed").result is None
