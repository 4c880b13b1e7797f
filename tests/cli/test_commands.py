"""Each `tesla` command: output, --json, and bad input → exit 1 with a one-line `error:` and an unchanged store."""

import json

import pytest

from tesla_lab.cli import COMMANDS, RESERVED, build_parser, main, register_command
from tesla_lab.store import Project


@pytest.fixture
def project(tmp_path, tesla, iris_csv):
    """A project with dataset 'train' (v1: 120 rows, v2: 30 rows) and a trained model 'm'."""
    root = tmp_path / "proj"
    assert tesla("init", root)[0] == 0
    assert tesla("load", "-d", iris_csv[0], "-o", "train", "--target", "species", cwd=root)[0] == 0
    assert tesla("load", "-d", iris_csv[1], "-o", "train")[0] == 0
    code, _, err = tesla("train", "-m", "m", "-f", "scikit-learn", "--family", "sklearn:logistic", "-d", "train@1")
    assert code == 0, err
    return root


def _state(root):
    p = Project(root)
    versions = {n: p.datasets.versions(n)["version"].tolist() for n in p.datasets.names()}
    heads = {n: p.datasets.head(n).version for n in p.datasets.names()}
    return versions, heads, len(p.runs()), p.registry.list_models()[["name", "version", "stage"]].values.tolist()


def _one_line_error(err, pattern):
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert pattern in err, err


def test_second_init_fails_and_changes_nothing(tmp_path, tesla):
    assert tesla("init", "p", cwd=tmp_path)[0] == 0
    before = (tmp_path / "p" / "tesla.yaml").read_text()
    code, out, err = tesla("init", "p")
    assert code == 1 and out == ""
    _one_line_error(err, "a TESLA project already exists")
    assert (tmp_path / "p" / "tesla.yaml").read_text() == before


def test_commands_outside_a_project_say_how_to_start(tmp_path, tesla):
    code, _, err = tesla("runs", cwd=tmp_path)
    assert code == 1
    _one_line_error(err, "no TESLA project at")


def test_load_rejects_bad_files_and_columns_without_storing(project, tmp_path, tesla):
    before = _state(project)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{oops")
    for args, message in [(("-d", tmp_path / "nope.csv"), "file not found"),
                          (("-d", bad), "malformed CSV"),
                          (("-d", bad_json), "malformed JSON"),
                          (("-d", "iris", "--target", "species"), "target column 'species' not found")]:
        code, _, err = tesla("load", *args, "-o", "train", cwd=project)
        assert code == 1
        _one_line_error(err, message)
    assert _state(project) == before


def test_data_versions_diff_and_rollback(project, tesla):
    code, out, _ = tesla("data", "versions", "train", cwd=project)
    assert code == 0 and out.splitlines()[0].split()[:4] == ["version", "head", "n_rows", "n_cols"]
    assert json.loads(tesla("data", "versions", "train", "--json")[1])[1]["head"] is True
    code, out, _ = tesla("data", "diff", "train", "1", "2")
    assert code == 0 and out.startswith("train v1 → v2: rows 120 → 30")
    diff = json.loads(tesla("data", "diff", "train", "1", "2", "--json")[1])
    assert diff["n_rows"] == [120, 30] and diff["changed"] is True
    assert json.loads(tesla("data", "list", "--json")[1])[0]["name"] == "train"
    code, out, _ = tesla("data", "rollback", "train", "1")
    assert code == 0 and out.strip() == "train: head is now v1 (was v2); no snapshot was deleted"
    assert Project(project).datasets.head("train").version == 1


def test_rollback_to_a_missing_version_changes_nothing(project, tesla):
    before = _state(project)
    code, _, err = tesla("data", "rollback", "train", "9", cwd=project)
    assert code == 1
    _one_line_error(err, "dataset 'train' has no version 9; its versions: 1, 2")
    code, _, err = tesla("data", "versions", "nope")
    _one_line_error(err, "no dataset named 'nope'")
    assert "create one with `tesla load -d FILE -o nope` (Python: project.datasets.snapshot('nope', df))" in err
    assert _state(project) == before


def test_train_rejects_bad_options_and_data_without_storing(project, tmp_path, tesla):
    before = _state(project)
    free_text = tmp_path / "notes.csv"
    free_text.write_text("x,note,y\n" + "".join(f"{i},comment number {i},{i % 2}\n" for i in range(40)))
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("epochs: [\n")
    cases = [
        (("--family", "resnet"), "unknown model family 'resnet'; choose one of: cnn, linear, logistic"),
        (("--features", "nope"), "column(s) 'nope' not found"),
        (("--target", "kind"), "target column 'kind' not found"),
        (("-d", free_text), "feature column 'note' looks like free text"),
        (("--config", bad_yaml), "is not valid YAML"),
        (("-f", "jax"), "unknown framework 'jax'"),
        (("-p", "0"), "iterations must be an integer >= 1 or None; got 0"),
        (("-f", "scikit-learn", "--family", "sklearn:knn", "-p", "5"), "iterations (-p) do not apply to family"),
        (("-f", "scikit-learn", "--hidden", "8"), "has no parameter(s) 'hidden_sizes'"),
    ]
    for args, message in cases:
        code, _, err = tesla("train", "-m", "bad", *args, cwd=project)
        assert code == 1, args
        _one_line_error(err, message)
    assert _state(project) == before


def test_train_reads_a_yaml_config_and_flags_override_it(project, tmp_path, tesla):
    config = tmp_path / "model.yaml"
    config.write_text("framework: tt\nmodel: {hidden_sizes: [16, 16], tt_rank: 2}\nepochs: 50\nlr: 0.05\n")
    code, out, _ = tesla("train", "-m", "tt", "--config", config, "-p", "3", "--tt-rank", "3",
                         "--param", "dropout=0.1", "-q", "--json", cwd=project)
    assert code == 0
    result = json.loads(out)
    assert (result["family"], result["framework"], result["dataset"]) == ("tt_mlp", "torch", "train@2")
    run = Project(project).get_run(result["run_id"])
    assert (run.config["epochs"], run.config["model"]["tt_rank"], run.config["model"]["dropout"]) == (3, 3, 0.1)


def test_usage_errors_exit_2(project, tesla):
    code, _, err = tesla("train", "--param", "novalue", "-m", "x", cwd=project)
    assert code == 2 and "expected KEY=VALUE" in err
    assert tesla("train", "--hidden", "a,b", "-m", "x")[0] == 2
    assert tesla("deploy", "-m", "m", "-p", "live")[0] == 2
    assert tesla()[0] == 2  # no command: the help, on stderr
    code, _, err = tesla("runs", "--colour")
    assert code == 2 and "unrecognized arguments: --colour" in err


def test_evaluate_deploy_and_listings(project, iris_csv, tesla):
    code, out, _ = tesla("evaluate", "-m", "m", "-d", iris_csv[1], cwd=project)
    assert code == 0 and "m v1 (stage: none)" in out and "virginica" in out
    report = json.loads(tesla("evaluate", "-m", "m", "-d", "train@1", "--version", "1", "--json")[1])
    assert report["n_samples"] == 120 and report["metrics"]["accuracy"] > 0.8
    assert tesla("deploy", "-m", "m", "-p", "staging")[1].strip() == "m v1 → staging"
    assert json.loads(tesla("models", "--json")[1])[0]["stage"] == "staging"
    code, out, _ = tesla("models", "--name", "m")
    assert code == 0 and "sklearn:logistic" in out and "accuracy" in out
    runs = json.loads(tesla("runs", "--json", "--status", "finished")[1])
    assert len(runs) == 1 and runs[0]["test_accuracy"] > 0.8 and runs[0]["param.family"] == "sklearn:logistic"
    code, out, _ = tesla("runs", "--status", "failed")
    assert code == 0 and out.strip().startswith("(no runs yet")


def test_evaluate_and_deploy_errors(project, iris_csv, tmp_path, tesla):
    before = _state(project)
    no_target = tmp_path / "unlabelled.csv"
    no_target.write_text(iris_csv[1].read_text().replace(",species", ",kind"))
    for args, message in [(("evaluate", "-m", "ghost", "-d", iris_csv[1]), "no model named 'ghost'"),
                          (("evaluate", "-m", "m", "-d", no_target), "has no target column 'species'"),
                          (("evaluate", "-m", "m", "-d", "iris", "--stage", "production"), "no version in stage"),
                          (("deploy", "-m", "m", "--version", "4"), "model 'm' has no version 4")]:
        code, _, err = tesla(*args, cwd=project)
        assert code == 1, args
        _one_line_error(err, message)
    assert _state(project) == before


def test_reserved_commands_answer_not_available_until_a_module_adds_them(tesla, monkeypatch):
    monkeypatch.setitem(RESERVED, "teleport", "beaming models around")
    try:
        build_parser()
        assert set(RESERVED) <= set(COMMANDS)  # each reserved name is a real command or a placeholder
        code, _, err = tesla("teleport", "--to", "mars")
        assert code == 1
        _one_line_error(err, "`tesla teleport` (beaming models around) is not available in this version")
    finally:
        COMMANDS.pop("teleport", None)


def test_other_modules_can_add_commands(tesla, monkeypatch):
    seen = []
    register_command("hello", "say hello", configure=lambda p: p.add_argument("who"),
                     run=lambda args: seen.append(args.who))
    try:
        assert tesla("hello", "world")[0] == 0 and seen == ["world"]
    finally:
        del COMMANDS["hello"]
    monkeypatch.setitem(RESERVED, "teleport", "beaming models around")
    build_parser()  # registers the placeholder
    register_command("teleport", "the real one", configure=lambda p: None, run=lambda args: 0)  # replaces it
    try:
        assert tesla("teleport")[0] == 0
    finally:
        del COMMANDS["teleport"]


def test_unexpected_errors_are_one_line_unless_debug(tesla):
    register_command("crash", "a bug", configure=lambda p: None, run=lambda args: 1 / 0)
    try:
        code, _, err = tesla("crash")
        assert code == 1
        _one_line_error(err, "unexpected ZeroDivisionError: division by zero (run again with --debug")
        with pytest.raises(ZeroDivisionError):
            main(["crash", "--debug"])
    finally:
        del COMMANDS["crash"]


def test_debug_shows_the_traceback_of_tesla_errors(tmp_path, tesla):
    from tesla_lab.errors import StoreError

    with pytest.raises(StoreError, match="no TESLA project"):
        main(["--debug", "--project", str(tmp_path), "runs"])
