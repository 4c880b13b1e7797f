"""train_model: checks first, then dataset version → run → metrics → bundle → registry; failures leave runs."""

import json

import numpy as np
import pandas as pd
import pytest

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store import Project
from tesla_lab.train import LambdaCallback
from tesla_lab.workflow import TrainConfig, load_dataset, load_registered, resolve_config, train_model

FAST = {"epochs": 3, "lr": 0.05, "model": {"hidden_sizes": [16]}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, iris_csv):
    project = Project.init(tmp_path_factory.mktemp("proj"))
    load_dataset(project, str(iris_csv[0]), "train", target="species")
    result = train_model(project, {**FAST, "epochs": 25, "checkpoint_every": 10}, name="iris")
    return project, result


def _counts(project):
    return (len(project.datasets.names()), sum(len(project.datasets.versions(n)) for n in project.datasets.names()),
            len(project.runs()), len(project.registry.list_models()))


def test_a_run_records_everything_needed_to_reproduce_and_use_it(trained):
    project, result = trained
    assert result.status == "finished" and result.version == 1 and result.dataset == "train@1"
    assert result.metrics["accuracy"] > 0.8 and (result.n_train, result.n_test) == (96, 24)
    run = project.get_run(result.run_id)
    assert run.status == "finished" and run.history().index.tolist() == list(range(25))
    assert run.summary()["test_accuracy"] == pytest.approx(result.metrics["accuracy"])
    artifacts = run.artifacts().set_index("name")
    assert {"bundle.json", "weights.pt", "test_report.json"} <= set(artifacts.index)
    loss = run.history()["loss"]  # checkpoints after epochs 10, 20 and 25: the last and the best are kept
    best = min((10, 20, 25), key=lambda e: (loss[e - 1], -e))
    assert sorted(artifacts.index[artifacts["kind"] == "checkpoint"]) == sorted(
        {f"checkpoint-epoch{best:04d}.pt", "checkpoint-epoch0025.pt"})
    config = TrainConfig.from_dict(run.config)
    assert (config.dataset, config.target, config.family, config.task) == ("train@1", "species", "mlp",
                                                                          "classification")
    assert run.params()["model.hidden_sizes"] == [16]
    version = project.registry.get_model("iris")
    assert version.stage == "none" and version.metadata["bundle"] == run.artifact_sha("bundle.json")
    assert sorted(version.load()) == sorted(result.bundle.estimator.module.state_dict())  # torch weights
    report = json.loads(run.load_artifact("test_report.json"))
    assert report["summary"] == result.metrics


def test_the_registered_bundle_predicts_raw_rows(trained, iris_csv):
    project, result = trained
    bundle = load_registered(project, "iris")
    test = pd.read_csv(iris_csv[1])
    assert set(bundle.predict(test)) <= {"setosa", "versicolor", "virginica"}
    np.testing.assert_array_equal(bundle.predict(test), result.bundle.predict(test))


def test_other_frameworks_and_a_dataframe_source(tmp_path, iris_csv):
    project = Project.init(tmp_path)
    frame = pd.read_csv(iris_csv[0])
    sk = train_model(project, {"framework": "scikit-learn", "family": "sklearn:logistic", "dataset": "flowers"},
                     name="sk", data=frame)
    assert sk.dataset == "flowers@1" and sk.metrics["accuracy"] > 0.8
    assert project.get_run(sk.run_id).summary()["train_accuracy"] > 0.8
    assert project.registry.get_model("sk").sha256 == sk_manifest(project, sk.run_id)
    tt = train_model(project, {**FAST, "framework": "tt", "model": {"hidden_sizes": [16, 16], "tt_rank": 2},
                               "dataset": "flowers@1"}, name="tt")
    assert tt.config.family == "tt_mlp" and tt.bundle.estimator.config["type"] == "TensorNetwork"
    reg = train_model(project, {"dataset": "diabetes", "family": "linear", "epochs": 20, "lr": 0.05}, name="reg")
    assert reg.bundle.task == "regression" and reg.bundle.target_scaling["std"] > 1
    assert reg.metrics["r2"] > 0.2


def sk_manifest(project, run_id):
    return project.get_run(run_id).artifact_sha("bundle.json")


def test_a_stop_request_ends_training_early_and_the_run_is_stopped(tmp_path, iris_csv):
    project = Project.init(tmp_path)

    def stop_after_first_epoch(trainer, epoch, logs):
        project.runs()  # the run exists; ask it to stop like the UI's stop button does
        project.get_run(project.runs()["id"].iloc[0]).request_stop()

    result = train_model(project, {**FAST, "epochs": 50, "dataset": str(iris_csv[0]), "target": "species"},
                         name="stopped", callbacks=[LambdaCallback(on_epoch_end=stop_after_first_epoch)])
    run = project.get_run(result.run_id)
    assert result.status == "stopped" and run.status == "stopped" and len(run.history()) < 50
    assert result.version is None and project.registry.list_models().empty  # stopped: never registered by itself
    assert "bundle.json" in set(run.artifacts()["name"])  # but evaluated and saved: it can be promoted by hand


def test_resume_model_continues_a_stopped_run_in_place_and_registers_it_once_finished(tmp_path, iris_csv):
    from tesla_lab.workflow import resume_model

    project = Project.init(tmp_path)

    def stop_after_epoch_3(trainer, epoch, logs):
        if epoch == 1:  # the store callback sees the flag at the end of the next epoch: 3 epochs done
            project.get_run(project.runs()["id"].iloc[0]).request_stop()

    config = {**FAST, "epochs": 6, "checkpoint_every": 2, "dataset": str(iris_csv[0]), "target": "species"}
    first = train_model(project, config, name="iris", callbacks=[LambdaCallback(on_epoch_end=stop_after_epoch_3)])
    run = project.get_run(first.run_id)
    assert first.status == "stopped" and run.latest_checkpoint_name() == "checkpoint-epoch0003.pt"
    before = run.history()["loss"]
    again = resume_model(project, run.id)
    assert again.run_id == run.id and again.status == "finished" and again.version == 1
    loss = run.history()["loss"]
    assert list(loss.index) == [0, 1, 2, 3, 4, 5] and loss.loc[:2].tolist() == before.loc[:2].tolist()
    assert run.resumed == 1 and len(project.runs()) == 1
    assert len(project.registry.list_models()) == 1 and run.status == "finished"


def test_a_failure_during_training_marks_the_run_failed(tmp_path, iris_csv):
    project = Project.init(tmp_path)

    def boom(trainer, epoch, logs):
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        train_model(project, {**FAST, "dataset": str(iris_csv[0])}, name="boom",
                    callbacks=[LambdaCallback(on_epoch_end=boom)])
    run = project.runs()
    assert run["status"].tolist() == ["failed"]
    assert "disk on fire" in project.get_run(run["id"].iloc[0]).info()["error"]
    assert project.registry.list_models().empty


@pytest.mark.parametrize(("config", "error", "message"), [
    ({"features": ["lab", "nope"]}, DataError, r"column\(s\) 'nope' not found"),
    ({"target": "kind"}, DataError, "target column 'kind' not found"),
    ({"family": "linear", "model": {}}, ConfigError, "family 'linear' does regression only, not classification"),
    ({"family": "cnn"}, ConfigError, "cnn needs image_shape"),
    ({"model": {"depth": 3}, "family": "sklearn:knn", "framework": "sklearn"}, ConfigError,
     "has no parameter\\(s\\) 'depth'"),
    ({"test_size": 200}, ConfigError, "test_size=200 samples leaves nothing to train on"),
])
def test_bad_inputs_raise_before_anything_is_stored(trained, config, error, message):
    project, _ = trained
    before = _counts(project)
    with pytest.raises(error, match=message):
        train_model(project, {**FAST, "dataset": "train", **config}, name="bad")
    assert _counts(project) == before


def test_free_text_features_are_refused_and_nothing_is_stored(tmp_path):
    project = Project.init(tmp_path)
    frame = pd.DataFrame({"x": np.arange(40.0), "note": [f"free text {i}" for i in range(40)], "y": [0, 1] * 20})
    with pytest.raises(DataError, match="feature column 'note' looks like free text"):
        train_model(project, FAST, name="m", data=frame)
    assert _counts(project) == (0, 0, 0, 0)


def test_names_data_and_defaults_are_checked(tmp_path):
    project = Project.init(tmp_path, defaults={"seed": 5, "device": "cpu"})
    cfg = resolve_config(project, {"epochs": 1})
    assert (cfg.seed, cfg.device, cfg.precision) == (5, "cpu", "fp32")
    with pytest.raises(ConfigError, match="a model name must be a non-empty string without '@'"):
        train_model(project, FAST, name="a@1")
    with pytest.raises(ConfigError, match="data must be a pandas DataFrame"):
        train_model(project, FAST, name="m", data=[[1, 2]])
    with pytest.raises(ConfigError, match="with data= the config's dataset is the name to store it under"):
        train_model(project, {**FAST, "dataset": "d@2"}, name="m", data=pd.DataFrame({"x": [1.0], "y": [0]}))
    with pytest.raises(ConfigError, match="no dataset given and none loaded yet"):
        train_model(project, FAST, name="m")


def test_training_into_a_queued_run_and_resuming_from_its_checkpoint(tmp_path, iris_csv):
    project = Project.init(tmp_path)
    queued = project.start_run(name="from-the-ui", status="queued")
    first = train_model(project, {**FAST, "epochs": 2, "dataset": str(iris_csv[0])}, name="m", run=queued.id)
    assert first.run_id == queued.id and len(project.runs()) == 1
    row = project.runs().iloc[0]
    assert (row["status"], row["dataset"], row["dataset_version"]) == ("finished", "data", 1)
    assert queued.config["family"] == "mlp" and queued.params()["epochs"] == 2
    with pytest.raises(ConfigError, match=r"run .* \(from-the-ui\) has already ended \(finished\)"):
        train_model(project, FAST, name="m", run=queued)

    checkpoint = queued.latest_checkpoint()
    more = train_model(project, {**FAST, "epochs": 4, "dataset": "data@1"}, name="m", resume=checkpoint)
    assert more.history["loss"][:2] == pytest.approx(first.history["loss"])  # restored from the checkpoint
    assert project.get_run(more.run_id).history().index.tolist() == [2, 3]  # only the new epochs were trained
    with pytest.raises(ConfigError, match="resume= continues a torch training"):
        train_model(project, {"framework": "sklearn", "dataset": "data@1"}, name="s", resume=checkpoint)
