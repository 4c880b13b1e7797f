"""tesla deploy --export / --serve and tesla serve: a model trained by the workflow, exported and served."""

import json
import urllib.request

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

from tesla_lab.cli import main
from tesla_lab.errors import ConfigError, ExportError
from tesla_lab.serve import background_server, export_registered, load_exported
from tesla_lab.serve.deploy import deploy_registered
from tesla_lab.store import Project
from tesla_lab.workflow import deploy_model, load_registered, train_model

pytest.importorskip("fastapi")


def _iris():
    frame = load_iris(as_frame=True).frame
    frame["species"] = np.array(["setosa", "versicolor", "virginica"])[frame.pop("target")]
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = Project.init(tmp_path_factory.mktemp("deploy"))
    frame = _iris()
    train_model(project, {"dataset": "iris", "target": "species", "framework": "tt", "epochs": 15, "lr": 0.05,
                          "model": {"hidden_sizes": [16], "tt_rank": 2}}, name="flowers", data=frame.iloc[:120])
    return project, frame.iloc[120:]


def test_export_answers_like_the_bundle_in_the_original_labels(project):
    proj, held_out = project
    info = export_registered(proj, "flowers")
    assert info.path.name == "flowers-v1" and info.path.parent.name == "exports"
    served = load_exported(info.path)
    rows = held_out.drop(columns=["species"])
    expected = load_registered(proj, "flowers").predict(rows)
    got = served.predict(rows.to_dict("records"))["predictions"]
    assert list(got) == list(expected)
    assert set(got) <= {"setosa", "versicolor", "virginica"}
    assert served.metadata["metadata"]["model_name"] == "flowers"
    assert served.metadata["reference"]  # drift histograms from the run's training data


def test_served_over_http_on_loopback(project):
    proj, held_out = project
    info = export_registered(proj, "flowers")
    rows = held_out.drop(columns=["species"]).head(5).to_dict("records")
    with background_server(str(info.path)) as url:
        req = urllib.request.Request(f"{url}/predict", data=json.dumps({"rows": rows}).encode(),
                                     headers={"Content-Type": "application/json"})
        body = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert body["predictions"] == list(load_registered(proj, "flowers").predict(pd.DataFrame(rows)))


def test_binary_single_logit_and_regression_targets_are_mapped_back(tmp_path):
    proj = Project.init(tmp_path)
    data = load_breast_cancer(as_frame=True).frame.iloc[:, list(range(6)) + [-1]]
    train_model(proj, {"dataset": "bc", "target": "target", "family": "logistic", "epochs": 10, "lr": 0.05},
                name="bc", data=data)
    bundle = load_registered(proj, "bc")
    served = load_exported(export_registered(proj, "bc").path)
    rows = data.drop(columns=["target"]).head(20)
    assert list(served.predict(rows)["predictions"]) == list(bundle.predict(rows))
    train_model(proj, {"dataset": "diabetes", "family": "linear", "epochs": 10, "lr": 0.05}, name="reg")
    reg = load_registered(proj, "reg")
    assert reg.target_scaling["std"] > 1  # trained on standardized targets
    served = load_exported(export_registered(proj, "reg").path)
    from tesla_lab.data import load_sample

    frame, _ = load_sample("diabetes")
    rows = frame[reg.features].head(10)
    np.testing.assert_allclose(np.asarray(served.predict(rows)["predictions"], dtype=float).ravel(),
                               np.asarray(reg.predict(rows), dtype=float).ravel(), rtol=1e-4, atol=1e-3)


@pytest.fixture
def no_logistic_converter(monkeypatch):
    """skl2onnx without a converter for LogisticRegression: how an estimator it cannot convert looks."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from sklearn.linear_model import LogisticRegression

    monkeypatch.delitem(sklearn_operator_name_map, LogisticRegression)


def test_a_scikit_learn_family_without_converter_is_refused_naming_it(tmp_path, no_logistic_converter):
    proj = Project.init(tmp_path)
    train_model(proj, {"framework": "scikit-learn", "family": "sklearn:logistic", "dataset": "iris"}, name="sk",
                data=_iris())
    with pytest.raises(ExportError, match=r"cannot export sklearn:logistic: skl2onnx .* has no ONNX converter for "
                                          r"LogisticRegression; deploy it without --export/--serve .* "
                                          r"\(torch, tt, or sklearn:"):
        export_registered(proj, "sk")


def test_a_framework_without_an_export_path_is_refused_before_any_change(tmp_path, monkeypatch):
    import tesla_lab.serve.deploy as deploy_mod

    proj = Project.init(tmp_path)
    train_model(proj, {"framework": "scikit-learn", "family": "sklearn:logistic", "dataset": "iris"}, name="x",
                data=_iris())
    real = deploy_mod.load_registered

    def other_framework(*args, **kwargs):  # a bundle of a framework deploy knows no export for
        bundle = real(*args, **kwargs)
        monkeypatch.setattr(bundle.estimator, "framework", "jax")
        return bundle

    monkeypatch.setattr(deploy_mod, "load_registered", other_framework)
    with pytest.raises(ConfigError, match=r"cannot deploy x v1 with export: it is a sklearn:logistic model \(jax\), "
                                          r"which TESLA Lab cannot export for serving; nothing was changed \(no "
                                          r"version of x is in production\)\. Deploy it without --export/--serve"):
        deploy_registered(proj, "x", "production", export=True)
    assert _stages(proj, "x") == [[1, "none"]]


def test_cli_deploy_export_and_serve_refuses_public_bind_without_token(project, capsys, monkeypatch):
    proj, _ = project
    monkeypatch.delenv("TESLA_SERVE_TOKEN", raising=False)
    assert main(["--project", str(proj.path), "deploy", "-m", "flowers", "-p", "production", "--export"]) == 0
    assert "exported flowers to" in capsys.readouterr().out
    assert proj.registry.get_model("flowers", stage="production").version == 1
    code = main(["--project", str(proj.path), "serve", "-m", "flowers", "--host", "0.0.0.0"])
    assert code == 1
    assert "requires --token" in capsys.readouterr().err
    deploy_model(proj, "flowers", "staging")


# ------------------------------------------------------------------------------------------- atomic deploy
def _stages(proj, name):
    return proj.registry.list_models(name)[["version", "stage"]].values.tolist()


@pytest.fixture
def torch_in_production(tmp_path, no_logistic_converter):
    """v1: a torch model in production; v2: a scikit-learn model of the same name (stage none) that cannot be
    converted (no_logistic_converter)."""
    proj = Project.init(tmp_path / "p")
    train_model(proj, {"framework": "torch", "epochs": 2, "model": {"hidden_sizes": [8]}}, name="m", data=_iris())
    assert main(["--project", str(proj.path), "deploy", "-m", "m", "-p", "production"]) == 0
    train_model(proj, {"framework": "scikit-learn", "family": "sklearn:logistic"}, name="m", data=_iris())
    return proj


def test_a_deploy_that_cannot_export_changes_no_stage_and_serve_still_finds_production(torch_in_production, capsys,
                                                                                       monkeypatch):
    import tesla_lab.serve

    proj = torch_in_production
    before = _stages(proj, "m")
    assert before == [[2, "none"], [1, "production"]]
    capsys.readouterr()
    assert main(["--project", str(proj.path), "deploy", "-m", "m", "-p", "production", "--export"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot export sklearn:logistic: skl2onnx ")
    assert "no ONNX converter for LogisticRegression" in err and "without --export/--serve" in err
    assert err.rstrip().endswith("nothing was changed (v1 stays in production)")
    assert _stages(proj, "m") == before
    assert not (proj.path / "exports" / "m-v2").exists()
    monkeypatch.delenv("TESLA_SERVE_TOKEN", raising=False)
    served = []  # `tesla serve -m m` up to the server start: resolve production, export, hand the folder over
    monkeypatch.setattr(tesla_lab.serve, "serve", lambda path, **kw: served.append((path, kw)))
    assert main(["--project", str(proj.path), "serve", "-m", "m", "--port", "0"]) == 0
    ((path, options),) = served
    assert path.name == "m-v1" and options == {"host": "127.0.0.1", "port": 0, "token": None}
    assert load_exported(path).metadata["metadata"]["model_version"] == 1


def test_a_deploy_that_cannot_serve_on_a_busy_port_changes_no_stage(torch_in_production, capsys):
    import socket

    proj = torch_in_production
    train_model(proj, {"framework": "torch", "epochs": 2, "model": {"hidden_sizes": [8]}}, name="m", data=_iris())
    before = _stages(proj, "m")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["--project", str(proj.path), "deploy", "-m", "m", "--serve", "--port", str(port)])
    assert code == 1
    assert f"cannot serve on 127.0.0.1:{port}: the port is in use" in capsys.readouterr().err
    assert _stages(proj, "m") == before and not (proj.path / "exports" / "m-v3").exists()


def test_deploy_with_export_exports_first_then_promotes(torch_in_production, capsys):
    proj = torch_in_production
    train_model(proj, {"framework": "torch", "epochs": 2, "model": {"hidden_sizes": [8]}}, name="m", data=_iris())
    done = deploy_registered(proj, "m", "production", export=True)
    assert (str(done.result), done.export.path.name) == ("m v3 → production (v1 archived)", "m-v3")
    assert load_exported(done.export.path).metadata["metadata"]["stage"] == "production"
    assert _stages(proj, "m") == [[3, "production"], [2, "none"], [1, "archived"]]
    with pytest.raises(ConfigError, match="deploy stage must be one of: staging, production; got 'live'"):
        deploy_registered(proj, "m", "live", export=True)
    assert _stages(proj, "m") == [[3, "production"], [2, "none"], [1, "archived"]]


def test_check_servable_names_an_address_that_is_not_this_machines():
    from tesla_lab.serve import check_servable

    with pytest.raises(ConfigError, match=r"cannot serve on 192\.0\.2\.1:8000: .*pick an address of this machine"):
        check_servable("192.0.2.1", 8000, token="t")  # TEST-NET-1: never a local address


def test_a_conversion_that_fails_changes_no_stage(torch_in_production, monkeypatch):
    import tesla_lab.serve.sklearn_onnx as sk_onnx

    proj = torch_in_production
    monkeypatch.undo()  # LogisticRegression converts again; now the converter itself breaks
    monkeypatch.setattr(sk_onnx, "_convert", lambda *a: (_ for _ in ()).throw(RuntimeError("unsupported option")))
    before = _stages(proj, "m")
    with pytest.raises(ExportError, match=r"cannot export sklearn:logistic: the ONNX conversion failed at step "
                                          r"'skl2onnx.convert_sklearn': unsupported option; .*; nothing was changed "
                                          r"\(v1 stays in production\)"):
        deploy_registered(proj, "m", "production", export=True)
    assert _stages(proj, "m") == before and not (proj.path / "exports" / "m-v2").exists()
