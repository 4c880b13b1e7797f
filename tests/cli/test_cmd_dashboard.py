"""``tesla dashboard``: thin, hands its options to the dashboard server."""

from tesla_lab.cli import main
from tesla_lab.store import Project
from tesla_lab.ui import serve


def test_dashboard_passes_its_options_to_the_server(tmp_path, monkeypatch):
    Project.init(tmp_path, name="mine")
    calls = []
    monkeypatch.setattr(serve, "serve_dashboard", lambda project, **kw: calls.append((project, kw)))
    assert main(["--project", str(tmp_path), "dashboard", "--port", "0", "--token", "a-long-token",
                 "--host", "0.0.0.0"]) == 0
    project, options = calls[0]
    assert project.path == tmp_path.resolve()  # the project is resolved before serving: the one --project names
    assert (options["host"], options["port"], options["token"], options["show"]) == ("0.0.0.0", 0, "a-long-token",
                                                                                       False)


def test_dashboard_on_a_public_address_without_token_is_an_error(capsys, monkeypatch):
    monkeypatch.delenv(serve.TOKEN_ENV, raising=False)
    assert main(["dashboard", "--host", "0.0.0.0"]) == 1
    assert "needs a token" in capsys.readouterr().err


def test_dashboard_refuses_a_project_option_naming_no_project(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(serve, "serve_dashboard", lambda project, **kw: None)
    assert main(["--project", str(tmp_path), "dashboard", "--port", "0"]) == 1
    assert "no TESLA project" in capsys.readouterr().err
