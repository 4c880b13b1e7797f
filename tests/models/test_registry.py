"""The family registry: every family builds for its tasks, bad names / tasks / hyper-parameters are refused."""

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.models import (
    check_framework,
    default_family,
    families,
    get_family,
    make_model,
    resolve_framework,
)
from tesla_lab.nn import build_model


@pytest.mark.parametrize("family", families())
def test_every_family_builds_for_each_of_its_tasks(family):
    fam = get_family(family)
    for task in fam.tasks:
        n_out = 3 if task == "classification" else 1
        hp = {"n_estimators": 5} if family in ("sklearn:random_forest",) else {}
        model = make_model(family, 16, n_out, task, **hp)
        assert model.family == family and model.task == task and not model.is_fitted
        if model.framework == "torch":  # a TESLA network described by plain data
            rebuilt = build_model(model.config)
            assert sorted(rebuilt.state_dict()) == sorted(model.module.state_dict())


def test_unknown_family_names_the_choices():
    with pytest.raises(ConfigError, match=r"unknown model family 'mpl' \(did you mean 'mlp'\?\); choose one of: cnn"):
        make_model("mpl", 4, 2, "classification")


def test_family_used_for_the_wrong_task_names_alternatives():
    with pytest.raises(ConfigError, match="family 'logistic' does classification only, not regression; for regression"):
        make_model("logistic", 4, 1, "regression")
    with pytest.raises(ConfigError, match="'sklearn:ridge' does regression only"):
        make_model("sklearn:ridge", 4, 2, "classification")


def test_unknown_hyper_parameters_are_refused_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"family 'linear' has no hyper-param.*'hidden_sizes'; it takes: \(nothing"):
        make_model("linear", 4, 1, "regression", hidden_sizes=[3])
    with pytest.raises(ConfigError, match=r"sklearn:random_forest \(RandomForestClassifier\) has no parameter.* 'C'"):
        make_model("sklearn:random_forest", 4, 2, "classification", C=1.0)


def test_bad_task_and_sizes_are_refused():
    with pytest.raises(ConfigError, match="task must be one of: classification, regression; got 'clustering'"):
        make_model("mlp", 4, 2, "clustering")
    with pytest.raises(ConfigError, match="n_features must be a positive integer; got 0"):
        make_model("mlp", 0, 2, "classification")
    with pytest.raises(ConfigError, match="classification needs n_outputs >= 2"):
        make_model("mlp", 4, 1, "classification")


def test_frameworks_have_default_families_and_aliases():
    assert resolve_framework("PyTorch") == "torch" and resolve_framework("sklearn") == "scikit-learn"
    assert default_family("torch", "regression") == "mlp"
    assert default_family("tt", "classification") == "tt_mlp"
    assert default_family("scikit-learn", "classification") == "sklearn:random_forest"
    assert families("scikit-learn", "regression") == ["sklearn:gradient_boosting", "sklearn:knn", "sklearn:linear",
                                                      "sklearn:random_forest", "sklearn:ridge", "sklearn:svm"]
    with pytest.raises(ConfigError, match="unknown framework 'keras'; choose one of: torch, tt, scikit-learn"):
        resolve_framework("keras")
    with pytest.raises(ConfigError, match="framework must be a name"):
        resolve_framework(3)


def test_a_family_must_match_the_framework():
    assert check_framework("tt", "mlp") == "mlp"
    assert check_framework("sklearn", "sklearn:random-forest") == "sklearn:random_forest"
    with pytest.raises(ConfigError, match="family 'sklearn:ridge' is a scikit-learn model but framework 'torch'"):
        check_framework("torch", "sklearn:ridge")
