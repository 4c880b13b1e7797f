"""Hostile or broken data files are refused before parsing, with a message naming the file and the fix."""

import gzip
import time

import pytest

from tesla_lab.data import load
from tesla_lab.data.formats import load_csv
from tesla_lab.data.limits import ReadLimits
from tesla_lab.errors import DataError


def test_a_row_with_100k_fields_is_refused_in_well_under_a_second(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("a,b,target\n" + ",".join("1" for _ in range(100_000)) + "\n1,2,3\n")
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"wide\.csv' has 100,000 fields in line 2, more than the 10,000 columns"):
        load_csv(path)
    assert time.perf_counter() - start < 2.0


def test_a_2m_field_line_inside_a_4mb_file_is_refused_quickly(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write("a,b\n" + "1,2\n" * 1000 + ",".join("9" for _ in range(2_000_000)) + "\n")
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"has (at least )?[\d,]+ fields in line 1002, more than the 10,000"):
        load(path)
    assert time.perf_counter() - start < 5.0


def test_a_decompression_bomb_is_refused_past_the_cap(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"a,b\n")
        for _ in range(12):
            fh.write(b"1,2\n" * (2**20 // 4))  # 12 MiB of rows in a file of a few KiB
    assert path.stat().st_size < 200_000
    with pytest.raises(DataError, match=r"bomb\.csv\.gz' expands to more than 8 MB .*TESLA_MAX_EXPANDED_MB"):
        load_csv(path, limits=ReadLimits(max_expanded_bytes=8 * 2**20))
    assert len(load_csv(path)) == 12 * 2**20 // 4  # under the default cap it loads


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_or_truncated_gzip_is_one_clear_error(tmp_path, damage):
    path = tmp_path / "rows.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"a,b\n" + b"1,2\n" * 50_000)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else raw[:20] + b"\xff" * 200 + raw[220:])
    with pytest.raises(DataError, match=r"rows\.csv\.gz' is not a readable \.gz archive .*truncated or corrupt"):
        load_csv(path)


def test_rows_wider_than_the_header_never_shift_columns_silently(tmp_path):
    path = tmp_path / "shift.csv"
    path.write_text("a,b,target\n9,1,2,0\n3,4,5\n")
    with pytest.raises(DataError, match=r"line 2 has 4 fields but the header has 3.*on_bad_lines='skip'"):
        load_csv(path)
    kept = load_csv(path, on_bad_lines="skip")
    assert list(kept.columns) == ["a", "b", "target"] and kept.to_dict("list") == {"a": [3], "b": [4], "target": [5]}


def test_a_header_only_csv_is_refused_at_load(tmp_path):
    path = tmp_path / "head.csv"
    path.write_text("a,b,target\n")
    with pytest.raises(DataError, match=r"head\.csv' has a header \(3 columns: a, b, target\) but no data rows"):
        load_csv(path)


def test_cells_past_the_limit_are_refused(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("a,b,c,d\n" + "1,2,3,4\n" * 300)
    with pytest.raises(DataError, match=r"about 300 rows × 4 columns, more than the 1,000 cells"):
        load_csv(path, limits=ReadLimits(max_cells=1000))
