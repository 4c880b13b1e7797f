"""The documents' model stages (``tesla.model``): training, evaluation and deployment through the workflow."""

import json
import logging
import urllib.request

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from tesla_lab.data import with_target
from tesla_lab.errors import ConfigError, DataError, NotFoundError
from tesla_lab.store import Project
from tesla_lab.workflow import ModelDeployment, ModelEvaluation, ModelTraining, open_stage_project
from tesla_lab.workflow.stages import PIPELINE_DIR_ENV
from tests.conftest import iris_frame

CLASSIFICATION_KEYS = ["accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return Project.init(tmp_path_factory.mktemp("stages"), name="stages")


@pytest.fixture(scope="module")
def binary():
    """200 rows, the label first (so only attrs can say it is the target), separable by a plane."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    label = np.where(X @ np.array([2.0, -1.0, 0.5]) > 0, "yes", "no")
    frame = pd.DataFrame({"label": label, **{f"x{i}": X[:, i] for i in range(3)}})
    return with_target(frame, "label")


@pytest.fixture(scope="module")
def logistic(project, binary):
    return ModelTraining(project, epochs=20).logistic_regression(binary, name="plane")


@pytest.fixture(scope="module")
def network(project):
    return ModelTraining(project).neural_network(iris_frame(), hidden_sizes=[16], epochs=15, batch_size=64,
                                                 lr=0.03, name="iris-net")


def test_logistic_regression_takes_the_target_from_attrs_and_scores_like_sklearn(logistic, binary):
    assert (logistic.family, logistic.target, logistic.bundle.classes) == ("logistic", "label", ["no", "yes"])
    assert logistic.metrics["accuracy"] > 0.85  # held-out rows
    evaluation = ModelEvaluation().logistic_regression(binary, logistic)
    assert sorted(evaluation) == CLASSIFICATION_KEYS
    pred = logistic.predict(binary)
    truth = binary["label"]
    assert evaluation["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert evaluation["precision_macro"] == pytest.approx(precision_score(truth, pred, average="macro"))
    assert evaluation["recall_macro"] == pytest.approx(recall_score(truth, pred, average="macro"))
    assert evaluation["f1_macro"] == pytest.approx(f1_score(truth, pred, average="macro"))
    assert evaluation["accuracy"] > 0.9


def test_neural_network_classifies_iris_text_labels(network, project):
    iris = iris_frame()
    assert (network.family, network.task, network.target) == ("mlp", "classification", "species")
    assert network.bundle.estimator.hparams["hidden_sizes"] == [16]
    evaluation = ModelEvaluation().neural_network(iris, network)
    assert sorted(evaluation) == CLASSIFICATION_KEYS
    assert evaluation["accuracy"] > 0.85
    assert set(network.predict(iris.head(10))) <= {"setosa", "versicolor", "virginica"}
    # the same model by its registry name, in the stage's project
    assert ModelEvaluation(project).neural_network(iris, "iris-net@1") == evaluation


def test_tt_rank_trains_a_tensor_train_network(project):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(64, 16)), columns=[f"f{i}" for i in range(16)])
    frame["y"] = frame.sum(axis=1)
    model = ModelTraining(project).neural_network(frame, hidden_sizes=[16], tt_rank=2, epochs=2, name="tt")
    assert (model.family, model.task, model.bundle.estimator.hparams["tt_rank"]) == ("tt_mlp", "regression", 2)
    assert sorted(ModelEvaluation().neural_network(frame, model)) == ["mae", "mse", "r2", "rmse"]


def test_each_method_takes_only_its_own_kind_of_model(logistic, binary):
    with pytest.raises(ConfigError, match=r"model 'plane' v1 is a logistic model; call \.logistic_regression"):
        ModelEvaluation().linear_regression(binary, logistic)
    with pytest.raises(ConfigError, match=r"\.neural_network\(\) takes a neural_network model"):
        ModelDeployment().neural_network(binary, logistic)
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        ModelEvaluation(logistic.project).logistic_regression(binary, "nope")


def test_evaluating_on_the_training_rows_warns(logistic, binary, caplog):
    with caplog.at_level(logging.WARNING, logger="tesla_lab.workflow.stages"):
        ModelEvaluation().logistic_regression(binary.iloc[:50], logistic)
        assert caplog.text == ""
        ModelEvaluation().logistic_regression(binary, logistic)
    assert "evaluating plane on the data it was trained on" in caplog.text


def test_training_input_is_checked_before_anything_is_stored(project, binary):
    before = len(project.runs())
    with pytest.raises(DataError, match="logistic_regression classifies, but target 'x0' looks continuous"):
        ModelTraining(project).logistic_regression(binary, target="x0")
    with pytest.raises(DataError, match="target column 'price' not found"):
        ModelTraining(project).linear_regression(binary, target="price")
    with pytest.raises(ConfigError, match="unknown training option 'epoch' \\(did you mean 'epochs'\\?\\)"):
        ModelTraining(project, epoch=3)
    with pytest.raises(ConfigError, match="option\\(s\\) family are set by the method itself"):
        ModelTraining(project, family="mlp")
    assert len(project.runs()) == before


def test_deploy_promotes_exports_and_serves_on_loopback(logistic, binary):
    rows = binary[["x0", "x1", "x2"]].head(4)
    with ModelDeployment(formats=("torchscript",)).logistic_regression(binary, logistic, serve=True) as deployed:
        assert (deployed.name, deployed.version, deployed.stage) == ("plane", 1, "production")
        assert deployed.url.startswith("http://127.0.0.1:")
        assert deployed.export_dir == logistic.project.path / "exports" / "plane-v1"
        assert deployed.formats == ("torchscript",)
        assert deployed.serve_command.startswith("tesla serve -m plane --version 1 --project ")
        request = urllib.request.Request(deployed.url + "/predict", method="POST",
                                         data=json.dumps({"rows": rows.to_dict("records")}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            served = json.loads(response.read())
        url = deployed.url
    assert deployed.url is None  # stopped on leaving the block
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/health", timeout=2)
    assert served["predictions"] == logistic.predict(rows).tolist()
    assert deployed.predict(binary.head(4))["predictions"] == served["predictions"]  # target column left out
    assert logistic.project.registry.get_model("plane", stage="production").version == 1


def test_deploy_checks_before_changing_the_registry(network, project):
    iris = iris_frame()
    with pytest.raises(DataError, match="the data lacks the model's feature column\\(s\\) 'lab'"):
        ModelDeployment().neural_network(iris.drop(columns="lab"), network)
    with pytest.raises(ConfigError, match="--host 0.0.0.0 requires --token"):
        ModelDeployment().neural_network(iris, network, serve=True, host="0.0.0.0")
    with pytest.raises(ConfigError, match="unknown deploy option\\(s\\) stag"):
        ModelDeployment().neural_network(iris, network, stag="staging")
    assert project.registry.get_model("iris-net", version=1).stage == "none"
    staged = ModelDeployment(export=False).neural_network(iris, network, stage="staging")
    assert (staged.stage, staged.export_dir, staged.url) == ("staging", None, None)
    with pytest.raises(ConfigError, match="deployed with export=False"):
        staged.predict(iris.head(1))


# ------------------------------------------------------------------------------------------ where runs go
def test_stages_use_the_project_around_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(PIPELINE_DIR_ENV, str(tmp_path / "fallback"))
    Project.init(tmp_path / "proj")
    (tmp_path / "proj" / "notebooks" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "proj" / "notebooks" / "deep")
    assert ModelTraining().project.path == (tmp_path / "proj").resolve()
    assert not (tmp_path / "fallback").exists()


def test_without_a_project_the_default_one_is_created_and_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(PIPELINE_DIR_ENV, str(tmp_path / "fallback"))
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tesla_lab.workflow.stages"):
        first = open_stage_project()
    assert first.path == (tmp_path / "fallback").resolve() and first.name == "tesla-pipeline"
    assert f"pipeline runs go to {first.path}" in caplog.text
    assert open_stage_project().path == first.path  # opened, not created again


def test_an_explicit_folder_gets_a_project(tmp_path):
    assert ModelEvaluation(tmp_path / "new").project.path == (tmp_path / "new").resolve()
    assert (tmp_path / "new" / "tesla.yaml").is_file()
    with pytest.raises(ConfigError, match="project must be a Project, a folder path or None"):
        ModelDeployment(project=3)
