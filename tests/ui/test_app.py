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
