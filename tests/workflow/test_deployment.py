"""Registered models: evaluate on new data, promote with deploy (hooks first), refuse what cannot be served."""

import pandas as pd
import pytest
import torch

from tesla_lab.errors import ConfigError, DataError, NotFoundError
from tesla_lab.store import Project
from tesla_lab.workflow import (
    add_deploy_hook,
    deploy_model,
    evaluate_model,
    load_dataset,
    load_registered,
    remove_deploy_hook,
    train_model,
)


@pytest.fixture(scope="module")
def project(tmp_path_factory, iris_csv):
    project = Project.init(tmp_path_factory.mktemp("deploy"))
    load_dataset(project, str(iris_csv[0]), "train", target="species")
    for _ in range(2):  # versions 1 and 2 of the same model
        train_model(project, {"framework": "scikit-learn", "family": "sklearn:logistic"}, name="flowers")
    return project


def test_evaluate_scores_files_frames_and_stored_datasets(project, iris_csv):
    on_file = evaluate_model(project, "flowers", str(iris_csv[1]))
    assert (on_file.version, on_file.n_samples, on_file.data) == (2, 30, str(iris_csv[1]))
    assert on_file.metrics["accuracy"] > 0.8 and set(on_file.report["per_class"]) == {"setosa", "versicolor",
                                                                                      "virginica"}
    frame = pd.read_csv(iris_csv[1])
    assert evaluate_model(project, "flowers", frame, version=1).metrics == pytest.approx(
        evaluate_model(project, "flowers", str(iris_csv[1]), version=1).metrics)
    assert evaluate_model(project, "flowers", "train@1").n_samples == 120
    assert project.datasets.names() == ["train"]  # evaluation stores nothing


def test_deploy_promotes_and_archives_the_previous_production_version(project):
    first = deploy_model(project, "flowers", version=1)
    assert (first.version, first.stage, first.previous) == (1, "production", None)
    second = deploy_model(project, "flowers")
    assert str(second) == "flowers v2 → production (v1 archived)"
    assert project.registry.get_model("flowers", version=1).stage == "archived"
    assert evaluate_model(project, "flowers", "train", stage="production").version == 2
    staged = deploy_model(project, "flowers", "staging", version=1)
    assert staged.stage == "staging" and staged.previous is None
    assert load_registered(project, "flowers", stage="staging").estimator.family == "sklearn:logistic"


def test_deploy_hooks_run_first_and_a_failing_hook_changes_nothing(project):
    seen = []
    hook = add_deploy_hook(lambda proj, mv, stage: seen.append((mv.version, stage, mv.stage)))
    try:
        deploy_model(project, "flowers", "staging", version=2)
    finally:
        remove_deploy_hook(hook)
    assert seen == [(2, "staging", "production")]  # called before the stage changed

    def broken(proj, mv, stage):
        raise RuntimeError("export failed")

    add_deploy_hook(broken)
    try:
        with pytest.raises(RuntimeError, match="export failed"):
            deploy_model(project, "flowers", "production", version=1)
    finally:
        remove_deploy_hook(broken)
    assert project.registry.get_model("flowers", version=1).stage != "production"
    with pytest.raises(ConfigError, match="a deploy hook must be callable"):
        add_deploy_hook("export")


def test_models_that_cannot_be_served_are_refused(project):
    project.registry.register_model("by-hand", artifact=torch.nn.Linear(2, 1))
    with pytest.raises(NotFoundError, match="model 'by-hand' v1 has no bundle .* cannot be evaluated or deployed"):
        deploy_model(project, "by-hand")
    with pytest.raises(NotFoundError, match="no model named 'ghost'; registered models: by-hand, flowers"):
        evaluate_model(project, "ghost", "train")
    with pytest.raises(NotFoundError, match="model 'flowers' has no version 9"):
        deploy_model(project, "flowers", version=9)
    with pytest.raises(ConfigError, match="deploy stage must be one of: staging, production; got 'archived'"):
        deploy_model(project, "flowers", "archived")


def test_evaluation_data_without_the_target_is_refused(project, iris_csv):
    frame = pd.read_csv(iris_csv[1]).drop(columns=["species"])
    with pytest.raises(DataError, match="the evaluation data has no target column 'species'"):
        evaluate_model(project, "flowers", frame)
