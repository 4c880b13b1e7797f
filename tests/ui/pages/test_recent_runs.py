"""Train's recent-runs table in a new project: its short-id column is text from the start. It used to be float64
while empty, so Tabulator formatted it as numbers and the first run's id showed as "NaN" in the browser."""

import pandas as pd

from tesla_lab.store import Project
from tesla_lab.ui.pages.train_runs import RecentRuns, RecentRunsState
from tesla_lab.ui.state.train import TrainState


def test_run_column_is_text_before_and_after_the_first_run(tmp_path):
    project = Project.init(tmp_path)
    runs = RecentRuns(RecentRunsState(project), TrainState(project))
    empty = runs.table.value
    assert list(empty.columns) == ["run", "name", "status", "epochs", "created"] and empty.empty
    assert not pd.api.types.is_numeric_dtype(empty["run"])
    run = project.start_run(name="first")
    assert runs.state.poll()
    shown = runs.table.value
    assert shown["run"].tolist() == [run.id[:8]] and shown["name"].tolist() == ["first"]
    assert not pd.api.types.is_numeric_dtype(shown["run"])
