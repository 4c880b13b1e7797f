"""The new-user path from the issue, start to finish: in-process, as real processes, and in Python."""

import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from tesla_lab.store import Project
from tesla_lab.workflow import deploy_model, evaluate_model, load_dataset, train_model

EPOCHS = "30"  # enough for iris at the default learning rate, small enough to keep the suite fast


def _accuracy(stdout: str) -> float:
    match = re.search(r"^accuracy\s+([0-9.]+)", stdout, re.MULTILINE)
    assert match, stdout
    return float(match.group(1))


def _check_project(root):
    project = Project(root)
    production = project.registry.get_model("my_model", stage="production")
    runs = project.runs()
    assert production.version == 1 and production.metadata["family"] == "mlp"
    assert runs["status"].tolist() == ["finished"] and runs["test_accuracy"].iloc[0] > 0.8
    assert runs["dataset"].iloc[0] == "train" and runs["dataset_version"].iloc[0] == 1
    return project


def test_the_issue_sequence_in_process(tmp_path, iris_csv, tesla):
    data, test = iris_csv
    (tmp_path / "data.csv").write_bytes(data.read_bytes())
    (tmp_path / "test.csv").write_bytes(test.read_bytes())
    code, out, _ = tesla("init", "my-project", cwd=tmp_path)
    assert code == 0 and "created project 'my-project'" in out
    root = tmp_path / "my-project"
    code, out, _ = tesla("load", "-d", "../data.csv", "-o", "train", cwd=root)
    assert (code, out.split(":")[0]) == (0, "stored train v1")
    code, out, _ = tesla("train", "-m", "my_model", "-f", "torch", "-p", EPOCHS)
    assert code == 0 and out.startswith("trained my_model v1 on train@1") and "classes" in out
    code, out, _ = tesla("evaluate", "-m", "my_model", "-d", "../test.csv")
    assert code == 0 and "on ../test.csv: 30 rows" in out and _accuracy(out) > 0.8
    code, out, _ = tesla("deploy", "-m", "my_model", "-p", "production")
    assert (code, out.strip()) == (0, "my_model v1 → production")
    _check_project(root)
    code, out, _ = tesla("runs")
    assert code == 0 and "finished" in out and "test_accuracy" in out
    code, out, _ = tesla("models")
    assert code == 0 and re.search(r"my_model\s+1\s+production\s+mlp", out)


def _process(*args, cwd):
    """``python -m tesla_lab.cli ARGS`` as a real process (each one pays the torch import: a few seconds)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_repo_root(), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "tesla_lab.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_real_process_exits_1_with_a_one_line_error(tmp_path):
    Project.init(tmp_path / "my-project")
    config = (tmp_path / "my-project" / "tesla.yaml").read_bytes()
    again = _process("init", "my-project", cwd=tmp_path)  # one process only: each costs a torch import
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("error: a TESLA project already exists") and again.stderr.count("\n") == 1
    assert (tmp_path / "my-project" / "tesla.yaml").read_bytes() == config  # nothing overwritten


@pytest.mark.slow  # six Python processes: about 30 s on 2 busy cores, most of it importing torch
def test_the_issue_sequence_as_real_processes(tmp_path, iris_csv):
    data, test = iris_csv
    (tmp_path / "data.csv").write_bytes(data.read_bytes())
    (tmp_path / "test.csv").write_bytes(test.read_bytes())
    tesla = _process
    root = tmp_path / "my-project"
    steps = [(("init", "my-project"), tmp_path), (("load", "-d", "../data.csv", "-o", "train"), root),
             (("train", "-m", "my_model", "-f", "torch", "-p", EPOCHS), root),
             (("evaluate", "-m", "my_model", "-d", "../test.csv"), root),
             (("deploy", "-m", "my_model", "-p", "production"), root)]
    outputs = []
    for args, cwd in steps:
        done = tesla(*args, cwd=cwd)
        assert done.returncode == 0, (args, done.stderr)
        outputs.append(done.stdout)
    assert _accuracy(outputs[3]) > 0.8
    _check_project(root)
    missing = tesla("evaluate", "-m", "my_model", "-d", "../nope.csv", cwd=root)
    assert missing.returncode == 1 and missing.stderr.startswith("error: file not found")


def _repo_root() -> str:
    import tesla_lab

    return os.path.dirname(os.path.dirname(tesla_lab.__file__))


def test_the_same_flow_in_python(tmp_path, iris_csv):
    data, test = iris_csv
    project = Project.init(tmp_path / "my-project")
    load_dataset(project, str(data), "train")
    result = train_model(project, {"framework": "torch", "epochs": int(EPOCHS)}, name="my_model")
    assert result.dataset == "train@1" and result.bundle.target == "species"  # the last column
    scored = evaluate_model(project, "my_model", str(test))
    assert scored.metrics["accuracy"] > 0.8
    assert deploy_model(project, "my_model", "production").stage == "production"
    _check_project(project.path)
    predictions = result.bundle.predict(pd.read_csv(test))
    assert set(predictions) <= {"setosa", "versicolor", "virginica"}
