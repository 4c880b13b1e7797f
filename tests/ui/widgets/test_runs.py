"""RunsBrowser widget: table, selection, overlay, comparison, promotion."""

import torch

from tesla_lab.store import Project
from tesla_lab.ui.widgets import RunsBrowser


def test_select_overlay_compare_and_promote(tmp_path):
    project = Project.init(tmp_path)
    ids = []
    for lr in (0.1, 0.01):
        with project.start_run(name=f"lr-{lr}", params={"lr": lr}) as run:
            run.log_metrics({"loss": lr}, step=0)
            run.log_model(torch.nn.Linear(1, 1))
        ids.append(run.id)
    browser = RunsBrowser(project)
    assert "lr-0.1" in browser.table.value and len(browser.select.options) == 2
    browser.select.value = tuple(ids)
    assert "2 run(s)" in browser.plot.outputs[0]["data"]["text/plain"] and "param.lr" in browser.compare.value
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
