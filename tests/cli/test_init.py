"""``tesla init`` writes the starter training notebook (shipped in the package) so papermill runs and the JupyterLab
"New training notebook" action work in a brand-new project."""

from pathlib import Path

import pytest

from tesla_lab.store import Project
from tesla_lab.workflow import STARTER_NOTEBOOKS, create_project, template_notebook

nbformat = pytest.importorskip("nbformat", reason="the notebook checks need nbformat (tesla-lab[lab])")
papermill = pytest.importorskip("papermill", reason="the notebook checks need papermill (tesla-lab[lab])")

REPO = Path(__file__).resolve().parents[2]
PARAMETERS = ["dataset", "target", "framework", "family", "model", "epochs", "iterations", "lr", "batch_size",
              "optimizer", "device", "seed", "run_name", "nproc", "nodes", "node_rank", "master", "project_dir",
              "tesla_run_id"]


def test_the_packaged_template_is_the_repositorys_notebook():
    shipped = template_notebook("train.ipynb")
    assert Path(str(shipped)).parent == REPO / "tesla_lab" / "templates"  # inside the package: the wheel has it
    assert shipped.read_bytes() == (REPO / "notebooks" / "train.ipynb").read_bytes(), (
        "notebooks/train.ipynb and tesla_lab/templates/train.ipynb differ: edit one, copy it over the other")


def test_init_writes_a_valid_parameterized_training_notebook(tmp_path, tesla):
    code, out, _ = tesla("init", "my-project", cwd=tmp_path)
    assert code == 0 and "created project 'my-project'" in out
    written = tmp_path / "my-project" / "notebooks" / "train.ipynb"
    assert sorted(p.name for p in written.parent.iterdir()) == list(STARTER_NOTEBOOKS)
    assert written.read_bytes() == template_notebook().read_bytes()
    nb = nbformat.read(written, as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert list(papermill.inspect_notebook(str(written))) == PARAMETERS


def test_a_new_projects_lab_action_creates_a_training_notebook(tmp_path, tesla):
    from tesla_lab.jupyter import api

    assert tesla("init", "lab", cwd=tmp_path)[0] == 0
    project = Project(tmp_path / "lab")
    form = api.template_parameters(project, "notebooks/train.ipynb")
    assert [p["name"] for p in form["parameters"]] == PARAMETERS
    path = api.create_notebook(project, "notebooks/train.ipynb",
                               {"framework": "scikit-learn", "iterations": "50", "dataset": "wine"}, name="wine")
    assert path == project.notebooks_dir / "wine.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'framework = "scikit-learn"' in injected.source and "iterations = 50" in injected.source
    assert 'dataset = "wine"' in injected.source


def test_the_lab_action_in_an_older_project_reads_the_packaged_template(tmp_path):
    from tesla_lab.jupyter import api

    project = Project.init(tmp_path / "old")  # made without the starter notebooks
    path = api.create_notebook(project, "notebooks/train.ipynb", {"epochs": "3"})
    assert "epochs = 3" in nbformat.read(path, as_version=4).cells[2].source
    assert not (project.notebooks_dir / "train.ipynb").exists()  # nothing else written into the project


def test_init_over_a_project_changes_nothing_and_the_jupyter_button_adds_the_notebook(tmp_path):
    from tesla_lab.errors import StoreError
    from tesla_lab.jupyter import api

    project = api.init_project(tmp_path / "p", "p")
    assert (project.notebooks_dir / "train.ipynb").is_file()
    (project.notebooks_dir / "train.ipynb").write_text("mine")
    with pytest.raises(StoreError, match="a TESLA project already exists"):
        create_project(tmp_path / "p")
    assert (project.notebooks_dir / "train.ipynb").read_text() == "mine"
