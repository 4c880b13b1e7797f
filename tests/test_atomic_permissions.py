"""Atomic writes and export folders get the umask's permissions, like a plain ``open``/``mkdir``: a file written
atomically must not end up 0600 (``mkstemp``) nor an export folder 0700 (``mkdtemp``), or nobody else on the machine
(a model server's account, a teammate opening an evaluation report) can read them."""

import os
import stat

import pytest

from tesla_lab._atomic import atomic_path, atomic_write, temp_dir_beside


@pytest.fixture(params=[0o022, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_write_follows_the_umask(tmp_path, umask):
    with atomic_write(tmp_path / "report.html") as fh:
        fh.write(b"<html></html>")
    assert _mode(tmp_path / "report.html") == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_atomic_path_follows_the_umask_and_readonly_stays_read_only(tmp_path, umask):
    with atomic_path(tmp_path / "a.json") as tmp:
        tmp.write_text("{}")
    with atomic_path(tmp_path / "blob", readonly=True) as tmp:
        tmp.write_bytes(b"x")
    assert _mode(tmp_path / "a.json") == 0o666 & ~umask
    assert _mode(tmp_path / "blob") == 0o444


def test_temp_dir_beside_follows_the_umask(tmp_path, umask):
    folder = temp_dir_beside(tmp_path / "exports" / "m-v1")
    assert folder.parent == tmp_path / "exports" and folder.name.startswith(".m-v1.") and folder.name.endswith(".tmp")
    assert _mode(folder) == 0o777 & ~umask


def test_export_folder_and_files_are_readable_by_others(tmp_path):
    import torch

    from tesla_lab.serve import export_model

    old = os.umask(0o022)
    try:
        info = export_model(torch.nn.Linear(2, 1), torch.zeros(1, 2), tmp_path / "exports" / "m-v1")
    finally:
        os.umask(old)
    assert _mode(info.path) == 0o755
    modes = {p.name: _mode(p) for p in info.path.iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes
