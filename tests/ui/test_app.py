"""The dashboard of one session, built without a server."""

from tesla_lab.store import Project
from tesla_lab.ui.app import PAGES, create_app


def test_create_app_builds_five_linked_pages(tmp_path):
    app = create_app(Project.init(tmp_path, name="lab"))
    assert app.title == "TESLA Lab: lab" and tuple(app.pages) == PAGES
    bench = app.workbench
    assert bench.data.frame.shape == (1797, 65) and bench.model.n_inputs == 64
    assert app.pages["Train"]._callback is None  # polling starts only in a served session
    bench.train.active = True  # what a launch does: the Train tab comes forward
    assert app.tabs.active == PAGES.index("Train")


def test_the_header_shows_the_project_folder(tmp_path):
    from tesla_lab.store import Project
    from tesla_lab.ui.app import create_app

    project = Project.init(tmp_path / "shown", name="shown")
    app = create_app(project, sample=None)
    assert [pane.object for pane in app.header] == [
        f'<span title="the project this dashboard shows">project {project.path}</span>']
