"""TESLA document 001 ("A Technical Overview"): its five pipeline snippets, run as one program.

The document imports each stage class but never creates the object it then calls (``ingest``, ``prepare``,
``train``, ``evaluate``, ``deploy``); the smallest fix, one line per stage marked ``# fix``, creates it with no
arguments. Everything else is the document's text. ``data.csv`` is the diabetes table (target: its last column).
"""

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from tesla_lab.serve import load_exported
from tesla_lab.store import Project
from tesla_lab.workflow import TrainedModel

SAMPLE = """\
from tesla.data import DataIngestion
ingest = DataIngestion()  # fix: the document never creates `ingest`
# Load data from a CSV file
data = ingest.load_csv('data.csv')
from tesla.data import DataPreparation
prepare = DataPreparation()  # fix
# Normalize data
data = prepare.normalize(data)
from tesla.model import ModelTraining
train = ModelTraining()  # fix
# Train a linear regression model
model = train.linear_regression(data)
from tesla.model import ModelEvaluation
evaluate = ModelEvaluation()  # fix
# Evaluate a linear regression model
evaluation = evaluate.linear_regression(data, model)
from tesla.model import ModelDeployment
deploy = ModelDeployment()  # fix
# Deploy a linear regression model
deploy.linear_regression(data, model)
"""


@pytest.fixture
def project_dir(tmp_path, monkeypatch):
    """A project folder holding data.csv, as the working directory; the fallback project must stay unused."""
    monkeypatch.setenv("TESLA_PIPELINE_DIR", str(tmp_path / "fallback"))
    Project.init(tmp_path / "proj", name="doc001")
    raw = load_diabetes(as_frame=True).frame  # 10 features, then 'target'
    raw.to_csv(tmp_path / "proj" / "data.csv", index=False)
    monkeypatch.chdir(tmp_path / "proj")
    return tmp_path / "proj"


def test_document_names_are_the_stage_classes():
    import tesla.data
    import tesla.model

    import tesla_lab.workflow.stages

    assert tesla.model is tesla_lab.workflow.stages
    assert tesla.model.ModelDeployment is tesla_lab.workflow.ModelDeployment
    assert tesla.data.DataPreparation is tesla_lab.data.DataPreparation


def test_fixes_are_only_the_missing_objects():
    fixes = [line for line in SAMPLE.splitlines() if "# fix" in line]
    assert [line.split(" = ")[0] for line in fixes] == ["ingest", "prepare", "train", "evaluate", "deploy"]
    assert len(SAMPLE.splitlines()) - len(fixes) == 15  # the document's 15 lines, unchanged


def test_document_pipeline_runs_end_to_end(project_dir, caplog):
    ns: dict = {}
    with caplog.at_level(logging.WARNING, logger="tesla_lab.workflow.stages"):
        exec(SAMPLE, ns)  # noqa: S102 - the document's own code, a constant
    raw = pd.read_csv(project_dir / "data.csv")
    data, model, evaluation = ns["data"], ns["model"], ns["evaluation"]

    # prepare.normalize standardized the 10 features and left the target (last column) alone
    features = [c for c in raw.columns if c != "target"]
    np.testing.assert_allclose(data[features].mean().to_numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(data[features].std(ddof=0).to_numpy(), 1.0, atol=1e-9)
    pd.testing.assert_series_equal(data["target"], raw["target"])

    # a linear model was trained in the project around the working directory, not in the fallback
    project = Project(project_dir)
    assert isinstance(model, TrainedModel) and model.family == "linear" and model.target == "target"
    assert (model.name, model.version, str(model.project.path)) == ("linear-regression", 1, str(project.path))
    runs = project.runs()
    assert runs["status"].tolist() == ["finished"] and runs["dataset"].tolist() == ["data"]
    assert not (project_dir.parent / "fallback").exists()
    assert model.metrics["r2"] > 0.25  # held-out diabetes rows (OLS reaches ~0.3-0.5 depending on the split)

    # evaluation: the regression metrics of the model's predictions on the rows passed
    assert sorted(evaluation) == ["mae", "mse", "r2", "rmse"]
    pred = model.predict(data)
    assert evaluation["r2"] == pytest.approx(r2_score(data["target"], pred), rel=1e-6)
    assert evaluation["mse"] == pytest.approx(mean_squared_error(data["target"], pred), rel=1e-6)
    assert evaluation["mae"] == pytest.approx(mean_absolute_error(data["target"], pred), rel=1e-6)
    assert evaluation["rmse"] == pytest.approx(evaluation["mse"] ** 0.5)
    assert 0.4 < evaluation["r2"] < 0.6  # mostly training rows: the document's evaluation flatters the model
    assert "evaluating linear-regression on the data it was trained on" in caplog.text

    # deploy: the version is in production and its export (under the project) loads and answers like the model
    assert project.registry.get_model("linear-regression", stage="production").version == 1
    exported = load_exported(project_dir / "exports" / "linear-regression-v1")
    answer = exported.predict(data[features].head(5))
    np.testing.assert_allclose(answer["predictions"], pred[:5], rtol=1e-4)
