"""Two Project objects on one folder in a process, plus another process: no write may be lost."""

import os
import subprocess
import sys

from tesla_lab.store import Project


def test_reopening_a_project_keeps_the_wal_of_other_handles(tmp_path):
    project = Project.init(tmp_path)
    project.start_run(name="a").finish()
    Project(tmp_path).runs()  # a second handle in the same process checks the file
    subprocess.run([sys.executable, "-c", f"from tesla_lab.store import Project; Project({str(tmp_path)!r}).runs()"],
                   check=True, env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=120)
    assert (tmp_path / ".tesla" / "store.db-wal").exists()
    project.start_run(name="b")
    seen = subprocess.run(
        [sys.executable, "-c", f"from tesla_lab.store import Project; print(sorted(Project({str(tmp_path)!r}).runs()"
                               "['name']))"],
        check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=120)
    assert "['a', 'b']" in seen.stdout
