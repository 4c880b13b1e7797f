"""`tesla runs tag/note/archive/delete`: the same store actions as the dashboard's Runs page."""

from tesla_lab.store import Project


def _project(root):
    project = Project.init(root)
    run = project.start_run(name="first")
    run.log_metric("loss", 0.5, step=0)
    run.log_artifact("x.bin", b"payload")
    run.finish()
    return project, run


def test_tag_note_archive_and_delete_from_the_cli(tmp_path, tesla):
    project, run = _project(tmp_path)
    code, out, _ = tesla("--project", tmp_path, "runs", "tag", "first", "baseline", "tt-8")
    assert code == 0 and "tags baseline, tt-8" in out
    code, out, _ = tesla("--project", tmp_path, "runs", "tag", run.id[:6], "--remove", "tt-8")
    assert code == 0 and out.strip().endswith("tags baseline")
    assert tesla("--project", tmp_path, "runs", "note", "first", "rank 8 was enough")[0] == 0
    assert project.runs().iloc[0]["note"] == "rank 8 was enough"
    code, out, _ = tesla("--project", tmp_path, "runs")
    assert "baseline" in out.splitlines()[-1]
    assert tesla("--project", tmp_path, "runs", "archive", "first")[0] == 0
    assert "(no runs yet" in tesla("--project", tmp_path, "runs")[1]
    assert "first" in tesla("--project", tmp_path, "runs", "--archived")[1]
    assert tesla("--project", tmp_path, "runs", "archive", "first", "--undo")[0] == 0
    code, _, err = tesla("--project", tmp_path, "runs", "delete", "first")  # stdin is not a terminal in pytest
    assert code == 1 and "needs a confirmation; pass --yes" in err and len(project.runs()) == 1
    code, out, _ = tesla("--project", tmp_path, "runs", "delete", "first", "--yes")
    assert code == 0 and "deleted run first" in out and "1 artifacts" in out
    assert project.runs(archived=True).empty and list(project.artifacts) == []


def test_tag_without_tags_says_how(tmp_path, tesla):
    _project(tmp_path)
    code, _, err = tesla("--project", tmp_path, "runs", "tag", "first")
    assert code == 1 and "needs tags to add" in err
