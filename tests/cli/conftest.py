import pytest


@pytest.fixture
def tesla(monkeypatch, capsys):
    """Run ``tesla ARGS`` in-process; returns ``(exit code, stdout, stderr)``."""
    from tesla_lab.cli import main

    def run(*args: str, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
