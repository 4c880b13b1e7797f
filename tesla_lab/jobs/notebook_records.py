"""What a notebook run leaves behind: its :class:`NotebookResult`, the error text of a failed run (the failing
cell's traceback, else the end of papermill's log), and the artifacts and final status recorded in the project
store, on the notebook's run and on the training run the notebook started.

>>> NotebookResult(run_id="ab" * 16, status="failed", notebook=Path("nb.ipynb"), output=Path("out.ipynb")).ok
False
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tesla_lab.jobs._process import pid_alive
from tesla_lab.store import FINAL_STATUSES, NotFoundError, Project, Run
from tesla_lab.store.liveness import current_host

__all__ = ["NotebookResult", "TRAINING_RUN_PARAM"]

logger = logging.getLogger(__name__)

#: The param of the notebook run under which the notebook records the training run it started.
TRAINING_RUN_PARAM = "training_run_id"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_ERROR_LIMIT = 20_000  # characters of error text kept with a failed run



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
    # this machine's runs only: with a shared (PostgreSQL) store, a pid of another host says nothing here
    rows = project.db.query("SELECT id, pid FROM runs WHERE status = 'running' AND created >= ? AND id != ? "
                            "AND pid IS NOT NULL AND (host IS NULL OR host = ?)", (created, nb_run.id, current_host()))
    for row in rows:
        if pid_alive(int(row["pid"])):
            continue
        project.get_run(row["id"]).finish("stopped" if status == "stopped" else "failed",
                                          error=f"its process ended with the notebook run {nb_run.id[:8]} ({status})")

