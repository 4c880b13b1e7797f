"""Schedules: cron checks, storage, and the scheduler's exactly-once firing with a fake clock and a fake runner."""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError, NotFoundError
from tesla_lab.jobs import schedule as sched
from tesla_lab.jobs.notebooks import KERNEL_NAME, NotebookResult
from tesla_lab.jobs.schedule import (
    Scheduler,
    add_schedule,
    check_cron,
    get_schedule,
    latest_slot,
    list_schedules,
    next_time,
    remove_schedule,
    schedule_runs,
    schedules_frame,
)
from tesla_lab.store import Project


def at(hour, minute, second=0, day=1):
    return datetime(2024, 1, day, hour, minute, second, tzinfo=timezone.utc).timestamp()


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class FakeRunner:
    """Stands in for notebooks.run: records the call, creates a finished (or failed) run in the store."""

    def __init__(self, status="finished", error=None):
        self.calls = []
        self.status, self.error = status, error

    def __call__(self, path, parameters, *, project, name, check, cancel, on_start, execution_timeout):
        self.calls.append({"path": Path(path), "parameters": parameters, "name": name, "check": check})
        run = project.start_run(name=name)
        on_start(run)
        run.log_artifact("notebook.ipynb", b"{}", kind="notebook")
        run.finish(self.status, error=self.error)
        return NotebookResult(run_id=run.id, status=self.status, notebook=Path(path), output=Path(path),
                              parameters=dict(parameters), error=self.error, returncode=0)


@pytest.fixture
def project(tmp_path, store_engine):
    proj = Project.init(tmp_path / "proj")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("epochs = 1\nlr = 0.1\ntesla_run_id = None")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "TESLA Lab", "language": "python"}
    nbformat.write(nb, str(proj.path / "notebooks" / "nb.ipynb"))
    return proj


NB = "notebooks/nb.ipynb"


# ------------------------------------------------------------------------------------------------------ cron
@pytest.mark.parametrize("expr", ["*/30 * * * *", "0 3 * * *", "0 9 * * 1-5", "@hourly", "@daily", "*/59 * * * *",
                                  "0 0 1 */12 *"])
def test_check_cron_accepts_five_field_expressions_and_shortcuts(expr):
    assert check_cron(expr) == expr


@pytest.mark.parametrize(("expr", "match"), [
    ("*/61 * * * *", r"'\*/61 \* \* \* \*': the minute step 61 is out of range 1..59; e.g. '\*/30 \* \* \* \*'"),
    ("0 */24 * * *", "the hour step 24 is out of range 1..23"),
    ("every day", r"invalid cron expression 'every day': it has 2 field\(s\), not 5; e.g. '\*/30 \* \* \* \*'"),
    ("* * * *", r"it has 4 field\(s\), not 5"),
    ("* * * * * *", r"it has 6 field\(s\), not 5"),
    ("61 * * * *", "invalid cron expression '61 \\* \\* \\* \\*': .*out of range.*; e.g."),
    ("@reboot", "invalid cron expression '@reboot': unknown shortcut; e.g."),
    ("", "it is empty or not text; e.g."),
    (None, "it is empty or not text"),
])
def test_check_cron_names_the_bad_value_and_gives_an_example(expr, match):
    with pytest.raises(ConfigError, match=match):
        check_cron(expr)


@settings(max_examples=60, deadline=None)
@given(now=st.floats(min_value=at(0, 0), max_value=at(0, 0) + 366 * 86400.0),
       expr=st.sampled_from(["*/30 * * * *", "0 3 * * *", "15 */2 * * 1-5", "@hourly", "*/7 * * * *"]),
       tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]))
def test_latest_slot_is_the_last_slot_at_or_before_now(now, expr, tz):
    slot = latest_slot(expr, now, tz)
    assert slot <= now < next_time(expr, slot, tz)
    assert latest_slot(expr, slot, tz) == slot  # a slot is its own latest slot


def test_next_time_follows_the_schedules_time_zone_across_a_dst_change():
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC after the switch on 2024-03-31
    before = next_time("0 9 * * *", datetime(2024, 3, 30, 12, tzinfo=timezone.utc).timestamp(), "Europe/Berlin")
    assert datetime.fromtimestamp(before, timezone.utc).hour == 7


def test_next_time_refuses_an_unknown_time_zone():
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Base'; use an IANA name"):
        next_time("* * * * *", 0.0, "Mars/Base")


# ------------------------------------------------------------------------------------------------- storage
def test_add_list_get_and_remove_a_schedule(project):
    added = add_schedule(project, "nightly", "0 3 * * *", project.path / NB, {"epochs": 5}, now=at(10, 0))
    assert added.notebook == NB  # stored relative to the project folder
    assert [s.name for s in list_schedules(project)] == ["nightly"]
    got = get_schedule(project, "nightly")
    assert (got.cron, got.parameters, got.timezone, got.created) == ("0 3 * * *", {"epochs": 5}, "UTC", at(10, 0))
    assert got.notebook_path(project) == project.path / NB
    frame = schedules_frame(project, now=at(10, 0))
    assert frame.loc[0, "next_run"] == datetime(2024, 1, 2, 3, 0, tzinfo=timezone.utc)
    assert frame.loc[0, "last_status"] is None
    assert remove_schedule(project, "nightly").name == "nightly"
    assert list_schedules(project) == []


def test_a_relative_notebook_path_is_found_in_the_project(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # NB does not exist relative to here, but does in the project
    assert add_schedule(project, "a", "@hourly", NB).notebook == NB


def test_a_duplicate_schedule_name_is_refused(project):
    add_schedule(project, "nightly", "0 3 * * *", project.path / NB)
    with pytest.raises(ConfigError, match="a schedule named 'nightly' already exists; .*tesla schedule remove nightly"):
        add_schedule(project, "nightly", "0 4 * * *", project.path / NB)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"name": "bad name"}, "a schedule name is 1-100 letters.*got 'bad name'"),
    ({"cron": "*/61 * * * *"}, "minute step 61 is out of range"),
    ({"cron": "0 0 31 2 *"}, r"cron expression '0 0 31 2 \*' never fires"),
    ({"notebook": "missing.ipynb"}, "notebook 'missing.ipynb' does not exist"),
    ({"parameters": {"epoch": 3}}, "unknown parameter 'epoch' for notebook nb.ipynb .*valid parameters: epochs, lr"),
    ({"parameters": {"tesla_run_id": "x"}}, "'tesla_run_id' is set by the runner"),
    ({"timezone": "Nowhere/City"}, "unknown time zone 'Nowhere/City'"),
])
def test_add_schedule_refuses_bad_input_and_stores_nothing(project, kwargs, match):
    args = {"name": "s", "cron": "@hourly", "notebook": project.path / NB, "parameters": None, **kwargs}
    tz = args.pop("timezone", "UTC")
    with pytest.raises(ConfigError, match=match):
        add_schedule(project, args["name"], args["cron"], args["notebook"], args["parameters"], timezone=tz)
    assert list_schedules(project) == []


def test_removing_an_unknown_schedule_lists_the_existing_ones(project):
    add_schedule(project, "nightly", "0 3 * * *", project.path / NB)
    with pytest.raises(NotFoundError, match="no schedule named 'nighty'; existing schedules: nightly"):
        remove_schedule(project, "nighty")


# ----------------------------------------------------------------------------------------------- scheduler
def make(project, clock, runner=None, **kw):
    return Scheduler(project, clock=clock, runner=runner or FakeRunner(), **kw)


def test_a_due_slot_fires_once(project):
    add_schedule(project, "half-hourly", "*/30 * * * *", project.path / NB, {"epochs": 2}, now=at(10, 7))
    clock, runner = Clock(at(10, 29, 59)), FakeRunner()
    scheduler = make(project, clock, runner)
    assert scheduler.tick() == []  # 10:00 was before the schedule existed; 10:30 not yet
    clock.t = at(10, 30, 2)
    (execution,) = scheduler.tick()
    assert execution.ok and execution.scheduled_time == at(10, 30) and execution.missed == 0
    assert runner.calls[0]["parameters"] == {"epochs": 2} and runner.calls[0]["check"] is False
    assert runner.calls[0]["path"] == project.path / NB and runner.calls[0]["name"] == "half-hourly @ 2024-01-01 10:30"
    clock.t = at(10, 45)
    assert scheduler.tick() == [] and len(runner.calls) == 1
    row = schedule_runs(project, "half-hourly").iloc[0]
    assert row["status"] == "finished" and row["run_id"] == execution.run_id
    assert row["output_sha256"] == project.get_run(execution.run_id).artifact_sha("notebook.ipynb")
    assert schedules_frame(project, now=clock.t).loc[0, "last_status"] == "finished"


def test_a_restart_in_the_same_slot_does_not_fire_again(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    first = FakeRunner()
    assert len(make(project, Clock(at(10, 30, 1)), first).run(once=True)) == 1
    again = FakeRunner()  # a new scheduler process, same minute, and a bit later in the same slot
    assert make(project, Clock(at(10, 30, 1)), again).run(once=True) == []
    assert make(project, Clock(at(10, 59, 59)), again).run(once=True) == []
    assert again.calls == [] and len(schedule_runs(project)) == 1


def test_missed_slots_coalesce_into_the_most_recent_one(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    runner = FakeRunner()
    scheduler = make(project, Clock(at(10, 30, 1)), runner)
    scheduler.tick()
    scheduler.clock = Clock(at(13, 5))  # down from 10:31 to 13:05: 11:00, 11:30, 12:00, 12:30 and 13:00 passed
    (execution,) = scheduler.tick()
    assert execution.scheduled_time == at(13, 0) and execution.missed == 4
    assert len(runner.calls) == 2
    assert schedule_runs(project)["missed"].tolist() == [4, 0]


def test_a_slot_is_claimed_once_even_by_two_schedulers(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    a, b = make(project, Clock(at(10, 31))), make(project, Clock(at(10, 31)))
    ((schedule, slot, missed),) = a.due()
    assert b.due() == a.due()
    assert a.claim(schedule, slot, missed) is not None
    assert b.claim(schedule, slot, missed) is None  # the UNIQUE (schedule, slot) pair, or the later-slot check
    assert b.claim(schedule, slot - 1800, 0) is None  # an older slot after a newer one was claimed


def test_claiming_a_removed_schedule_does_nothing(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    scheduler = make(project, Clock(at(10, 31)))
    ((schedule, slot, missed),) = scheduler.due()
    remove_schedule(project, "s")
    assert scheduler.claim(schedule, slot, missed) is None


def _left_running(project, pid, run=None):
    """A claimed slot as a scheduler process ``pid`` left it (claimed at 10:30 of the fake clock)."""
    crashed = make(project, Clock(at(10, 30, 1)))
    ((schedule, slot, missed),) = crashed.due()
    execution_id = crashed.claim(schedule, slot, missed)
    with project.db.transaction() as conn:
        conn.execute("UPDATE schedule_runs SET pid = ?, run_id = ? WHERE id = ?",
                     (pid, None if run is None else run.id, execution_id))
        if run is not None:
            conn.execute("UPDATE runs SET pid = ?, pid_started = NULL WHERE id = ?", (pid, run.id))
    return execution_id


def _dead_pid():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    return dead.pid


def test_an_execution_left_running_by_a_dead_scheduler_is_marked_failed_not_rerun(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    pid = _dead_pid()
    run = project.start_run(name="interrupted")  # the notebook run, recorded by the scheduler's process
    _left_running(project, pid, run)
    runner = FakeRunner()
    scheduler = make(project, Clock(at(10, 31)), runner)  # an open Project: recover() ends the slot
    assert scheduler.recover() == 1
    assert scheduler.run(once=True) == []
    row = schedule_runs(project).iloc[0]
    assert row["status"] == "failed" and runner.calls == []
    assert row["error"].startswith(f"the scheduler (pid {pid} on ") and "ended while this slot ran" in row["error"]
    assert f"its notebook run {run.id[:8]} is crashed" in row["error"] and "not run again" in row["error"]
    assert run.status == "crashed" and run.info()["error"].startswith(f"the scheduler (pid {pid} on ")


def test_opening_the_project_ends_the_slot_of_a_dead_scheduler(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    pid = _dead_pid()
    execution_id = _left_running(project, pid)
    Project(project.path)  # any open: the CLI, the dashboard, a notebook
    row = schedule_runs(project).iloc[0]
    assert (row["id"], row["status"]) == (execution_id, "failed") and f"(pid {pid} on " in row["error"]


def test_a_slot_whose_notebook_ended_before_the_scheduler_died_takes_the_runs_status(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    run = project.start_run(name="done")
    run.log_artifact("notebook.ipynb", b"{}", kind="notebook")
    run.finish("finished")  # the notebook ended; the scheduler died before recording the slot
    _left_running(project, _dead_pid(), run)
    Project(project.path)
    row = schedule_runs(project).iloc[0]
    assert (row["status"], row["error"], row["run_id"]) == ("finished", None, run.id)
    assert row["output_sha256"] == run.artifact_sha("notebook.ipynb")


def test_a_reused_scheduler_pid_does_not_keep_the_slot_running(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # alive, but started after the slot was claimed (10:30 of 2024): not the scheduler that claimed it
        _left_running(project, other.pid)
        Project(project.path)
        assert schedule_runs(project).iloc[0]["status"] == "failed"
    finally:
        other.kill()
        other.wait()


def test_the_scheduler_start_time_recorded_with_the_notebook_run_tells_a_reused_pid(project):
    from tesla_lab.store.liveness import process_start_time

    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = project.start_run(name="nb")
        _left_running(project, other.pid, run)
        started = process_start_time(other.pid)
        with project.db.transaction() as conn:  # claimed "now": only the start time can tell
            conn.execute("UPDATE schedule_runs SET claimed = ?", (time.time(),))
            conn.execute("UPDATE runs SET pid_started = ?", (started,))
        Project(project.path)
        assert schedule_runs(project).iloc[0]["status"] == "running"  # the same process: alive
        with project.db.transaction() as conn:
            conn.execute("UPDATE runs SET pid_started = ?", (started - 3600,))
        Project(project.path)
        assert schedule_runs(project).iloc[0]["status"] == "failed"  # pid reused since
        assert run.status == "crashed"
    finally:
        other.kill()
        other.wait()


def test_the_slot_of_a_living_scheduler_is_left_running(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    _left_running(project, 1)  # pid 1 started before any claim
    with project.db.transaction() as conn:
        conn.execute("UPDATE schedule_runs SET claimed = ?", (time.time(),))
    Project(project.path)
    assert schedule_runs(project).iloc[0]["status"] == "running"


def test_a_failing_execution_is_recorded_and_the_next_schedule_still_fires(project):
    add_schedule(project, "a", "@hourly", project.path / NB, now=at(10, 7))
    add_schedule(project, "b", "@hourly", project.path / NB, now=at(10, 7))
    calls = []

    def runner(path, parameters, **kw):
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError("a bug in the runner")
        return FakeRunner(status="failed", error="ValueError: boom")(path, parameters, **kw)

    executions = make(project, Clock(at(11, 0, 1)), runner).tick()
    assert [(e.schedule, e.status) for e in executions] == [("a", "failed"), ("b", "failed")]
    assert "RuntimeError: a bug in the runner" in executions[0].error
    assert executions[1].error == "ValueError: boom" and executions[1].run_id is not None


def test_a_config_error_at_run_time_fails_the_execution(project):
    add_schedule(project, "a", "@hourly", project.path / NB, now=at(10, 7))
    (project.path / NB).unlink()
    (execution,) = make(project, Clock(at(11, 0, 1)), runner=sched.notebooks.run).tick()
    assert execution.status == "failed" and "does not exist" in execution.error and execution.run_id is None


def test_the_loop_fires_each_slot_once_and_sleeps_until_the_next(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    clock, runner, sleeps = Clock(at(10, 25)), FakeRunner(), []
    scheduler = make(project, clock, runner, max_wait=600)

    def sleep(seconds):
        sleeps.append(seconds)
        clock.t += seconds
        if clock.t > at(11, 10):
            scheduler.stop()

    scheduler._sleep = sleep
    executions = scheduler.run()
    assert [e.scheduled_time for e in executions] == [at(10, 30), at(11, 0)]
    assert all(0 < s <= 600 for s in sleeps)
    assert sleeps[0] == pytest.approx(300.01)  # until just past 10:30, then capped at max_wait


def test_sleeps_are_bounded_by_max_wait(project):
    add_schedule(project, "s", "0 3 * * *", project.path / NB, now=at(10, 7))
    scheduler = make(project, Clock(at(10, 8)), max_wait=30)
    assert scheduler.seconds_until_next() == 30
    assert make(project, Clock(at(2, 59, 50, day=2)), max_wait=30).seconds_until_next() == pytest.approx(10)


def test_sigterm_stops_the_loop_cleanly_and_restores_the_handler(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    before = signal.getsignal(signal.SIGTERM)
    scheduler = make(project, Clock(at(10, 8)))
    scheduler._sleep = lambda seconds: os.kill(os.getpid(), signal.SIGTERM)
    assert scheduler.run() == []
    assert scheduler.stopping and signal.getsignal(signal.SIGTERM) is before


def test_a_stop_while_a_notebook_runs_is_passed_to_the_runner(project):
    add_schedule(project, "s", "@hourly", project.path / NB, now=at(10, 7))
    scheduler = make(project, Clock(at(11, 0, 1)))
    seen = []

    def runner(path, parameters, *, cancel, **kw):
        scheduler.stop()  # SIGTERM arrives while the notebook runs
        seen.append(cancel())
        return FakeRunner(status="stopped", error="stopped on request")(path, parameters, cancel=cancel, **kw)

    scheduler.runner = runner
    (execution,) = scheduler.tick()
    assert seen == [True] and execution.status == "stopped"


def test_a_disabled_schedule_does_not_fire(project):
    add_schedule(project, "s", "@hourly", project.path / NB, now=at(10, 7))
    with project.db.transaction() as conn:
        conn.execute("UPDATE schedules SET enabled = 0")
    assert make(project, Clock(at(11, 0, 1))).tick() == []


def test_scheduler_refuses_a_non_positive_max_wait(project):
    with pytest.raises(ConfigError, match="max_wait is seconds"):
        Scheduler(project, max_wait=0)


# ------------------------------------------------------------------------------------------------- migration
def test_a_version_1_store_gains_the_schedule_tables_and_keeps_its_runs(tmp_path):
    from tesla_lab.store.db import MIGRATIONS, Database

    path = tmp_path / "store.db"
    old = Database(path, migrations=MIGRATIONS[:1])
    with old.transaction() as conn:
        conn.execute("INSERT INTO runs (id, name, status, created) VALUES ('r1', 'old', 'finished', 0)")
    old.close()
    db = Database(path)
    assert db.schema_version == len(MIGRATIONS) >= 2
    tables = {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schedules", "schedule_runs"} <= tables
    assert db.query_one("SELECT name FROM runs WHERE id = 'r1'")["name"] == "old"


def test_the_store_itself_refuses_a_second_claim_of_a_slot(project):
    add_schedule(project, "s", "*/30 * * * *", project.path / NB, now=at(10, 7))
    scheduler = make(project, Clock(at(10, 31)))
    ((schedule, slot, missed),) = scheduler.due()
    assert scheduler.claim(schedule, slot, missed) is not None
    # even when the later-slot check is bypassed, the UNIQUE (schedule_id, scheduled_time) pair refuses the insert
    scheduler._last_slot = lambda query, schedule_id: None
    assert scheduler.claim(schedule, slot, missed) is None
    assert len(schedule_runs(project)) == 1


def test_removing_a_schedule_deletes_its_history_but_keeps_the_runs(project):
    add_schedule(project, "s", "@hourly", project.path / NB, now=at(10, 7))
    (execution,) = make(project, Clock(at(11, 0, 1))).tick()
    remove_schedule(project, "s")
    assert schedule_runs(project).empty
    assert project.get_run(execution.run_id).status == "finished"
