"""``iterations`` (``tesla train -p``): epochs for torch / tt, ``max_iter`` or ``n_estimators`` for scikit-learn,
recorded in the run's params with that meaning."""

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.workflow import TrainConfig, apply_iterations, iteration_option, train_model


@pytest.mark.parametrize(("family", "option"), [
    ("mlp", "epochs"), ("tt_mlp", "epochs"), ("cnn", "epochs"),
    ("sklearn:logistic", "max_iter"), ("sklearn:gradient_boosting", "max_iter"), ("sklearn:svm", "max_iter"),
    ("sklearn:ridge", "max_iter"), ("sklearn:random_forest", "n_estimators"),
])
def test_each_family_counts_iterations_in_its_own_option(family, option):
    assert iteration_option(family) == option


@pytest.mark.parametrize("family", ["sklearn:knn", "sklearn:linear"])
def test_families_without_iterations_refuse_them_and_list_those_with(family):
    with pytest.raises(ConfigError, match=rf"iterations \(-p\) do not apply to family '{family}'.*choose a family "
                                          r"that iterates: sklearn:gradient_boosting, sklearn:logistic, .*tt_mlp"):
        iteration_option(family)


def test_without_a_family_the_frameworks_default_is_meant():
    assert apply_iterations(TrainConfig(framework="scikit-learn", iterations=40)).model == {"n_estimators": 40}
    assert apply_iterations(TrainConfig(framework="torch", epochs=3, iterations=40)).epochs == 40
    assert apply_iterations(TrainConfig(epochs=3)).epochs == 3  # no iterations: nothing changes


def test_a_conflicting_model_option_is_refused_and_an_equal_one_kept():
    with pytest.raises(ConfigError, match="iterations=100 sets max_iter of sklearn:logistic, but the model options "
                                          "already set max_iter=5; give one of them"):
        apply_iterations(TrainConfig(framework="scikit-learn", family="sklearn:logistic", model={"max_iter": 5},
                                     iterations=100))
    same = TrainConfig(framework="scikit-learn", family="sklearn:logistic", model={"max_iter": 100}, iterations=100)
    assert apply_iterations(same).model == {"max_iter": 100}


def test_scikit_learn_run_params_record_iterations_with_their_meaning(tmp_path):
    project = Project.init(tmp_path)
    result = train_model(project, {"dataset": "iris", "framework": "scikit-learn", "family": "sklearn:logistic",
                                   "iterations": 100}, name="lr")
    params = project.get_run(result.run_id).params()
    assert (params["iterations"], params["model.max_iter"]) == (100, 100)
    assert result.bundle.estimator.estimator_.max_iter == 100
    assert not {"epochs", "batch_size", "optimizer", "lr"} & set(params)  # torch's loop options mean nothing here
    assert result.config.iterations == 100 and result.config.model["max_iter"] == 100


def test_torch_run_trains_iterations_epochs(tmp_path):
    project = Project.init(tmp_path)
    result = train_model(project, {"dataset": "iris", "framework": "tt", "iterations": 3, "model": {"tt_rank": 2}},
                         name="tt")
    params = project.get_run(result.run_id).params()
    assert (params["iterations"], params["epochs"], len(result.history["loss"])) == (3, 3, 3)
