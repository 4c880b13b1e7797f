"""Parameterized notebook runs: execute a notebook with papermill in its own process and record it in the store.

:func:`run` is the one entry point (``tesla run-notebook``, the scheduler and the dashboard all call it):

1. the parameter names are checked against the notebook's ``parameters`` cell (``papermill.inspect_notebook``)
   *before* anything runs: an unknown name is refused with the list of valid ones;
2. a run of kind ``notebook`` is created in the project store (its config holds the notebook and the parameters);
3. ``python -m papermill IN OUT -k tesla-lab --log-output --no-progress-bar -p NAME VALUE ...`` runs as a
   subprocess in its own process group (so a stop or a timeout ends papermill *and* its kernel), with a per-cell
   ``--execution-timeout`` and an explicitly registered kernel (:func:`ensure_kernel`);
4. the executed notebook (and papermill's log) are stored as artifacts of that run, which ends ``finished``,
   ``failed`` (with the failing cell's error text) or ``stopped``.

Linking to the training run: when the notebook declares a ``tesla_run_id`` parameter, the runner sets it to the
notebook run's id; ``notebooks/train.ipynb`` records the id of the training run it starts as the param
``training_run_id`` of that notebook run, and the runner then also stores the executed notebook on the training
run. When the notebook declares ``project_dir`` and it is not given, the runner passes the project's folder.

Values given as text are read like papermill's CLI reads ``-p`` (``True``/``False``/``None``, ints, floats, else
text); ``-r`` values stay text.

>>> parse_parameters([("epochs", "5"), ("lr", "0.01"), ("device", "cpu"), ("shuffle", "True")],
...                  raw=[("run_name", "007")])
{'epochs': 5, 'lr': 0.01, 'device': 'cpu', 'shuffle': True, 'run_name': '007'}
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tesla_lab.errors import ConfigError, NotebookError
from tesla_lab.jobs._process import pid_alive
from tesla_lab.store import FINAL_STATUSES, NotFoundError, Project, Run

__all__ = [
    "KERNEL_NAME",
    "RUN_ID_PARAMETER",
    "PROJECT_PARAMETER",
    "TRAINING_RUN_PARAM",
    "NotebookError",
    "NotebookResult",
    "ensure_kernel",
    "parse_value",
    "parse_parameters",
    "find_notebook",
    "notebook_parameters",
    "check_parameters",
    "papermill_command",
    "run",
]

logger = logging.getLogger(__name__)

#: The Jupyter kernel every TESLA notebook run uses (registered by :func:`ensure_kernel`).
KERNEL_NAME = "tesla-lab"
#: A notebook parameter the runner fills with the id of the notebook's own run in the store.
RUN_ID_PARAMETER = "tesla_run_id"
#: A notebook parameter the runner fills with the project folder when the caller does not give it.
PROJECT_PARAMETER = "project_dir"
#: The param of the notebook run under which the notebook records the training run it started.
TRAINING_RUN_PARAM = "training_run_id"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LIMIT = 20_000  # characters of error text kept with a failed run
_POLL = 0.25  # seconds between checks of the papermill process, the stop flag and the time limit
_GRACE = 10.0  # seconds papermill gets after SIGINT to shut its kernel down before the group is killed


@dataclass(frozen=True)
class NotebookResult:
    """What one notebook run produced.

    ``status`` is the run's final status (``finished`` / ``failed`` / ``stopped``), ``output`` the executed
    notebook, ``training_run_id`` the training run the notebook recorded (or ``None``).

    >>> NotebookResult(run_id="ab" * 16, status="finished", notebook=Path("nb.ipynb"),
    ...                output=Path("out.ipynb")).ok
    True
    """

    run_id: str
    status: str
    notebook: Path
    output: Path
    log: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    training_run_id: str | None = None
    error: str | None = None
    returncode: int | None = None
    duration: float | None = None

    @property
    def ok(self) -> bool:
        """True when the notebook ran to the end."""
        return self.status == "finished"


# ------------------------------------------------------------------------------------------------ papermill
def _papermill() -> Any:
    try:
        import papermill
    except ImportError as exc:  # optional dependency: name the extra
        raise ConfigError("running notebooks needs papermill, nbclient and ipykernel; install them with "
                          "`pip install 'tesla-lab[jobs]'`") from exc
    return papermill


def ensure_kernel(name: str = KERNEL_NAME, *, display_name: str = "TESLA Lab (Python)") -> str:
    """Make sure the Jupyter kernel ``name`` exists; register this Python as that kernel when it does not
    (like ``python -m ipykernel install --sys-prefix --name tesla-lab``). Returns the kernel's folder.

    A registered kernel whose Python no longer exists (a deleted virtual environment) is registered again.

    >>> Path(ensure_kernel()).name
    'tesla-lab'
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ConfigError(f"a kernel name is letters, digits, '.', '_' or '-'; got {name!r}, e.g. 'tesla-lab'")
    try:
        from ipykernel.kernelspec import install
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError as exc:
        raise ConfigError("registering a notebook kernel needs ipykernel; install it with "
                          "`pip install 'tesla-lab[jobs]'`") from exc
    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(name)
    except NoSuchKernel:
        spec = None
    if spec is not None:
        python = spec.argv[0] if spec.argv else ""
        if Path(python).exists() or (not os.path.isabs(python) and python):
            if os.path.isabs(python) and Path(python).resolve() != Path(sys.executable).resolve():
                logger.warning("kernel %r runs %s, not this Python (%s); notebooks will use that environment",
                               name, python, sys.executable)
            return str(spec.resource_dir)
        logger.info("kernel %r points to a missing Python (%s); registering it again", name, python)
    folder = install(kernel_name=name, display_name=display_name, prefix=sys.prefix)
    logger.info("registered Jupyter kernel %r for %s in %s", name, sys.executable, folder)
    return str(folder)


def _known_kernels() -> list[str]:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:  # pragma: no cover - jupyter_client comes with papermill
        return []
    return sorted(KernelSpecManager().find_kernel_specs())


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


# ------------------------------------------------------------------------------------------------ running
def _open_project(project: Project | str | os.PathLike[str] | None) -> Project:
    return project if isinstance(project, Project) else Project(project)


def _error_from_notebook(path: Path) -> str | None:
    """The first error a cell of the executed notebook raised, as ``Name: message`` plus its traceback."""
    try:
        import nbformat

        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # a notebook papermill never wrote (kernel did not start): the log tells why
        return None
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(out.get("traceback", [])))
                # "In [n]": the label Jupyter shows next to the cell (papermill's own message uses it too)
                head = f"{out.get('ename')}: {out.get('evalue')} (at In [{cell.get('execution_count')}])"
                return f"{head}\n{trace}"[:_ERROR_LIMIT]
    return None


def _log_tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        text = _ANSI.sub("", path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(text.splitlines()[-lines:])
    return ""


def _terminate(proc: subprocess.Popen[bytes], grace: float = _GRACE) -> None:
    """Stop papermill and its kernel: SIGINT to the group (papermill shuts the kernel down and saves the notebook),
    then SIGKILL after ``grace`` seconds (the kernel notices its parent is gone and exits)."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TQDM_DISABLE", "1")  # progress bars would flood the captured log
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    return env


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem) or "notebook"


def run(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    project: Project | str | os.PathLike[str] | None = None,
    name: str | None = None,
    output: str | os.PathLike[str] | None = None,
    kernel: str = KERNEL_NAME,
    execution_timeout: float | None = 6 * 3600.0,
    start_timeout: float = 120.0,
    timeout: float | None = None,
    check: bool = True,
    cancel: Callable[[], bool] | None = None,
    on_start: Callable[[Run], None] | None = None,
) -> NotebookResult:
    """Execute ``notebook`` with papermill in a subprocess and record it as a run of ``project``.

    Args:
        notebook: path of the ``.ipynb`` file (relative paths: from the current folder, else the project folder).
        parameters: values for names declared in the notebook's ``parameters`` cell (checked before running).
        project: a :class:`~tesla_lab.store.Project`, its folder, or ``None`` (the project holding the current
            folder).
        name: the run's name (default: the notebook's file name).
        output: where to write the executed notebook (default ``.tesla/notebooks/<stem>-<run id>.ipynb``).
        kernel: the Jupyter kernel; the default ``tesla-lab`` is registered on first use (:func:`ensure_kernel`).
        execution_timeout: seconds one cell may run (a hung or dead kernel fails the run instead of hanging).
        start_timeout: seconds the kernel may take to start.
        timeout: seconds the whole notebook may run before papermill and its kernel are killed (run ``failed``).
        check: raise :class:`NotebookError` when the run does not finish (``False``: return the failed result).
        cancel: polled while the notebook runs; returning True stops it (run ``stopped``). The run's stop flag in
            the store (:meth:`Run.request_stop`, the dashboard's Stop) does the same.
        on_start: called with the notebook's :class:`Run` once it exists, before papermill starts.

    >>> run("missing.ipynb")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: notebook 'missing.ipynb' does not exist (...); pass the path of an .ipynb file, \
e.g. notebooks/train.ipynb
    """
    proj = None if project is None else _open_project(project)
    path = find_notebook(notebook, None if proj is None else proj.path)
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"timeout is seconds (> 0) for the whole notebook, or None; got {timeout!r}")
    declared = notebook_parameters(path)
    params = _check_against(path.name, declared, dict(parameters or {}))
    if RUN_ID_PARAMETER in params:
        raise ConfigError(f"{RUN_ID_PARAMETER!r} is set by the runner to the notebook's own run id; do not pass it")
    proj = proj or _open_project(None)
    if kernel == KERNEL_NAME:
        ensure_kernel(kernel)
    elif kernel not in _known_kernels():
        raise ConfigError(f"no Jupyter kernel named {kernel!r}; installed kernels: "
                          f"{', '.join(_known_kernels()) or '(none)'}; register one with `python -m ipykernel "
                          f"install --sys-prefix --name {kernel}`")
    if PROJECT_PARAMETER in declared and PROJECT_PARAMETER not in params:
        params[PROJECT_PARAMETER] = str(proj.path)

    record = {"kind": "notebook", "notebook": str(path), "kernel": kernel, "parameters": params}
    nb_run = proj.start_run(name=name or path.name, config=record, params=params, status="running")
    injected = dict(params)
    if RUN_ID_PARAMETER in declared:
        injected[RUN_ID_PARAMETER] = nb_run.id
    workdir = proj.path / ".tesla" / "notebooks"
    workdir.mkdir(parents=True, exist_ok=True)
    out_path = Path(output).expanduser().resolve() if output is not None else (
        workdir / f"{_safe_stem(path)}-{nb_run.id[:12]}.ipynb")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{_safe_stem(path)}-{nb_run.id[:12]}.log"
    cmd = papermill_command(path, out_path, injected, kernel=kernel, cwd=proj.path,
                            execution_timeout=execution_timeout, start_timeout=start_timeout)
    logger.info("running notebook %s as run %s", path, nb_run.id[:8])
    began = time.monotonic()
    status, error, returncode = "finished", None, None
    try:
        if on_start is not None:
            on_start(nb_run)
        with open(log_path, "wb") as log:
            # own process group (new session): a stop or timeout signals papermill and whatever it started
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=proj.path, env=_env(), start_new_session=True)
            try:
                returncode, status, error = _wait(proc, nb_run, began, timeout, cancel)
            except BaseException:  # KeyboardInterrupt / SystemExit in the caller: never leave papermill behind
                _terminate(proc)
                raise
    except BaseException as exc:
        _finish(proj, nb_run, "stopped" if isinstance(exc, KeyboardInterrupt) else "failed",
                f"{type(exc).__name__}: {exc}", out_path, log_path)
        raise
    if status == "finished" and returncode != 0:
        status = "failed"
    if status == "failed" and error is None:
        error = _error_from_notebook(out_path) or (
            f"papermill exited with status {returncode}; the end of its log:\n{_log_tail(log_path)}")
    training_id = _finish(proj, nb_run, status, error, out_path, log_path)
    result = NotebookResult(run_id=nb_run.id, status=status, notebook=path, output=out_path,
                            log=log_path, parameters=params, training_run_id=training_id, error=error,
                            returncode=returncode, duration=time.monotonic() - began)
    logger.info("notebook run %s %s", nb_run.id[:8], status)
    if check and not result.ok:
        first = (error or "").strip().splitlines()[0] if error else status
        raise NotebookError(f"notebook {path.name} {status} (run {nb_run.id[:8]}): {first}; the executed notebook "
                            f"is {out_path}", result)
    return result


def _wait(
    proc: subprocess.Popen[bytes],
    nb_run: Run,
    began: float,
    timeout: float | None,
    cancel: Callable[[], bool] | None,
) -> tuple[int, str, str | None]:
    """Wait for papermill; stop it on a cancel / stop request or after ``timeout`` seconds."""
    last_flag_check = 0.0
    while True:
        try:
            return proc.wait(timeout=_POLL), "finished", None
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if timeout is not None and now - began > timeout:
            _terminate(proc)
            return proc.returncode, "failed", f"timed out: the notebook ran longer than timeout={timeout:g} s"
        stop = cancel is not None and cancel()
        if not stop and now - last_flag_check >= 1.0:  # the store's stop flag: one cheap lookup a second
            last_flag_check = now
            stop = nb_run.stop_requested()
        if stop:
            _terminate(proc)
            return proc.returncode, "stopped", "stopped on request"


def _finish(project: Project, nb_run: Run, status: str, error: str | None, out_path: Path,
            log_path: Path) -> str | None:
    """Store the executed notebook and the log with the run (and the training run it names), then end the run."""
    training_id = None
    with contextlib.suppress(NotFoundError):
        value = nb_run.params().get(TRAINING_RUN_PARAM)
        training_id = str(value) if value else None
    if out_path.is_file():
        nb_run.log_artifact("notebook.ipynb", out_path, kind="notebook")
        if training_id is not None:
            try:
                project.get_run(training_id).log_artifact("notebook.ipynb", out_path, kind="notebook")
            except NotFoundError:
                logger.warning("the notebook recorded training run %s, which is not in the store", training_id)
                training_id = None
    if log_path.is_file():
        nb_run.log_artifact("papermill.log", log_path, kind="log")
    if status != "finished":
        _end_orphans(project, nb_run, status)
    if nb_run.status not in FINAL_STATUSES:
        nb_run.finish(status, error=error)
    return training_id


def _end_orphans(project: Project, nb_run: Run, status: str) -> None:
    """Runs started while the notebook ran whose process is gone (its kernel was stopped or killed mid-training)
    are ended too, so no run stays ``running`` forever."""
    created = nb_run.info()["created"].timestamp()
    rows = project.db.query("SELECT id, pid FROM runs WHERE status = 'running' AND created >= ? AND id != ? "
                            "AND pid IS NOT NULL", (created, nb_run.id))
    for row in rows:
        if pid_alive(int(row["pid"])):
            continue
        project.get_run(row["id"]).finish("stopped" if status == "stopped" else "failed",
                                          error=f"its process ended with the notebook run {nb_run.id[:8]} ({status})")


