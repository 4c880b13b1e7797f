"""`tesla automl`: exit codes, the trial lines, the leaderboard, --json, and bad input as one-line errors."""

import json
from importlib.util import find_spec

import pytest

from tesla_lab.store import Project

pytestmark = pytest.mark.skipif(find_spec("optuna") is None, reason="needs the automl extra (optuna)")


@pytest.fixture
def root(tmp_path, tesla):
    root = tmp_path / "proj"
    assert tesla("init", root)[0] == 0
    return root


def test_automl_prints_trials_leaderboard_and_registers_the_best(root, tesla, iris_csv):
    code, out, err = tesla("automl", "-d", iris_csv[0], "--target", "species", "--time-budget", "20",
                           "--max-trials", "3", "--families", "sklearn:logistic,sklearn:knn",
                           "--space", "sklearn:knn.n_neighbors=[3,5]", cwd=root)
    assert code == 0, err
    lines = out.splitlines()
    assert sum(line.startswith("  trial ") for line in lines) == 3
    assert "automl data-automl on data@1: classification of 'species', best of 3 trial(s) by validation accuracy" in out
    assert any(line.split()[:2] == ["rank", "trial"] for line in lines) and "val_accuracy" in out
    assert "registered data-automl v1" in out
    assert Project(root).registry.get_model("data-automl").metadata["automl"]["n_trials"] == 3
    code, out, _ = tesla("models")
    assert code == 0 and "data-automl" in out


def test_automl_json_holds_the_sorted_leaderboard(root, tesla):
    code, out, err = tesla("automl", "-d", "diabetes", "-t", "20", "-n", "2", "--families", "sklearn:ridge",
                           "--metric", "mae", "-m", "diab", "--json", cwd=root)
    assert code == 0, err
    result = json.loads(out)
    assert (result["name"], result["version"], result["task"], result["metric"]) == ("diab", 1, "regression", "mae")
    scores = [row["val_score"] for row in result["leaderboard"]]
    assert len(scores) == result["n_trials"] == 2 and scores == sorted(scores)  # MAE: smaller first
    assert result["best"]["val_score"] == scores[0] and set(result["test_metrics"]) >= {"r2", "mae"}


@pytest.mark.parametrize(("args", "message"), [
    (["--time-budget", "0"], "error: time_budget must be a positive number of seconds; got 0.0"),
    (["--target", "nope"], "error: target column 'nope' not found; columns are: "),
    (["--families", "linear"], "error: family 'linear' does regression only, but this target is a classification"),
    (["--workers", "0"], "error: workers must be an integer >= 1 (processes running trials on this machine); got 0"),
    (["--join"], "error: tesla automl --join needs --storage URL and --study NAME of the running search"),
    (["--join", "--storage", "project", "--study", "s"], "error: --join needs a storage every machine reaches"),
])
def test_bad_input_is_a_one_line_error_and_stores_nothing(root, tesla, args, message):
    code, out, err = tesla("automl", "-d", "iris", *args, cwd=root)
    assert code == 1 and out == "" and err.startswith(message) and err.count("\n") == 1, err
    assert Project(root).runs().empty


def test_a_malformed_space_flag_is_a_usage_error(root, tesla):
    code, _, err = tesla("automl", "-d", "iris", "--space", "epochs=3", cwd=root)
    assert code == 2 and "expected FAMILY.PARAM=VALUE" in err


def test_pruner_and_study_flags_reach_the_search(root, tesla, tmp_path):
    url = f"journal://{tmp_path / 'search.log'}"
    code, out, err = tesla("automl", "-d", "iris", "-t", "30", "-n", "2", "--families", "logistic", "--space",
                           "logistic.epochs=2", "--pruner", "halving", "--storage", url, "--study", "iris-s", "-q",
                           cwd=root)
    assert code == 0, err
    assert out.startswith(f"study iris-s: workers on other machines join with `tesla automl --join --storage {url} "
                          "--study iris-s`")
    (parent,) = [i for i in Project(root).runs()["id"] if Project(root).get_run(i).name == "iris-automl"]
    params = Project(root).get_run(parent).params()
    assert (params["automl.pruner"], params["automl.study"], params["automl.storage"]) == ("halving", "iris-s", url)
    # the search is complete: workers joining it (this process and one more) find no trial left
    code, out, err = tesla("automl", "--join", "--storage", url, "--study", "iris-s", "--workers", "2", cwd=root)
    assert (code, out) == (0, "joined iris-s: ran 0 trial(s) (and 1 more process(es) here); the leader lists them "
                              "in its leaderboard\n"), err
