"""``tesla load`` passes reader options as flags, and the loaders' hints name those flags."""

import pickle
import sqlite3

import pandas as pd
import pytest

from tesla_lab.cli import main
from tesla_lab.store import Project


@pytest.fixture
def project(tmp_path):
    return Project.init(tmp_path / "p")


def _load(project, *args):
    return main(["--project", str(project.path), "load", *args])


def test_encoding_and_bad_lines_flags(project, tmp_path, capsys):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,y\nJosé,1\nZoë,0\n".encode("latin-1"))
    assert _load(project, "-d", str(latin), "-o", "people") == 1
    assert "(CLI: --encoding latin-1)" in capsys.readouterr().err
    assert _load(project, "-d", str(latin), "-o", "people", "--encoding", "latin-1") == 0
    assert list(Project(project.path).datasets.load_version("people")["name"]) == ["José", "Zoë"]
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,y\n1,2,3,4\n5,6,7\n")
    assert _load(project, "-d", str(wide), "-o", "w") == 1
    assert "--on-bad-lines skip" in capsys.readouterr().err
    assert _load(project, "-d", str(wide), "-o", "w", "--on-bad-lines", "skip") == 0
    assert Project(project.path).datasets.load_version("w").to_dict("list") == {"a": [5], "b": [6], "y": [7]}


def test_query_table_and_trust_flags(project, tmp_path, capsys):
    db = tmp_path / "data.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE a (x REAL, y INTEGER)")
        conn.execute("CREATE TABLE b (z REAL)")
        conn.executemany("INSERT INTO a VALUES (?, ?)", [(1.0, 0), (2.0, 1), (3.0, 1)])
    conn.close()
    assert _load(project, "-d", str(db), "-o", "t") == 1
    assert "(CLI: --table NAME or --query 'SELECT ...')" in capsys.readouterr().err
    assert _load(project, "-d", str(db), "-o", "t", "--table", "a") == 0
    assert _load(project, "-d", str(db), "-o", "q", "--query", "SELECT x, y FROM a WHERE y = 1") == 0
    assert len(Project(project.path).datasets.load_version("q")) == 2
    pkl = tmp_path / "frame.pkl"
    pkl.write_bytes(pickle.dumps(pd.DataFrame({"x": [1.0], "y": [0]})))
    assert _load(project, "-d", str(pkl), "-o", "p") == 1
    assert "(CLI: --trust)" in capsys.readouterr().err
    assert _load(project, "-d", str(pkl), "-o", "p", "--trust") == 0


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "x" * 200])
def test_a_dataset_name_that_could_be_a_path_is_refused_before_reading(project, name, capsys):
    assert _load(project, "-d", "iris", "-o", name) == 1
    assert "a dataset name may hold letters, digits" in capsys.readouterr().err
    assert Project(project.path).datasets.names() == []
