"""Plain-text tables and JSON for machines."""

import math

import numpy as np
import pandas as pd

from tesla_lab.cli.output import fmt, plain, records, table, to_json


def test_table_aligns_columns_and_marks_missing_values():
    text = table([{"a": 1, "b": 0.123456}, {"a": 22, "b": float("nan")}], ["a", "b"])
    assert text.splitlines() == ["a   b", "--  ------", "1   0.1235", "22  -"]
    assert table([], ["a"], empty="(nothing)") == "(nothing)"


def test_values_become_json_friendly():
    ts = pd.Timestamp("2024-05-01 12:30:45", tz="UTC")
    assert plain({"t": ts, "x": np.int64(3), "n": pd.NA, "f": math.inf}) == {
        "t": "2024-05-01T12:30:45+00:00", "x": 3, "n": None, "f": None}
    assert fmt(ts) == "2024-05-01 12:30:45" and fmt([1, 2]) == "[1, 2]" and fmt(True) == "True"
    assert records(pd.DataFrame({"a": [1.5, np.nan]})) == [{"a": 1.5}, {"a": None}]
    assert to_json([np.float32(0.5)]) == "[\n  0.5\n]"
