"""Several scheduler processes sharing one store (SQLite file, or a PostgreSQL server): every slot fires once."""

import multiprocessing
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from tesla_lab.jobs.notebooks import NotebookResult
from tesla_lab.jobs.schedule import Scheduler, add_schedule, schedule_runs
from tesla_lab.store import Project

SLOTS = 12


def at(hour, minute):
    return datetime(2024, 1, 1, hour, minute, tzinfo=timezone.utc).timestamp()


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


def runner(path, parameters, *, project, name, check, cancel, on_start, execution_timeout):
    """Stands in for papermill: a finished run in the store, named after the slot."""
    run = project.start_run(name=name)
    on_start(run)
    run.finish("finished")
    return NotebookResult(run_id=run.id, status="finished", notebook=Path(path), output=Path(path),
                          parameters=dict(parameters), error=None, returncode=0)


def scheduler_process(root, barrier, results):
    """One scheduler process: at each half-hour slot (both processes at the same moment) one tick."""
    clock = Clock(0.0)
    scheduler = Scheduler(Project(root), clock=clock, runner=runner)
    fired = []
    for k in range(SLOTS):
        clock.t = at(10, 30) + 1800 * k + 1
        barrier.wait(timeout=60)
        fired += [e.scheduled_time for e in scheduler.tick()]
    results.put(fired)


def test_two_scheduler_processes_on_one_store_fire_every_slot_exactly_once(tmp_path, store_engine):
    project = Project.init(tmp_path / "p")
    nbformat.write(nbformat.v4.new_notebook(), str(project.path / "notebooks" / "nb.ipynb"))
    add_schedule(project, "s", "*/30 * * * *", project.path / "notebooks" / "nb.ipynb", now=at(10, 7))
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=scheduler_process, args=(project.path, barrier, results)) for _ in range(2)]
    for w in workers:
        w.start()
    fired = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    expected = [at(10, 30) + 1800 * k for k in range(SLOTS)]
    assert sorted(fired[0] + fired[1]) == expected  # every slot by one process, none by both
    history = schedule_runs(project, "s")
    assert len(history) == SLOTS and set(history["status"]) == {"finished"}
    assert len(project.runs()) == SLOTS
