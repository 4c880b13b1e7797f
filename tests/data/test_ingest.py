import gzip
import json
import pickle
import sqlite3
import sys

import numpy as np
import pandas as pd
import pytest

from tesla_lab.data import (
    DataIngestion,
    ingest,
    load,
    load_csv,
    load_json,
    load_parquet,
    load_pickle,
    load_sql,
    write_idx,
)
from tesla_lab.errors import ConfigError, DataError

FRAME = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "c": ["x", "y", "z"]})


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE items (id INTEGER, price REAL); INSERT INTO items VALUES (1, 9.5), (2, 20.0);"
        "CREATE TABLE users (name TEXT);"
    )
    con.commit()
    con.close()
    return path


# ------------------------------------------------------------------------------------------------ CSV
def test_csv_round_trips_with_pyarrow_and_the_c_engine(tmp_path):
    path = tmp_path / "t.csv"
    FRAME.to_csv(path, index=False)
    pd.testing.assert_frame_equal(load(path), FRAME, check_dtype=False)
    # nrows is not supported by the pyarrow engine: falls back to C instead of failing
    assert load_csv(path, nrows=2).shape == (2, 3)


def test_csv_gz_and_tsv_are_read_by_extension(tmp_path):
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    tsv = tmp_path / "t.tsv"
    tsv.write_text("a\tb\n1\t2\n")
    assert load(gz).to_dict("list") == {"a": [1], "b": [2]}
    assert load(tsv).to_dict("list") == {"a": [1], "b": [2]}


def test_ragged_csv_names_file_line_and_fix(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(DataError, match=r"malformed CSV in '.*ragged.csv' at line 3: .*Expected 3 fields.*"
                                        r"on_bad_lines='skip'"):
        load(path)
    assert len(load(path, on_bad_lines="skip")) == 2


def test_binary_garbage_csv_is_refused(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    with pytest.raises(DataError, match=r"'.*garbage.csv' looks binary \(NUL bytes"):
        load(path)


def test_non_utf8_csv_suggests_an_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,city\nx,M\xfcnchen\n")
    with pytest.raises(DataError, match=r"'.*latin.csv' is not UTF-8 text .*encoding='latin-1'"):
        load(path)
    assert load(path, encoding="latin-1")["city"].tolist() == ["München"]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_csv_is_named(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=r"CSV file '.*empty.csv' is empty"):
        load(path)


def test_missing_file_says_check_the_path(tmp_path):
    with pytest.raises(DataError, match=r"file not found: '.*nope.csv'; check the path"):
        load(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory, not a file"):
        load_csv(tmp_path)


# ----------------------------------------------------------------------------------------------- JSON
def test_json_records_and_json_lines(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]))
    (tmp_path / "r.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    (tmp_path / "r.ndjson").write_text('{"a": 3}\n')
    (tmp_path / "lines.json").write_text('{"a": 1}\n{"a": 2}\n')
    assert load(tmp_path / "r.json").to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}
    assert load(tmp_path / "r.jsonl")["a"].tolist() == [1, 2]
    assert load(tmp_path / "r.ndjson")["a"].tolist() == [3]
    assert load_json(tmp_path / "lines.json", lines=True)["a"].tolist() == [1, 2]


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"a": 1},\n {"a": 2},\n {"a": 3 "b": 4}]')
    with pytest.raises(DataError, match=r"malformed JSON in '.*bad.json' at line 3 column 10: Expecting ','"):
        load(path)


def test_malformed_json_lines_points_at_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": }\n')
    with pytest.raises(DataError, match=r"at line 3 column 7: Expecting value"):
        load(path)


def test_json_lines_without_lines_true_gets_a_hint(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('{"a": 1}\n{"a": 2}\n')
    with pytest.raises(DataError, match=r"at line 2 column 1: Extra data; .*pass lines=True"):
        load(path)


def test_json_that_is_not_a_table_and_empty_json(tmp_path):
    (tmp_path / "n.json").write_text("42")
    (tmp_path / "e.json").write_text("")
    with pytest.raises(DataError, match=r"valid but not a table .*list of records"):
        load(tmp_path / "n.json")
    with pytest.raises(DataError, match=r"JSON file '.*e.json' is empty"):
        load(tmp_path / "e.json")


# -------------------------------------------------------------------------------------- Parquet, pickle
def test_parquet_round_trip_and_column_selection(tmp_path):
    path = tmp_path / "t.parquet"
    FRAME.to_parquet(path)
    pd.testing.assert_frame_equal(load(path), FRAME)
    assert load_parquet(path, columns=["c"]).columns.tolist() == ["c"]
    with pytest.raises(DataError, match=r"column\(s\) 'zz' not found; columns are: a, b, c"):
        load_parquet(path, columns=["zz"])


def test_corrupt_parquet_is_a_data_error(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"'.*broken.parquet' is not a readable Parquet file"):
        load(path)


def test_pickle_is_refused_without_trust(tmp_path):
    path = tmp_path / "t.pkl"
    FRAME.to_pickle(path)
    with pytest.raises(DataError, match=r"refusing to unpickle .*arbitrary code. Pass trust=True \(CLI: --trust\)"):
        load(path)
    pd.testing.assert_frame_equal(load(path, trust=True), FRAME)
    pd.testing.assert_frame_equal(DataIngestion(root=tmp_path).load_pickle("t.pkl", trust=True), FRAME)


def test_pickle_of_other_objects(tmp_path):
    (tmp_path / "s.pkl").write_bytes(pickle.dumps(pd.Series([1, 2], name="s")))
    (tmp_path / "d.pickle").write_bytes(pickle.dumps({"a": [1, 2]}))
    (tmp_path / "x.pkl").write_bytes(pickle.dumps(3))
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    assert load_pickle(tmp_path / "s.pkl", trust=True).columns.tolist() == ["s"]
    assert load_pickle(tmp_path / "d.pickle", trust=True)["a"].tolist() == [1, 2]
    with pytest.raises(DataError, match="holds a int, which is not a table"):
        load_pickle(tmp_path / "x.pkl", trust=True)
    with pytest.raises(DataError, match="cannot unpickle"):
        load_pickle(tmp_path / "junk.pkl", trust=True)


# ------------------------------------------------------------------------------------------------ SQL
def test_sqlite_query_table_and_url_forms(db):
    assert load_sql("SELECT price FROM items WHERE id = ?", db, params=(2,))["price"].tolist() == [20.0]
    assert load_sql(url_or_path=db, table="items").shape == (2, 2)
    assert load(f"sqlite:///{db}", table="items")["id"].tolist() == [1, 2]
    assert load(db, query="SELECT COUNT(*) AS n FROM users")["n"].tolist() == [0]


def test_sqlite_is_opened_read_only(db):
    with pytest.raises(DataError, match="SQL query failed on .*readonly"):
        load_sql("INSERT INTO users VALUES ('eve')", db)
    assert load_sql("SELECT * FROM users", db).empty


def test_table_name_must_be_an_identifier(db):
    for bad in ['items"; DROP TABLE items; --', "a b", "1abc", "x.y.z"]:
        with pytest.raises(ConfigError, match="is not a plain identifier"):
            load_sql(url_or_path=db, table=bad)
    assert load_sql(url_or_path=db, table="items").shape == (2, 2)  # nothing was dropped


def test_sql_errors_list_tables_and_options(db, tmp_path):
    with pytest.raises(DataError, match=r"no such table: nope; check the query \(tables here: items, users\)"):
        load_sql("SELECT * FROM nope", db)
    with pytest.raises(ConfigError, match=r"holds 2 tables \(items, users\); pass table='name'"):
        load(db)
    with pytest.raises(ConfigError, match="either query= or table=, not both"):
        load_sql("SELECT 1", db, table="items")
    with pytest.raises(ConfigError, match="needs url_or_path"):
        load_sql("SELECT 1")
    not_db = tmp_path / "text.db"
    not_db.write_text("hello, not sqlite" * 100)
    with pytest.raises(DataError, match="is not a SQLite database"):
        load_sql("SELECT 1", not_db)


def test_single_table_sqlite_loads_without_a_query(tmp_path):
    path = tmp_path / "one.sqlite"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE t (x INT); INSERT INTO t VALUES (7);")
    con.close()
    assert load(path)["x"].tolist() == [7]


def test_database_urls_need_sqlalchemy(monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # make `import sqlalchemy` fail
    with pytest.raises(ConfigError, match=r"needs SQLAlchemy; run `pip install sqlalchemy`"):
        load("postgresql://user@localhost/db", query="SELECT 1")


# ----------------------------------------------------------------------------- dispatch, MNIST, samples
def test_load_checks_target_and_selects_columns(tmp_path):
    path = tmp_path / "t.csv"
    FRAME.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"target column 'price' not found; columns are: a, b, c"):
        load(path, target="price")
    assert load(path, columns=["b"], target="a").columns.tolist() == ["b", "a"]
    with pytest.raises(DataError, match=r"column\(s\) 'q' not found; columns are: a, b, c"):
        load(path, columns=["q"])


def test_load_dispatches_samples_frames_and_refuses_unknown(tmp_path):
    assert load("digits").shape == (1797, 65)
    assert load("sample:wine").shape == (178, 14)
    copy = load(FRAME)
    assert copy is not FRAME and copy.equals(FRAME)
    with pytest.raises(ConfigError, match=r"cannot tell how to read '.*data.xlsx' \(extension '.xlsx'\)"):
        load(tmp_path / "data.xlsx")
    with pytest.raises(ConfigError, match="unknown sample dataset 'irsi'"):
        load("sample:irsi")
    with pytest.raises(ConfigError, match="load\\(\\) takes a path, URL, sample name or DataFrame; got ndarray"):
        load(np.zeros(3))
    with pytest.raises(ConfigError, match="cannot read .pkl files from a URL"):
        load("https://example.com/data.pkl")


def test_mnist_directory_and_file_pair_become_pixel_frames(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([3, 9], np.uint8))
    df = load(tmp_path)
    assert df.shape == (2, 785) and df["target"].tolist() == [3, 9]
    assert df.attrs["image_shape"] == (28, 28)
    np.testing.assert_array_equal(df.drop(columns="target").to_numpy().reshape(2, 28, 28), images)
    pair = DataIngestion(root=tmp_path).load_mnist(("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"))
    assert pair.equals(df)
    with pytest.raises(DataError, match="no MNIST images file for split 't10k'"):
        DataIngestion().load_mnist(tmp_path, kind="t10k")


def test_ingestion_resolves_relative_paths_from_root(tmp_path):
    FRAME.to_csv(tmp_path / "t.csv", index=False)
    FRAME.to_json(tmp_path / "t.json", orient="records")
    FRAME.to_parquet(tmp_path / "t.parquet")
    ing = DataIngestion(root=tmp_path)
    assert ing.load_csv("t.csv").shape == (3, 3)
    assert ing.load_json("t.json").shape == (3, 3)
    assert ing.load_parquet("t.parquet", columns=["a"]).shape == (3, 1)
    assert ing.load("t.csv", target="a").shape == (3, 3)
    assert ing.load_sample("iris").attrs["sample_info"]["task"] == "classification"


def test_ingestion_sql_relative_to_root(db):
    assert DataIngestion(root=db.parent).load_sql("SELECT * FROM items", db.name).shape == (2, 2)


def test_suffix_ignores_compression_and_case():
    assert ingest._suffix("a/B.CSV.GZ") == ".csv"
    assert ingest._suffix("https://x.org/f.parquet?raw=1") == ".parquet"
    assert ingest._suffix("noext") == ""


def test_parquet_columns_are_read_selectively(tmp_path):
    path = tmp_path / "wide.parquet"
    FRAME.to_parquet(path)
    assert load(path, columns="b", target="a").columns.tolist() == ["b", "a"]
    with pytest.raises(DataError, match=r"column\(s\) 'nope' not found; columns are: a, b, c"):
        load(path, columns=["nope"])
