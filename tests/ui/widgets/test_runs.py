"""RunsBrowser widget: table, selection, per-metric charts, comparison, promotion; tags, note and archive edited
through the same RunsState actions as the dashboard (the store's annotations)."""

import torch

from tesla_lab.store import Project
from tesla_lab.store.annotations import run_tags
from tesla_lab.ui.widgets import RunsBrowser


def test_select_overlay_compare_and_promote(tmp_path):
    project = Project.init(tmp_path)
    ids = []
    for lr in (0.1, 0.01):
        layers = [{"type": "Dense", "units": 32, "activation": "relu", "tt_rank": 4}]
        with project.start_run(name=f"lr-{lr}", params={"lr": lr, "batch_size": 32.0, "model.layers": layers}) as run:
            run.log_metrics({"loss": lr}, step=0)
            run.log_model(torch.nn.Linear(1, 1))
        ids.append(run.id)
    browser = RunsBrowser(project)
    assert "lr-0.1" in browser.table.value and len(browser.select.options) == 2
    browser.select.value = tuple(ids)
    fig = browser.plot.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["loss"]
    compare = browser.compare.value
    assert '<tr style="background:#fff3cd"><td>lr</td><td>0.1</td><td>0.01</td></tr>' in compare  # differs
    assert "<tr><td>batch_size</td><td>32</td><td>32</td></tr>" in compare  # an integer, not 32.0
    assert "<td>TT(32, rank 4, relu)</td>" in compare
    browser.promote_button.click()
    assert "select exactly one run" in browser.status.value
    browser.select.value = (ids[0],)
    browser.model_name.value = "best"
    browser.promote_button.click()
    assert "best v1 is now in production" in browser.status.value and "production" in browser.models.value
    with project.start_run(name="new"):
        pass
    browser.refresh_button.click()
    assert len(browser.select.options) == 3 and browser.select.value == (ids[0],)


def test_the_promote_button_is_as_wide_as_its_label(tmp_path):
    button = RunsBrowser(Project.init(tmp_path / "p")).promote_button
    assert button.description == "Promote to production"
    assert (button.layout.width, button.layout.min_width) == ("auto", "max-content")  # not ipywidgets' 148 px


def _two_runs(project):
    ids = []
    for name in ("tt-rank4", "dense"):
        with project.start_run(name=name) as run:
            run.log_metrics({"loss": 0.5}, step=0)
        ids.append(run.id)
    return ids


def test_tags_and_note_of_the_selected_run_are_edited_in_the_store(tmp_path):
    project = Project.init(tmp_path)
    rank4, dense = _two_runs(project)
    project.tag_run(rank4, add=["baseline"])
    browser = RunsBrowser(project)
    editors = (browser.tags, browser.save_tags, browser.note, browser.save_note)
    assert all(w.disabled for w in editors) and browser.archive_button.disabled  # nothing selected
    browser.select.value = (rank4,)
    assert not any(w.disabled for w in editors) and (browser.tags.value, browser.note.value) == ("baseline", "")

    browser.tags.value = "baseline, tt rank-4"  # commas or spaces
    browser.save_tags.click()
    browser.note.value = "rank 4 keeps 91% at 43x fewer weights"
    browser.save_note.click()
    run = project.get_run(rank4)
    assert run_tags(run) == ["baseline", "tt", "rank-4"]
    assert run.info()["note"] == "rank 4 keeps 91% at 43x fewer weights"
    assert browser.status.value.endswith("note saved</div>")
    assert "baseline, tt, rank-4" in browser.table.value and "43x fewer weights" in browser.table.value
    assert browser.tags.value == "baseline, tt, rank-4"  # re-read from the store

    browser.select.value = (dense,)  # the fields follow the selection
    assert (browser.tags.value, browser.note.value) == ("", "")
    browser.select.value = (rank4, dense)  # tags and notes are per run; archive takes several
    assert all(w.disabled for w in editors) and not browser.archive_button.disabled
    assert run_tags(project.get_run(dense)) == []


def test_a_bad_tag_is_refused_with_the_rule_and_nothing_is_saved(tmp_path):
    project = Project.init(tmp_path)
    rank4, _ = _two_runs(project)
    browser = RunsBrowser(project)
    browser.select.value = (rank4,)
    browser.tags.value = "ok, bad!tag"
    browser.save_tags.click()
    assert "cannot tag the run" in browser.status.value and "bad!tag" in browser.status.value
    assert "tesla-error" in browser.status.value and run_tags(project.get_run(rank4)) == []


def test_archive_hides_the_selected_runs_and_keeps_them_in_the_store(tmp_path):
    project = Project.init(tmp_path)
    rank4, dense = _two_runs(project)
    browser = RunsBrowser(project)
    browser.select.value = (rank4,)
    browser.archive_button.click()
    assert [value for _, value in browser.select.options] == [dense]  # gone from the list
    assert browser.select.value == () and browser.archive_button.disabled
    assert "archived 1 run(s)" in browser.status.value
    assert "tt-rank4" not in browser.table.value
    assert list(project.runs(archived=True)["id"]).count(rank4) == 1  # still in the store
