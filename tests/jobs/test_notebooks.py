"""Papermill batch runs: parameter parsing and checking, the papermill command, stopping, and one real run of
notebooks/train.ipynb recorded in the store."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError
from tesla_lab.jobs import notebooks
from tesla_lab.jobs.notebooks import (
    KERNEL_NAME,
    NotebookError,
    check_parameters,
    ensure_kernel,
    notebook_parameters,
    papermill_command,
    parse_parameters,
    parse_value,
    run,
)
from tesla_lab.store import Project

REPO = Path(__file__).resolve().parents[2]
TRAIN_NB = REPO / "notebooks" / "train.ipynb"


def write_notebook(path, params_source, *cells, kernel=KERNEL_NAME):
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(params_source)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(c) for c in cells)]
    if kernel:
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": "TESLA Lab", "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def project(tmp_path):
    return Project.init(tmp_path / "proj")


@pytest.fixture
def small_nb(tmp_path):
    return write_notebook(tmp_path / "small.ipynb", "epochs = 2\nlr = 0.1\nname = 'a'", "x = epochs * lr")


# ------------------------------------------------------------------------------------------------ parameters
@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=12), st.integers().map(str), st.floats(allow_nan=False).map(repr),
                 st.sampled_from(["True", "False", "None", "1e-3", "-0.5", " 7 ", "1_000", "nan", "inf", "0x10"])))
def test_parse_value_reads_text_exactly_like_papermills_cli(text):
    from papermill.cli import _resolve_type

    expected = _resolve_type(text)
    got = parse_value(text)
    assert type(got) is type(expected)
    assert got == expected or (got != got and expected != expected)  # NaN


def test_parse_parameters_merges_yaml_then_p_then_r():
    params = parse_parameters([("epochs", "5"), ("lr", "0.01"), ("name", "x")], raw=[("name", "007")],
                              yaml_text="model: {hidden_sizes: [16]}\nepochs: 1")
    assert params == {"model": {"hidden_sizes": [16]}, "epochs": 5, "lr": 0.01, "name": "007"}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"pairs": [("2x", "1")]}, "parameter name '2x' is not a Python identifier"),
    ({"pairs": [("a",)]}, "-p takes a NAME and a VALUE"),
    ({"yaml_text": "[1, 2]"}, "-y takes a YAML mapping"),
    ({"yaml_text": "a: [1"}, "-y takes a YAML mapping.*could not read"),
])
def test_parse_parameters_refuses_bad_input(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        parse_parameters(**kwargs)


def test_parse_value_refuses_non_text():
    with pytest.raises(ConfigError, match="a -p value is text; got int 5"):
        parse_value(5)


def test_notebook_parameters_lists_the_parameters_cell(small_nb):
    declared = notebook_parameters(small_nb)
    assert list(declared) == ["epochs", "lr", "name"]
    assert declared["lr"]["default"] == "0.1"


def test_notebook_parameters_reads_a_notebook_without_kernel_metadata(tmp_path):
    path = write_notebook(tmp_path / "bare.ipynb", "epochs = 2", kernel=None)
    assert list(notebook_parameters(path)) == ["epochs"]


def test_notebook_parameters_refuses_a_file_that_is_not_a_notebook(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="could not read the parameters of notebook .*broken.ipynb"):
        notebook_parameters(path)


def test_train_notebook_declares_the_training_parameters():
    declared = notebook_parameters(TRAIN_NB)
    for name in ("dataset", "target", "family", "model", "epochs", "lr", "device", "seed", "run_name",
                 "project_dir", "tesla_run_id"):
        assert name in declared


def test_check_parameters_names_the_unknown_one_and_the_valid_ones(small_nb):
    assert check_parameters(small_nb, {"epochs": 5}) == {"epochs": 5}
    with pytest.raises(ConfigError, match=r"unknown parameter 'epoch' for notebook small.ipynb \(did you mean "
                                          r"'epochs'\?\); valid parameters: epochs, lr, name"):
        check_parameters(small_nb, {"epoch": 5})


def test_check_parameters_refuses_parameters_for_a_notebook_without_a_parameters_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "language": "python", "display_name": "x"}
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, str(path))
    assert check_parameters(path, {}) == {}
    with pytest.raises(ConfigError, match="plain.ipynb has no cell tagged 'parameters'.*got 'x'"):
        check_parameters(path, {"x": 2})


@pytest.mark.parametrize(("notebook", "match"), [
    ("missing.ipynb", r"notebook 'missing.ipynb' does not exist .*e.g. notebooks/train.ipynb"),
    ("", "a notebook is given by its path"),
])
def test_missing_notebook_is_a_clear_error(notebook, match):
    with pytest.raises(ConfigError, match=match):
        notebook_parameters(notebook)


def test_find_notebook_tries_the_current_folder_then_the_project(project, small_nb, tmp_path, monkeypatch):
    target = project.path / "notebooks" / "p.ipynb"
    target.write_bytes(small_nb.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert notebooks.find_notebook("small.ipynb", project.path) == small_nb  # here first
    assert notebooks.find_notebook("notebooks/p.ipynb", project.path) == target  # then in the project
    with pytest.raises(ConfigError, match="notebook 'notebooks/p.ipynb' does not exist"):
        notebooks.find_notebook("notebooks/p.ipynb")


def test_a_folder_or_non_ipynb_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        notebook_parameters(tmp_path)
    (tmp_path / "nb.py").write_text("x = 1")
    with pytest.raises(ConfigError, match="is not a .ipynb file"):
        notebook_parameters(tmp_path / "nb.py")


# --------------------------------------------------------------------------------------------- the command
def test_papermill_command_is_an_argument_list_with_kernel_timeouts_and_typed_parameters():
    cmd = papermill_command("in.ipynb", "out.ipynb", {"epochs": 5, "lr": 0.01, "device": "cpu", "model": {"a": [1]}},
                            kernel="k", cwd="/p", execution_timeout=30, start_timeout=10)
    assert cmd[:3] == [sys.executable, "-m", "papermill"]
    assert cmd[3:11] == ["in.ipynb", "out.ipynb", "-k", "k", "--log-output", "--no-progress-bar", "--start-timeout",
                         "10"]
    assert cmd[cmd.index("--execution-timeout") + 1] == "30" and cmd[cmd.index("--cwd") + 1] == "/p"
    tail = cmd[cmd.index("--cwd") + 2:]
    assert tail == ["-p", "epochs", "5", "-p", "lr", "0.01", "-r", "device", "cpu", "-y", "{model: {a: [1]}}"]


def test_papermill_command_refuses_a_non_positive_execution_timeout():
    with pytest.raises(ConfigError, match="execution_timeout is seconds per cell"):
        papermill_command("in.ipynb", "out.ipynb", execution_timeout=0)


def test_papermill_reads_the_command_back_to_the_same_values(tmp_path):
    """Papermill's own CLI (prepare-only: no kernel starts) injects exactly the values we passed."""
    from click.testing import CliRunner
    from papermill.cli import papermill

    params = {"i": 5, "neg": -0.5, "tiny": 1e-5, "inf": float("inf"), "flag": False, "none": None,
              "digits": "5", "word_true": "True", "text": "-0.5", "items": [1, "b"], "nested": {"a": [1, 2.5]}}
    source = write_notebook(tmp_path / "in.ipynb", "\n".join(f"{k} = 0" for k in params))
    out = tmp_path / "out.ipynb"
    cmd = papermill_command(source, out, params, kernel="python3")
    result = CliRunner().invoke(papermill, [*cmd[3:], "--prepare-only"])
    assert result.exit_code == 0, result.output
    assert nbformat.read(str(out), as_version=4).metadata.papermill.parameters == params


def test_ensure_kernel_registers_this_python():
    folder = Path(ensure_kernel())
    spec = json.loads((folder / "kernel.json").read_text())
    assert folder.name == KERNEL_NAME
    assert Path(spec["argv"][0]).exists()


def test_ensure_kernel_refuses_a_bad_name():
    with pytest.raises(ConfigError, match="a kernel name is letters, digits.*got 'a b'"):
        ensure_kernel("a b")


# ------------------------------------------------------------------------------------- refused before running
def test_unknown_parameter_is_refused_before_anything_runs(project, small_nb):
    with pytest.raises(ConfigError, match="unknown parameter 'epoch'.*valid parameters: epochs, lr, name"):
        run(small_nb, {"epoch": 3}, project=project)
    assert project.runs().empty  # no run was created, nothing executed


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"parameters": {"tesla_run_id": "x"}}, "'tesla_run_id' is set by the runner"),
    ({"kernel": "no-such-kernel"}, "no Jupyter kernel named 'no-such-kernel'; installed kernels: .*tesla-lab"),
    ({"timeout": 0}, "timeout is seconds"),
])
def test_run_refuses_bad_options_before_running(project, tmp_path, kwargs, match):
    path = write_notebook(tmp_path / "t.ipynb", "epochs = 1\ntesla_run_id = None")
    ensure_kernel()
    with pytest.raises(ConfigError, match=match):
        run(path, project=project, **kwargs)
    assert project.runs().empty


def test_missing_notebook_is_refused_by_run(project):
    with pytest.raises(ConfigError, match="notebook 'nope.ipynb' does not exist"):
        run("nope.ipynb", project=project)


# ------------------------------------------------------------------------------------------- stop / timeout
def _sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def test_a_cancel_request_stops_the_process_group(project):
    nb_run = project.start_run(name="nb")
    proc = _sleeper()
    code, status, error = notebooks._wait(proc, nb_run, time.monotonic(), None, cancel=lambda: True)
    assert status == "stopped" and error == "stopped on request"
    assert proc.poll() is not None


def test_the_stores_stop_flag_stops_the_notebook(project):
    nb_run = project.start_run(name="nb")
    nb_run.request_stop()
    proc = _sleeper()
    _, status, _ = notebooks._wait(proc, nb_run, time.monotonic() - 5, None, cancel=None)
    assert status == "stopped" and proc.poll() is not None


def test_a_notebook_past_its_timeout_is_killed_and_failed(project):
    nb_run = project.start_run(name="nb")
    proc = _sleeper()
    _, status, error = notebooks._wait(proc, nb_run, time.monotonic() - 10, 1.0, cancel=None)
    assert status == "failed" and "timed out" in error and "timeout=1 s" in error
    assert proc.poll() is not None


def test_runs_left_running_by_a_killed_kernel_are_ended(project):
    nb_run = project.start_run(name="nb")
    orphan = project.start_run(name="training")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with project.db.transaction() as conn:
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead.pid, orphan.id))
    alive = project.start_run(name="other")  # this process: alive, left alone
    elsewhere = project.start_run(name="on-another-host")  # a shared store: its pid means nothing on this machine
    with project.db.transaction() as conn:
        conn.execute("UPDATE runs SET pid = ?, host = 'gpu-node-7' WHERE id = ?", (dead.pid, elsewhere.id))
    notebooks._end_orphans(project, nb_run, "stopped")
    assert orphan.status == "stopped" and "ended with the notebook run" in orphan.info()["error"]
    assert alive.status == "running" and elsewhere.status == "running"


# ------------------------------------------------------------------------------------------- real papermill
@pytest.mark.slow
def test_train_notebook_runs_with_papermill_and_is_linked_to_its_training_run(project):
    result = run(TRAIN_NB, {"epochs": 2, "lr": 0.02, "model": {"hidden_sizes": [8], "tt_rank": 2}, "device": "cpu",
                            "run_name": "nb-iris"}, project=project, execution_timeout=300)
    assert result.ok and result.returncode == 0 and result.error is None
    nb_run = project.get_run(result.run_id)
    assert nb_run.status == "finished"
    assert nb_run.config["kind"] == "notebook" and nb_run.config["parameters"]["epochs"] == 2
    assert nb_run.params()["training_run_id"] == result.training_run_id
    assert set(nb_run.artifacts()["name"]) == {"notebook.ipynb", "papermill.log"}

    training = project.get_run(result.training_run_id)
    assert training.status == "finished" and training.name == "nb-iris"
    assert training.config["epochs"] == 2 and training.config["model"]["tt_rank"] == 2
    history = training.history()
    assert len(history) == 2 and "loss" in history.columns
    assert 0.0 <= training.summary()["test_accuracy"] <= 1.0
    # the executed notebook is stored with both runs (one file, content-addressed)
    assert training.artifact_sha("notebook.ipynb") == nb_run.artifact_sha("notebook.ipynb")
    executed = nbformat.reads(nb_run.load_artifact("notebook.ipynb").decode(), as_version=4)
    assert executed.metadata.papermill.parameters["tesla_run_id"] == nb_run.id
    assert executed.metadata.papermill.parameters["project_dir"] == str(project.path)
    assert not executed.metadata.papermill.exception
    assert result.output.is_file() and result.output.parent == project.path / ".tesla" / "notebooks"


@pytest.mark.slow
def test_a_failing_notebook_ends_failed_with_the_cell_error(project, tmp_path):
    path = write_notebook(tmp_path / "boom.ipynb", "x = 1", "raise ValueError(f'bad x {x}')")
    match = r"boom.ipynb failed \(run \w+\): ValueError: bad x 7 \(at In \[\d+\]\)"
    with pytest.raises(NotebookError, match=match) as info:
        run(path, {"x": 7}, project=project, execution_timeout=120)
    result = info.value.result
    assert result.status == "failed" and result.returncode != 0
    nb_run = project.get_run(result.run_id)
    assert nb_run.status == "failed" and "ValueError: bad x 7" in nb_run.info()["error"]
    assert "notebook.ipynb" in set(nb_run.artifacts()["name"])
    assert os.path.getsize(result.log) > 0
