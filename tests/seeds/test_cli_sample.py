"""Document 004's five commands, verbatim, as five real ``tesla`` processes in a new folder: create a project, load
``data.csv`` as dataset ``output``, train ``my_model`` with scikit-learn for 100 iterations, evaluate it on
``test.csv``, deploy it to production.

The document runs the commands one after another and shows no ``cd``; as ``tesla init``'s own output says, the
commands after it run inside the new project, where the user has put ``data.csv`` and ``test.csv``.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tesla_lab.store import Project

# verbatim from /work/shared/seeds/004_*.txt ("Using Tesla", steps 1-5)
SAMPLE = """\
$ tesla init my-project
$ tesla load -d data.csv -o output
$ tesla train -m my_model -f scikit-learn -p 100
$ tesla evaluate -m my_model -d test.csv
$ tesla deploy -m my_model -p production
"""

REPO = Path(__file__).resolve().parents[2]


def _commands():
    commands = [shlex.split(line.removeprefix("$ ")) for line in SAMPLE.splitlines()]
    assert [c[0] for c in commands] == ["tesla"] * 5
    return [c[1:] for c in commands]


def _tesla(args, cwd):
    """``tesla ARGS`` as its own process: this checkout first on PYTHONPATH, the rest of the environment inherited."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "tesla_lab.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow  # five Python processes, each importing torch: about 20 s of CPU
def test_the_documents_five_commands_succeed_in_order(tmp_path, iris_csv):
    init, load, train, evaluate, deploy = _commands()
    done = _tesla(init, tmp_path)
    assert done.returncode == 0, done.stderr
    project_dir = tmp_path / "my-project"
    assert done.stdout.startswith(f"created project 'my-project' in {project_dir}")
    assert (project_dir / "tesla.yaml").is_file() and (project_dir / "notebooks" / "train.ipynb").is_file()
    data, test = iris_csv
    (project_dir / "data.csv").write_bytes(data.read_bytes())
    (project_dir / "test.csv").write_bytes(test.read_bytes())

    outputs = []
    for args in (load, train, evaluate, deploy):
        done = _tesla(args, project_dir)
        assert done.returncode == 0, (args, done.stderr)
        outputs.append(done.stdout)
    loaded, trained, evaluated, deployed = outputs

    project = Project(project_dir)
    assert loaded.startswith("stored output v1: 120 rows x 6 columns")
    assert project.datasets.list_datasets()["name"].tolist() == ["output"]

    assert trained.startswith("trained my_model v1 on output@1")
    assert "sklearn:random_forest (scikit-learn)" in trained and "  iterations: 100 (n_estimators)\n" in trained
    (run_id,) = project.runs()["id"]
    params = project.get_run(run_id).params()
    # -p 100 is "100 iterations": a random forest's iterations are its trees
    assert (params["iterations"], params["model.n_estimators"], params["framework"]) == (100, 100, "scikit-learn")
    assert "epochs" not in params
    model = project.registry.get_model("my_model")
    assert model.metadata["family"] == "sklearn:random_forest"

    assert evaluated.startswith("my_model v1 (stage: none) on test.csv: 30 rows")
    accuracy = float(re.search(r"^accuracy\s+([0-9.]+)", evaluated, re.MULTILINE).group(1))
    assert accuracy > 0.8 and re.search(r"^f1_macro\s+[0-9.]+", evaluated, re.MULTILINE)

    assert deployed.strip() == "my_model v1 → production"
    assert project.registry.get_model("my_model", stage="production").version == 1
