"""`tesla runs` lists a dataset version as the whole number it is, also when another run has no dataset (a notebook
run): the frame's column is float then, and the listing used to show `iris@1.0`."""

import json

import pandas as pd

from tesla_lab.store import Project


def test_dataset_version_stays_a_whole_number_next_to_a_run_without_dataset(tmp_path, tesla):
    project = Project.init(tmp_path)
    project.datasets.snapshot("iris", pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}))
    project.start_run("with-data", dataset="iris")
    project.start_run("notebook")
    code, out, err = tesla("runs", cwd=tmp_path)
    assert code == 0, err
    assert "iris@1 " in out and "iris@1.0" not in out
    rows = {r["name"]: r for r in json.loads(tesla("runs", "--json")[1])}
    assert rows["with-data"]["dataset_version"] == 1 and isinstance(rows["with-data"]["dataset_version"], int)
    assert rows["notebook"]["dataset_version"] is None


def test_duration_shows_its_unit_in_the_table_and_stays_seconds_in_json(tmp_path, tesla):
    project = Project.init(tmp_path)
    run = project.start_run("timed")
    run.finish()
    with project.db.transaction() as conn:
        conn.execute("UPDATE runs SET duration = ? WHERE id = ?", (125.4, run.id))
    code, out, _ = tesla("runs", cwd=tmp_path)
    assert code == 0 and "2m 05s" in out.splitlines()[2]
    assert json.loads(tesla("runs", "--json")[1])[0]["duration"] == 125.4
