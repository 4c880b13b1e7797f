"""Notebook parameters: values read from the command line (``-p`` / ``-r`` / ``-y``, as papermill's CLI reads
them), the notebook file they are for, the parameters that notebook declares in its ``parameters`` cell, the check
of given names against those, and the papermill command line that passes them on.

>>> parse_parameters([("epochs", "5"), ("lr", "0.01"), ("device", "cpu"), ("shuffle", "True")],
...                  raw=[("run_name", "007")])
{'epochs': 5, 'lr': 0.01, 'device': 'cpu', 'shuffle': True, 'run_name': '007'}
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tesla_lab.errors import ConfigError
from tesla_lab.jobs.kernel import KERNEL_NAME, _papermill

__all__ = [
    "parse_value",
    "parse_parameters",
    "find_notebook",
    "notebook_parameters",
    "check_parameters",
    "papermill_command",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")



def parse_value(text: str) -> Any:
    """Read one ``-p`` value the way papermill's CLI does: ``True``/``False``/``None``, an int, a float, else the
    text itself.

    >>> [parse_value(v) for v in ["5", "-2", "0.01", "1e-3", "True", "None", "cpu", "[1, 2]"]]
    [5, -2, 0.01, 0.001, True, None, 'cpu', '[1, 2]']
    """
    if not isinstance(text, str):
        raise ConfigError(f"a -p value is text; got {type(text).__name__} {text!r}")
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text



def parse_parameters(
    pairs: Iterable[tuple[str, str]] = (),
    *,
    raw: Iterable[tuple[str, str]] = (),
    yaml_text: str | None = None,
) -> dict[str, Any]:
    """Build a parameters dict from ``-p NAME VALUE`` pairs (values read by :func:`parse_value`), ``-r NAME
    VALUE`` pairs (kept as text) and an optional YAML mapping (``-y``, for lists and dicts); later ones win.

    >>> parse_parameters([("epochs", "3")], yaml_text="model: {hidden_sizes: [16]}")
    {'model': {'hidden_sizes': [16]}, 'epochs': 3}
    >>> parse_parameters([("2x", "1")])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: parameter name '2x' is not a Python identifier; ...
    """
    out: dict[str, Any] = {}
    if yaml_text is not None:
        try:
            data = yaml.safe_load(yaml_text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"-y takes a YAML mapping, e.g. 'model: {{hidden_sizes: [16]}}'; could not read "
                              f"{yaml_text!r} ({exc})") from exc
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"-y takes a YAML mapping of name: value, e.g. 'epochs: 5'; got {yaml_text!r}")
        out.update(data)
    for pair in pairs:
        name, value = _pair(pair, "-p")
        out[name] = parse_value(value)
    for pair in raw:
        name, value = _pair(pair, "-r")
        out[name] = value
    for name in out:
        _check_name(name)
    return out



def _pair(pair: Any, flag: str) -> tuple[str, str]:
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(isinstance(p, str) for p in pair):
        raise ConfigError(f"{flag} takes a NAME and a VALUE, e.g. {flag} epochs 5; got {pair!r}")
    return pair[0], pair[1]



def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"parameter name {name!r} is not a Python identifier; use letters, digits and '_', "
                          "e.g. 'epochs'")
    return name



def _notebook_path(notebook: str | os.PathLike[str], base: Path | None = None) -> Path:
    if not isinstance(notebook, (str, os.PathLike)) or not str(notebook).strip():
        raise ConfigError(f"a notebook is given by its path, e.g. notebooks/train.ipynb; got {notebook!r}")
    path = Path(notebook).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    path = path.resolve()
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ConfigError(f"notebook {str(notebook)!r} {what} ({path}); pass the path of an .ipynb file, e.g. "
                          "notebooks/train.ipynb")
    if path.suffix != ".ipynb":
        raise ConfigError(f"notebook {str(notebook)!r} is not a .ipynb file; pass a Jupyter notebook, e.g. "
                          "notebooks/train.ipynb")
    return path



def find_notebook(notebook: str | os.PathLike[str], project_dir: str | os.PathLike[str] | None = None) -> Path:
    """The absolute path of a notebook given from the current folder or, failing that, from ``project_dir``; the
    error says which paths were tried.

    >>> find_notebook("missing.ipynb")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: notebook 'missing.ipynb' does not exist (...); pass the path of an .ipynb file, \
e.g. notebooks/train.ipynb
    """
    if isinstance(notebook, (str, os.PathLike)) and str(notebook).strip() and project_dir is not None:
        path = Path(notebook).expanduser()
        if not path.is_absolute() and not path.exists() and (Path(project_dir) / path).exists():
            return _notebook_path(Path(project_dir) / path)
    return _notebook_path(notebook)



def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters``-tagged cell, as papermill reads them:
    ``{name: {"name", "inferred_type_name", "default", "help"}}`` (``default`` is the source text).

    >>> import json, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "nb.ipynb")
    >>> cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "epochs = 2  # passes",
    ...         "outputs": [], "execution_count": None}
    >>> _ = open(path, "w").write(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}))
    >>> notebook_parameters(path)["epochs"]["default"]
    '2'
    """
    path = _notebook_path(notebook)
    papermill = _papermill()
    try:
        import nbformat

        nb = nbformat.read(str(path), as_version=4)
        if nb.metadata.get("kernelspec", {}).get("name"):
            return dict(papermill.inspect_notebook(str(path)))
        # no kernel in the metadata (a generated notebook): papermill needs one to pick its Python parser, and
        # the run itself always names the kernel, so inspect a copy that names ours
        nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "language": "python", "display_name": "Python"}
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / path.name
            nbformat.write(nb, str(copy))
            return dict(papermill.inspect_notebook(str(copy)))
    except Exception as exc:  # papermill / nbformat raise plain exceptions for unreadable or non-notebook files
        raise ConfigError(f"could not read the parameters of notebook {path} ({type(exc).__name__}: {exc}); is it a "
                          "valid .ipynb file?") from exc



def check_parameters(notebook: str | os.PathLike[str], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse parameter names the notebook does not declare (before anything runs); return the parameters.

    >>> import json, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "nb.ipynb")
    >>> cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "epochs = 2\\nlr = 0.1",
    ...         "outputs": [], "execution_count": None}
    >>> _ = open(path, "w").write(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}))
    >>> check_parameters(path, {"epochs": 5})
    {'epochs': 5}
    >>> check_parameters(path, {"epoch": 5})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown parameter 'epoch' for notebook nb.ipynb (did you mean 'epochs'?); ...
    """
    return _check_against(Path(notebook).name, notebook_parameters(notebook), parameters)



def _check_against(name: str, declared: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(parameters, Mapping):
        raise ConfigError(f"parameters must be a dict of name → value; got {type(parameters).__name__}")
    if not declared:
        if parameters:
            raise ConfigError(f"notebook {name} has no cell tagged 'parameters', so it takes no parameters; got "
                              f"{', '.join(map(repr, parameters))}. Tag the cell that sets the defaults 'parameters'")
        return dict(parameters)
    for key in parameters:
        _check_name(key)
        if key not in declared:
            close = difflib.get_close_matches(key, list(declared), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown parameter {key!r} for notebook {name}{hint}; valid parameters: "
                              f"{', '.join(declared)}")
    return dict(parameters)



def _arguments(parameters: Mapping[str, Any]) -> list[str]:
    """``-p``/``-r``/``-y`` arguments that papermill reads back to exactly these values."""
    args: list[str] = []
    for key, value in parameters.items():
        _check_name(key)
        if value is None or isinstance(value, (bool, int)):
            args += ["-p", key, str(value)]  # True / 5 / None: papermill's -p reads them back as such
        elif isinstance(value, float):
            args += ["-p", key, repr(value)]  # repr round-trips every float, also 'nan' and 'inf'
        elif isinstance(value, str):
            args += ["-r", key, value]  # raw: '5' stays the text '5'
        else:
            try:
                text = yaml.safe_dump({key: value}, default_flow_style=True, width=1 << 30).strip()
            except yaml.YAMLError as exc:
                raise ConfigError(f"parameter {key!r} must be plain data (numbers, text, lists, dicts); got "
                                  f"{type(value).__name__}") from exc
            args += ["-y", text]
    return args



def papermill_command(
    notebook: str | os.PathLike[str],
    output: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    kernel: str = KERNEL_NAME,
    cwd: str | os.PathLike[str] | None = None,
    execution_timeout: float | None = None,
    start_timeout: float = 120.0,
) -> list[str]:
    """The papermill command line (an argument list, never a shell string) that runs ``notebook``.

    >>> papermill_command("in.ipynb", "out.ipynb", {"epochs": 5, "device": "cpu"}, execution_timeout=60)[3:]
    ['in.ipynb', 'out.ipynb', '-k', 'tesla-lab', '--log-output', '--no-progress-bar', '--start-timeout', '120', \
'--execution-timeout', '60', '-p', 'epochs', '5', '-r', 'device', 'cpu']
    """
    cmd = [sys.executable, "-m", "papermill", str(notebook), str(output), "-k", kernel, "--log-output",
           "--no-progress-bar", "--start-timeout", str(max(1, round(start_timeout)))]
    if execution_timeout is not None:
        if not execution_timeout > 0:
            raise ConfigError(f"execution_timeout is seconds per cell (> 0) or None; got {execution_timeout!r}")
        cmd += ["--execution-timeout", str(max(1, round(execution_timeout)))]
    if cwd is not None:
        cmd += ["--cwd", str(cwd)]
    return cmd + _arguments(parameters or {})

