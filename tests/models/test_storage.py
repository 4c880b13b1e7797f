"""Model files go to a folder or an artifact store; references never leave their folder."""

import pytest

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models.storage import artifact_store, get, put
from tesla_lab.store import Project


def test_folder_and_store_round_trip(tmp_path):
    ref = put(tmp_path / "m", "a.bin", b"123")
    assert ref == "a.bin" and get(tmp_path / "m", ref) == b"123"
    project = Project.init(tmp_path / "p")
    sha = put(project, "ignored-name", b"abc")
    assert len(sha) == 64 and get(project.artifacts, sha) == b"abc"
    run = project.start_run(name="r")
    sha2 = put(run, "notes.txt", b"xyz", kind="note")
    assert run.artifact_sha("notes.txt") == sha2 and get(run, sha2) == b"xyz"


def test_references_cannot_climb_out_of_the_folder(tmp_path):
    for ref in ("../x", "a/b", "", ".."):
        with pytest.raises(DataError, match="must be a plain file name"):
            get(tmp_path, ref)
    with pytest.raises(DataError, match="is missing; the model folder"):
        get(tmp_path, "absent.json")


def test_unknown_destinations_are_refused():
    with pytest.raises(ConfigError, match="expected a folder path, an ArtifactStore, a Project or a Run; got dict"):
        artifact_store({})
