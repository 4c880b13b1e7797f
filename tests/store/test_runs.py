"""Run: creation, params, metrics, artifacts, status lifecycle, stop flag, context manager, input errors."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.store import NotFoundError, Project, Run
from tesla_lab.store.runs import to_json


@pytest.fixture
def project(tmp_path, store_engine):
    return Project.init(tmp_path / "proj")


def test_start_run_records_who_what_and_when(project):
    run = project.start_run(name="exp", config={"layers": [{"type": "tt", "rank": 4}]}, params={"lr": 0.1})
    info = run.info()
    assert len(run.id) == 32 and int(run.id, 16) >= 0
    assert info["name"] == "exp" and info["status"] == "running"
    assert info["config"] == {"layers": [{"type": "tt", "rank": 4}]}
    assert info["pid"] == os.getpid() and info["started"] is not None and info["ended"] is None
    assert info["created"].tzinfo is not None
    assert run.params() == {"lr": 0.1}
    assert run.config == {"layers": [{"type": "tt", "rank": 4}]}


def test_a_run_without_a_name_gets_one(project):
    assert project.start_run().name.startswith("run-")


def test_a_queued_run_starts_when_entered(project):
    run = project.start_run(status="queued")
    assert run.status == "queued" and run.info()["started"] is None
    with run:
        assert run.status == "running"
    assert run.status == "finished"


def test_start_run_refuses_final_statuses_and_non_dict_config(project):
    with pytest.raises(ConfigError, match="unknown run status 'finished'; choose one of: queued, running"):
        project.start_run(status="finished")
    with pytest.raises(ConfigError, match="config must be a dict"):
        project.start_run(config=[1, 2])


def test_metrics_are_stored_per_key_and_step(project):
    run = project.start_run()
    run.log_metrics({"loss": 1.0, "acc": 0.5}, step=0)
    run.log_metrics({"loss": 0.5, "acc": 0.75}, step=1)
    frame = run.metrics()
    assert list(frame.columns) == ["key", "step", "value", "timestamp"]
    assert frame[["key", "step", "value"]].values.tolist() == [
        ["acc", 0, 0.5], ["acc", 1, 0.75], ["loss", 0, 1.0], ["loss", 1, 0.5]]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert run.summary() == {"acc": 0.75, "loss": 0.5}


def test_logging_the_same_step_again_replaces_the_value(project):
    run = project.start_run()
    run.log_metric("loss", 1.0, step=3)
    run.log_metric("loss", 0.25, step=3)
    assert run.metrics()[["step", "value"]].values.tolist() == [[3, 0.25]]


def test_step_none_continues_after_the_last_step(project):
    run = project.start_run()
    run.log_metric("loss", 1.0)
    run.log_metric("loss", 0.9)
    run.log_metric("loss", 0.8, step=10)
    run.log_metric("loss", 0.7)
    assert run.metrics()["step"].tolist() == [0, 1, 10, 11]


def test_numpy_tensor_nan_and_inf_values_are_accepted(project):
    run = project.start_run()
    run.log_metrics({"a": np.float32(0.5), "b": torch.tensor(2.0), "c": float("nan"), "d": float("inf"), "e": 3},
                    step=np.int64(0))
    summary = run.summary()
    assert summary["a"] == 0.5 and summary["b"] == 2.0 and math.isnan(summary["c"]) and summary["d"] == math.inf
    assert summary["e"] == 3.0


@pytest.mark.parametrize(("call", "match"), [
    (lambda r: r.log_metric("loss", "0.5", 0), r"metric 'loss' must be a number; got '0.5'"),
    (lambda r: r.log_metric("loss", None, 0), r"metric 'loss' must be a number; got None"),
    (lambda r: r.log_metric("loss", [1, 2], 0), r"metric 'loss' must be a number; got list"),
    (lambda r: r.log_metric("", 1.0, 0), r"a metric name must be a non-empty string; got ''"),
    (lambda r: r.log_metric("loss", 1.0, -1), r"step must be an integer >= 0 .*; got -1"),
    (lambda r: r.log_metric("loss", 1.0, 1.5), r"step must be an integer >= 0 .*; got 1.5"),
    (lambda r: r.log_metric("loss", 1.0, True), r"step must be an integer >= 0 .*; got True"),
    (lambda r: r.log_metrics([("loss", 1.0)], 0), r"log_metrics takes a dict of name → number; got list"),
])
def test_bad_metrics_are_config_errors_and_nothing_is_written(project, call, match):
    run = project.start_run()
    with pytest.raises(ConfigError, match=match):
        call(run)
    assert run.metrics().empty


def test_params_are_json_values_and_can_be_replaced(project, tmp_path):
    run = project.start_run()
    run.log_params({"ranks": (4, 8), "n": np.int64(3), "path": tmp_path, "opt": {"name": "adam"}})
    run.log_param("n", 5)
    assert run.params() == {"n": 5, "opt": {"name": "adam"}, "path": str(tmp_path), "ranks": [4, 8]}


@pytest.mark.parametrize(("params", "match"), [
    ({"obj": object()}, r"param 'obj' must be JSON-like data .*got object"),
    ({"": 1}, r"a param name must be a non-empty string; got ''"),
    ([("a", 1)], r"log_params takes a dict of name → value; got list"),
])
def test_bad_params_are_config_errors(project, params, match):
    run = project.start_run()
    with pytest.raises(ConfigError, match=match):
        run.log_params(params)
    assert run.params() == {}


def test_to_json_converts_tensors_and_sets():
    assert to_json({"t": torch.tensor([1, 2]), "s": {2, 1}}) == '{"t": [1, 2], "s": [1, 2]}'


def test_history_is_one_row_per_step(project):
    run = project.start_run()
    for step in range(3):
        run.log_metrics({"loss": 1.0 / (step + 1), "acc": 0.1 * step}, step=step)
    wide = run.history()
    assert list(wide.index) == [0, 1, 2] and sorted(wide.columns) == ["acc", "loss"]
    assert wide.loc[2, "loss"] == pytest.approx(1 / 3)


def test_metrics_can_be_filtered_by_key_and_time(project):
    run = project.start_run()
    run.log_metrics({"loss": 1.0, "acc": 0.5}, step=0)
    cutoff = run.metrics()["timestamp"].max().timestamp()
    run.log_metrics({"loss": 0.5, "acc": 0.6}, step=1)
    assert run.metrics(keys="loss")["key"].unique().tolist() == ["loss"]
    newer = run.metrics(since=cutoff)
    assert sorted(newer["step"].tolist()) == [1, 1]


def test_artifacts_from_bytes_and_files(project, tmp_path):
    run = project.start_run()
    src = tmp_path / "report.txt"
    src.write_text("accuracy 0.98")
    sha_bytes = run.log_artifact("raw.bin", b"\x00\x01", kind="data")
    sha_file = run.log_artifact("report", src)
    frame = run.artifacts()
    assert frame[["name", "kind", "sha256", "size"]].values.tolist() == [
        ["raw.bin", "data", sha_bytes, 2], ["report", "file", sha_file, 13]]
    assert run.load_artifact("raw.bin") == b"\x00\x01"
    assert run.artifact_path("report").read_text() == "accuracy 0.98"


def test_logging_an_artifact_name_again_points_it_to_the_new_content(project):
    run = project.start_run()
    run.log_artifact("notes", b"v1")
    run.log_artifact("notes", b"v2")
    assert run.load_artifact("notes") == b"v2" and len(run.artifacts()) == 1


def test_unknown_artifact_lists_the_existing_names(project):
    run = project.start_run()
    run.log_artifact("a", b"1")
    with pytest.raises(NotFoundError, match=r"has no artifact 'b'; it has: a"):
        run.load_artifact("b")


@pytest.mark.parametrize(("name", "source", "match"), [
    ("", b"x", "an artifact name must be a non-empty string"),
    ("x", 123, "log_artifact takes a file path or bytes; got int"),
])
def test_bad_artifacts_are_config_errors(project, name, source, match):
    with pytest.raises(ConfigError, match=match):
        project.start_run().log_artifact(name, source)


def test_log_model_stores_a_cpu_state_dict(project):
    run = project.start_run()
    model = torch.nn.Linear(3, 2)
    sha = run.log_model(model)
    state = run.artifact_store.load_torch(sha)
    assert torch.equal(state["weight"], model.weight.detach())
    assert run.artifacts()["kind"].tolist() == ["model"]
    with pytest.raises(ConfigError, match="log_model takes a torch.nn.Module or a state dict; got int"):
        run.log_model(3)


def test_latest_checkpoint_is_none_without_checkpoints_and_the_newest_otherwise(project):
    run = project.start_run()
    assert run.latest_checkpoint() is None
    run.log_artifact("checkpoint-epoch0001.pt", b"one", kind="checkpoint")
    run.log_artifact("checkpoint-epoch0002.pt", b"two", kind="checkpoint")
    assert Path(run.latest_checkpoint()).read_bytes() == b"two"


def test_finish_records_end_time_and_duration(project):
    run = project.start_run()
    run.finish("failed", error="out of memory")
    info = run.info()
    assert info["status"] == "failed" and info["error"] == "out of memory"
    assert info["ended"] >= info["started"] and info["duration"] >= 0


def test_status_names_are_checked(project):
    run = project.start_run()
    with pytest.raises(ConfigError, match="unknown run status 'done'; choose one of: queued, running, finished"):
        run.set_status("done")
    with pytest.raises(ConfigError, match="unknown run status 'running'; choose one of: finished, failed, stopped"):
        run.finish("running")
    assert run.status == "running"


def test_context_manager_marks_finished_or_failed_with_the_traceback(project):
    with project.start_run() as ok:
        pass
    assert ok.status == "finished"
    with pytest.raises(ValueError), project.start_run() as bad:
        raise ValueError("bad learning rate")
    assert bad.status == "failed"
    assert "ValueError: bad learning rate" in bad.info()["error"] and "Traceback" in bad.info()["error"]


def test_context_manager_marks_ctrl_c_as_stopped(project):
    with pytest.raises(KeyboardInterrupt), project.start_run() as run:
        raise KeyboardInterrupt
    assert run.status == "stopped"


def test_context_manager_keeps_a_final_status_set_inside(project):
    with project.start_run() as run:
        run.finish("stopped")
    assert run.status == "stopped"


def test_the_stop_flag_is_seen_by_another_handle_on_the_same_store(project):
    run = project.start_run()
    assert run.stop_requested() is False
    Project(project.path).get_run(run.id).request_stop()  # e.g. the UI, with its own connection
    assert run.stop_requested() is True
    run.clear_stop()
    assert run.stop_requested() is False


def test_a_deleted_run_raises_not_found(project):
    run = project.start_run()
    with project.db.transaction() as conn:
        conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
    with pytest.raises(NotFoundError, match=f"run {run.id} is not in"):
        run.info()
    with pytest.raises(NotFoundError, match="is not in"):
        run.finish()
    assert "<deleted>" in repr(run)


def test_runs_compare_by_id_and_repr_shows_name_and_status(project):
    run = project.start_run(name="r")
    assert run == Run(project.db, project.artifacts, run.id) and len({run, project.get_run(run.id)}) == 1
    assert repr(run) == f"Run(id={run.id[:8]!r}, name='r', status='running')"
