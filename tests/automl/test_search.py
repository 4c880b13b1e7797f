"""AutoML end to end: task detection, the search, the store, the registry, failures, the time budget, bad input."""

from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest

from tesla_lab.automl import COLUMNS, AutoMLError, automl, default_families, run_automl
from tesla_lab.automl.scoring import validation_score
from tesla_lab.data import load_sample
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store import Project
from tesla_lab.workflow import TrainConfig, load_registered, prepare

pytestmark = pytest.mark.skipif(find_spec("optuna") is None, reason="needs the automl extra (optuna)")


def _trial_runs(project, parent_id):
    return [r for r in (project.get_run(i) for i in project.runs()["id"]) if r.info()["parent_run_id"] == parent_id]


# ------------------------------------------------------------------------------------------ wine, default families
@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    project = Project.init(tmp_path_factory.mktemp("wine") / "proj")
    seen = []
    result = automl("wine", project=project, time_budget=15, max_trials=8, seed=0, on_trial=seen.append)
    return project, result, seen


def test_wine_search_beats_the_majority_class_on_the_test_split(wine):
    _, result, _ = wine
    df, _ = load_sample("wine")
    split = prepare(df, "target", test_size=0.2, val_size=0.2, seed=0)  # the split the search used
    majority = np.bincount(split.y_train).argmax()
    baseline = float((split.test_frame["target"].to_numpy() == split.classes[majority]).mean())
    assert result.task == "classification" and result.metric == "accuracy"
    assert result.test_metrics["accuracy"] > baseline + 0.3, (result.test_metrics, baseline)


def test_leaderboard_has_one_row_per_trial_sorted_best_first(wine):
    _, result, seen = wine
    board = result.leaderboard
    assert list(board.columns) == COLUMNS and board.attrs == {"metric": "accuracy", "maximize": True}
    assert 1 <= len(board) == result.n_trials == len(seen) <= 8
    scored = board[board["status"] != "failed"]
    assert scored["val_score"].is_monotonic_decreasing
    assert (board["status"] == "failed").sum() == result.n_failed
    assert board.iloc[0]["trial"] == result.best.trial and board.iloc[0]["val_score"] == result.best.val_score
    assert set(board["family"]) <= set(default_families("classification"))
    assert (scored["n_params"] > 0).all() and (scored["fit_time"] >= 0).all()


def test_each_family_is_first_tried_with_its_defaults(wine):
    _, _, seen = wine
    families = default_families("classification")
    for record in seen[: len(families)]:
        assert record.family == families[record.trial]
    first_mlp = [r for r in seen if r.family == "mlp"][:1]
    if first_mlp and first_mlp[0].status == "ok":
        assert first_mlp[0].params["hidden_sizes"] == [64, 64] and first_mlp[0].params["epochs"] == 50


def test_every_trial_is_a_child_run_with_params_and_validation_metric(wine):
    project, result, seen = wine
    trials = _trial_runs(project, result.run_id)
    assert len(trials) == result.n_trials
    for run in trials:
        record = next(r for r in seen if r.run_id == run.id)
        assert run.params()["family"] == record.family
        if record.status == "failed":
            assert run.status == "failed"
        else:
            assert run.summary()["val_accuracy"] == pytest.approx(record.val_score)
            # the stored config is a TrainConfig that reproduces the trial with `tesla train`
            cfg = TrainConfig.from_dict(run.config)
            assert cfg.family == record.family and cfg.dataset == result.dataset and cfg.val_size == 0.2
    parent = project.get_run(result.run_id)
    assert parent.status == "finished" and parent.params()["best.family"] == result.best.family
    assert parent.summary()["test_accuracy"] == pytest.approx(result.test_metrics["accuracy"])


def test_best_model_is_refit_registered_and_loadable(wine):
    project, result, _ = wine
    version = project.registry.get_model(result.name)
    assert (result.name, result.version, version.version) == ("wine-automl", 1, 1)
    assert version.metadata["family"] == result.best.family
    assert version.metadata["automl"]["n_trials"] == result.n_trials
    bundle = load_registered(project, result.name)
    assert bundle.train_config["val_size"] == 0  # retrained on train + validation rows
    df, _ = load_sample("wine")
    test_rows = prepare(df, "target", test_size=0.2, val_size=0.2, seed=0).test_frame
    refit_rows = prepare(df, "target", test_size=0.2, val_size=0, seed=0).test_frame
    assert test_rows.index.equals(refit_rows.index)  # the refit keeps the search's test rows held out
    assert bundle.evaluate(test_rows)["summary"]["accuracy"] == pytest.approx(result.test_metrics["accuracy"])


# ---------------------------------------------------------------------------------------------------- regression
def test_regression_is_detected_on_diabetes_and_beats_the_mean(project):
    result = automl("diabetes", project=project, families=["linear", "sklearn:ridge"], max_trials=3,
                    time_budget=20, storage="project")
    assert (result.task, result.metric, result.maximize) == ("regression", "r2", True)
    assert result.test_metrics["r2"] > 0.2  # the mean predictor scores R² ≈ 0
    assert result.leaderboard["val_score"].is_monotonic_decreasing
    assert (project.path / ".tesla" / "optuna.db").is_file() and len(result.study.trials) == 3


def test_error_metrics_are_minimised_and_reported_in_target_units(project):
    result = automl("diabetes", project=project, families=["sklearn:ridge"], max_trials=3, time_budget=20,
                    metric="rmse")
    assert result.maximize is False and result.leaderboard["val_score"].is_monotonic_increasing
    assert 30 < result.best.val_score < 80  # diabetes' target spans 25..346: RMSE in its units, not scaled


# ------------------------------------------------------------------------------------------------------ failures
def test_failed_trials_are_recorded_and_the_search_goes_on(project, iris_labels):
    result = automl(iris_labels, "species", project=project, name="iris-auto", max_trials=4, time_budget=20,
                    families=["sklearn:knn", "sklearn:logistic"], space={"sklearn:knn": {"n_neighbors": 1000}})
    board = result.leaderboard
    failed = board[board["status"] == "failed"]
    assert len(failed) >= 1 and set(failed["family"]) == {"sklearn:knn"} and result.n_failed == len(failed)
    assert failed["val_score"].isna().all() and failed["error"].str.contains("n_neighbors").all()
    assert list(board["status"]).index("failed") == len(board) - len(failed)  # failed trials come last
    assert result.best.family == "sklearn:logistic"
    statuses = {r.params()["family"]: r.status for r in _trial_runs(project, result.run_id)
                if r.params()["family"] == "sklearn:knn"}
    assert statuses == {"sklearn:knn": "failed"}
    assert set(load_registered(project, "iris-auto").predict(iris_labels.head(3))) <= {"setosa", "versicolor",
                                                                                      "virginica"}


def test_a_search_where_every_trial_fails_raises_and_registers_nothing(project):
    with pytest.raises(AutoMLError, match=r"all 2 AutoML trial\(s\) failed, so there is no model; the first error"):
        automl("iris", project=project, families=["sklearn:knn"], max_trials=2, time_budget=20,
               space={"sklearn:knn": {"n_neighbors": 1000}})
    runs = project.runs()
    assert runs.loc[runs["name"] == "iris-automl", "status"].tolist() == ["failed"]
    assert project.registry.list_models().empty



def test_a_bad_override_value_fails_its_trials_with_a_run_each(project):
    result = automl("iris", project=project, families=["mlp", "sklearn:logistic"], max_trials=2, time_budget=20,
                    space={"mlp": {"width": "wide"}})
    failed = result.leaderboard[result.leaderboard["status"] == "failed"]
    assert failed["family"].tolist() == ["mlp"] and failed["error"].str.contains("'wide'").all()
    run = project.get_run(failed["run_id"].iloc[0])
    assert run.status == "failed" and "wide" in run.info()["error"]


def test_ctrl_c_ends_the_search_and_marks_its_run_stopped(project):
    def interrupt(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        automl("iris", project=project, families=["sklearn:logistic"], max_trials=3, on_trial=interrupt)
    runs = project.runs().set_index("name")["status"]
    assert runs["iris-automl"] == "stopped" and runs["iris-automl-trial-000"] == "finished"
    assert project.registry.list_models().empty

# ------------------------------------------------------------------------------------------- budget, refit=False
def test_time_budget_cuts_a_torch_trial_short_and_ends_the_search(project):
    result = automl("iris", project=project, families=["mlp"], max_trials=10, time_budget=0.5,
                    space={"mlp": {"epochs": 100_000, "width": 16, "depth": 1}})
    assert result.n_trials == 1
    record = result.best
    assert record.status == "stopped" and 1 <= record.params["epochs"] < 100_000
    run = project.get_run(record.run_id)
    assert run.status == "stopped" and run.params()["model.epochs"] == record.params["epochs"]


def test_without_refit_the_best_trials_own_model_is_registered(project):
    result = automl("iris", project=project, families=["sklearn:logistic"], max_trials=2, time_budget=20,
                    refit=False)
    assert result.bundle.train_config["val_size"] == 0.2
    df, _ = load_sample("iris")
    split = prepare(df, "target", test_size=0.2, val_size=0.2, seed=0)
    again = validation_score(result.bundle.estimator, split.X_val, split.y_val, "accuracy")
    assert again == pytest.approx(result.best.val_score)


# --------------------------------------------------------------------------------------------------- bad input
def test_missing_target_is_refused_before_anything_is_stored(project):
    with pytest.raises(DataError, match="target column 'nope' not found; columns are: "):
        automl("iris", "nope", project=project)
    assert project.runs().empty and project.datasets.names() == []


def test_empty_data_is_refused(project):
    with pytest.raises(DataError, match=r"the data \(DataFrame\) has no rows"):
        automl(pd.DataFrame({"x": [], "y": []}), "y", project=project)


@pytest.mark.parametrize("budget", [0, -5, float("nan"), "60"])
def test_time_budget_must_be_positive(project, budget):
    with pytest.raises(ConfigError, match="time_budget must be a positive number of seconds; got"):
        automl("iris", project=project, time_budget=budget)


@pytest.mark.parametrize(("options", "message"), [
    ({"families": ["linear"]}, "family 'linear' does regression only, but this target is a classification task"),
    ({"metric": "r2"}, "metric 'r2' does not score classification; choose one of: accuracy"),
    ({"space": {"mlp": {"epochs": 5}}, "families": ["logistic"]},
     "space overrides family 'mlp', which is not searched; searched families: logistic"),
    ({"space": {"mlp": {"rank": 4}}, "families": ["mlp"]}, "family 'mlp' has no tunable parameter 'rank'"),
])
def test_options_that_do_not_fit_the_data_are_refused_before_anything_is_stored(project, options, message):
    with pytest.raises(ConfigError, match=message):
        automl("iris", project=project, **options)
    assert project.runs().empty


def test_bad_model_name_and_data_type_are_refused(project):
    with pytest.raises(ConfigError, match="a model name must be a non-empty string without '@'"):
        automl("iris", project=project, name="a@b")
    with pytest.raises(ConfigError, match="data must be a pandas DataFrame"):
        run_automl(project, {"dataset": "iris"}, data=[[1, 2]])
    with pytest.raises(ConfigError, match="without '@VERSION'"):
        run_automl(project, {"dataset": "iris@1"}, data=pd.DataFrame({"x": [1.0], "y": [0]}))

