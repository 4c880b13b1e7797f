"""Distributed AutoML: worker processes sharing one Optuna study (journal file, no server), pruning, joining, and
bad options refused before anything is stored."""

import json
import os
import socket
from importlib.util import find_spec

import pytest

from tesla_lab.automl import AutoMLConfig, run_automl
from tesla_lab.automl.pruning import make_pruner
from tesla_lab.automl.study import open_storage, trial_records
from tesla_lab.automl.workers import join_search
from tesla_lab.errors import ConfigError

pytestmark = pytest.mark.skipif(find_spec("optuna") is None, reason="needs the automl extra (optuna)")


def _children(project, parent_id):
    return [r for r in (project.get_run(i) for i in project.runs()["id"]) if r.info()["parent_run_id"] == parent_id]


@pytest.mark.slow
def test_two_worker_processes_share_one_study_and_no_trial_runs_twice(project, tmp_path):
    journal = tmp_path / "shared" / "search.log"
    # trials of ~0.5 s (80 epochs), so both processes are busy at once; the leader waits until its worker is ready
    result = run_automl(project, {"dataset": "iris", "families": ["mlp"], "max_trials": 4, "time_budget": 120,
                                  "workers": 2, "storage": f"journal://{journal}", "study": "iris-shared", "seed": 0,
                                  "space": {"mlp": {"epochs": 80, "width": 16, "depth": 1}}})
    board = result.leaderboard
    assert sorted(board["trial"]) == [0, 1, 2, 3] and len(result.study.trials) >= 4
    assert (board["status"] == "ok").all()
    # each trial ran in exactly one process: distinct trial numbers, runs, and sampled parameters
    assert board["run_id"].nunique() == 4
    assert len({json.dumps(p, sort_keys=True) for p in board["params"]}) == 4
    workers = set(board["worker"])
    me = f"{socket.gethostname()}:{os.getpid()}"
    assert len(workers) == 2 and me in workers, workers  # the leader's trials and its worker's
    children = _children(project, result.run_id)
    assert sorted(r.params()["automl.trial"] for r in children) == [0, 1, 2, 3]
    assert {r.id for r in children} == set(board["run_id"])
    assert {r.params()["automl.worker"] for r in children} == workers
    assert all(r.status == "finished" for r in children)
    # the study lives in the journal file: any process reads the same four trials back
    import optuna

    again = optuna.load_study(study_name="iris-shared", storage=open_storage(f"journal://{journal}"))
    assert [r.trial for r in trial_records(again, 4)] == [0, 1, 2, 3]
    assert project.registry.get_model(result.name).version == 1
    # the study is finished: a late worker joining it runs nothing
    assert join_search(project, f"journal://{journal}", "iris-shared") == []


def test_median_pruner_stops_the_bad_trials_and_lists_them_as_pruned(project):
    # two learning rates: 0.05 learns, 1e-6 does not move; after one finished trial, the median rule prunes every
    # 1e-6 trial after its first epoch (its validation loss is worse than the finished trial's at that epoch)
    result = run_automl(project, {"dataset": "iris", "families": ["mlp"], "max_trials": 6, "time_budget": 60,
                                  "seed": 0, "pruner": "median", "prune_startup": 1,
                                  "space": {"mlp": {"lr": [0.05, 1e-6], "epochs": 4, "width": 16, "depth": 1,
                                                    "dropout": 0.0, "activation": "relu", "batch_size": 32}}})
    board = result.leaderboard
    pruned = board[board["status"] == "pruned"]
    kept = board[board["status"] == "ok"]
    assert len(pruned) >= 1 and len(kept) >= 1 and len(pruned) + len(kept) == 6
    assert all(p["lr"] == 1e-6 for p in pruned["params"]) and all(p["lr"] == 0.05 for p in kept["params"])
    assert pruned["val_score"].isna().all() and (pruned["error"].str.contains("pruned after epoch 0")).all()
    assert list(board["status"]) == ["ok"] * len(kept) + ["pruned"] * len(pruned)  # scored first, never "failed"
    states = {t.number: t.state.name for t in result.study.trials}
    assert all(states[n] == "PRUNED" for n in pruned["trial"])
    for run_id in pruned["run_id"]:
        run = project.get_run(run_id)
        assert run.status == "stopped" and run.params()["automl.pruned_after_epoch"] == 0
    assert result.best.params["lr"] == 0.05


def test_make_pruner_names_optuna_pruners():
    assert type(make_pruner("halving")).__name__ == "SuccessiveHalvingPruner"
    assert type(make_pruner("none")).__name__ == "NopPruner"
    median = make_pruner("median", startup_trials=2)
    assert median._n_startup_trials == 2


@pytest.mark.parametrize(("options", "message"), [
    ({"pruner": "mean"}, r"unknown pruner 'mean' \(did you mean 'median'\?\); choose one of: median, halving, none"),
    ({"workers": 0}, r"workers must be an integer >= 1 \(processes running trials on this machine\); got 0"),
    ({"storage": "journal://search.log"}, r"journal storage URL needs an absolute file path.* got 'journal://search"),
    ({"study": " "}, r"study must be a non-empty name .* got ' '"),
    ({"prune_startup": -1}, r"prune_startup must be an integer >= 0 .* got -1"),
])
def test_bad_distributed_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        AutoMLConfig(**options)


def test_an_existing_study_name_is_refused_before_anything_is_stored(project, tmp_path):
    import optuna

    url = f"journal://{tmp_path / 's.log'}"
    optuna.create_study(study_name="taken", storage=open_storage(url))
    with pytest.raises(ConfigError, match=r"already has a study 'taken'; add workers to it with `tesla automl --join "
                                          r"--storage journal://.* --study taken`"):
        run_automl(project, {"dataset": "iris", "storage": url, "study": "taken", "max_trials": 1})
    assert len(project.runs()) == 0


def test_joining_a_missing_or_foreign_study_explains(project, tmp_path):
    import optuna

    url = f"journal://{tmp_path / 's.log'}"
    with pytest.raises(ConfigError, match=r"has no study 'nope'; start the search first"):
        join_search(project, url, "nope")
    optuna.create_study(study_name="plain", storage=open_storage(url))
    with pytest.raises(ConfigError, match=r"study 'plain' was not created by tesla automl \(it lacks tesla_run_id"):
        join_search(project, url, "plain")
