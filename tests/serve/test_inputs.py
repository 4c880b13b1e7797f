"""Request validation: every malformed input is an InputError naming the problem; fuzzed JSON never escapes it."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import DataError
from tesla_lab.serve.inputs import InputError, InputSpec, TooManyRowsError, parse_inputs, parse_payload, parse_rows

TABLE = InputSpec(feature_names=("age", "income", "city"), sample_shape=(3,), categorical=frozenset({"city"}),
                  max_rows=5)
ARRAY = InputSpec(sample_shape=(2, 2), max_rows=5)


def test_rows_become_a_frame_in_feature_order():
    frame = parse_rows([{"city": "Oslo", "income": 2.5, "age": 30}], TABLE)
    assert list(frame.columns) == ["age", "income", "city"]
    assert frame.iloc[0].tolist() == [30.0, 2.5, "Oslo"]
    assert frame["age"].dtype == np.float64


def test_inputs_become_an_array_of_the_sample_shape():
    arr = parse_inputs([[[1, 2], [3, 4]], [[5, 6], [7, 8.5]]], ARRAY)
    assert arr.shape == (2, 2, 2) and arr.dtype == np.float64 and arr[1, 1, 1] == 8.5


def test_inputs_with_feature_names_become_a_frame():
    frame = parse_inputs([[30, 2.5, "Oslo"]], TABLE)
    assert isinstance(frame, pd.DataFrame) and frame.iloc[0].tolist() == [30.0, 2.5, "Oslo"]


def test_missing_values_pass_only_when_the_pipeline_fills_them():
    with pytest.raises(InputError, match="feature 'age' is null; send a number"):
        parse_rows([{"age": None, "income": 1, "city": "x"}], TABLE)
    filled = InputSpec(feature_names=("age",), sample_shape=(1,), allow_missing=True)
    assert math.isnan(parse_rows([{"age": None}], filled)["age"][0])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"age": 1}, "'rows' must be a list of objects"),
        ([], "'rows' is empty"),
        ([1, 2], r"row 0: must be an object \{feature: value\}; got int"),
        ([{"age": 1, "income": 2, "city": "x", "zip": 1}], r"row 0: unknown feature\(s\) 'zip'; expected features"),
        ([{"age": 1, "city": "x"}], r"row 0: missing feature\(s\) 'income'"),
        ([{"age": "old", "income": 2, "city": "x"}], "row 0: feature 'age' must be a number; got str 'old'"),
        ([{"age": True, "income": 2, "city": "x"}], "feature 'age' must be a number; got bool"),
        ([{"age": float("nan"), "income": 2, "city": "x"}], "feature 'age' is nan; send finite numbers"),
        ([{"age": float("inf"), "income": 2, "city": "x"}], "feature 'age' is inf"),
        ([{"age": 1, "income": 2, "city": ["x"]}], "feature 'city' takes a category"),
        ([{"age": 1, "income": 2, "city": "x"}] * 6, "has 6 rows but at most 5 are accepted"),
    ],
)
def test_malformed_rows_are_named(rows, message):
    with pytest.raises(InputError, match=message):
        parse_rows(rows, TABLE)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ("[[1, 2]]", "'inputs' must be a list of samples"),
        ([], "'inputs' is empty"),
        ([[1, 2, 3, 4]], r"must have shape \[2, 2\] \(4 values per row\); got samples of shape \[4\]"),
        ([1, 2], r"got samples of shape \[\]; wrap each sample in a list"),
        ([[[1, 2], [3]]], "rows differ in length or nesting"),
        ([[[1, 2], [3, "4"]]], "row 0: value 3 must be a number; got str '4'"),
        ([[[1, 2], [3, None]]], "row 0: value 3 is null"),
        ([[[1, 2], [3, float("nan")]]], "row 0: value 3 is nan"),
        ([[[1, 2], [3, [4]]]], "row 0: value 3 must be a number; got list"),
        ([[[1, 2], [3, 4]]] * 6, "has 6 rows but at most 5"),
    ],
)
def test_malformed_inputs_are_named(inputs, message):
    with pytest.raises(InputError, match=message):
        parse_inputs(inputs, ARRAY)


def test_rows_without_feature_names_are_refused():
    with pytest.raises(InputError, match="this model has no feature names, so 'rows' cannot be used"):
        parse_rows([{"a": 1}], ARRAY)


def test_integer_models_take_whole_numbers_only():
    spec = InputSpec(sample_shape=(2,), integer=True)
    assert parse_inputs([[1, 2]], spec).tolist() == [[1.0, 2.0]]
    with pytest.raises(InputError, match="value 1 must be a whole number"):
        parse_inputs([[1, 2.5]], spec)


@pytest.mark.parametrize(
    "payload", [[], "x", None, {}, {"rows": [], "inputs": []}, {"data": [[1]]}, {"inputs": [[1]], "extra": 1}]
)
def test_payload_needs_exactly_one_of_rows_or_inputs(payload):
    with pytest.raises(InputError, match="exactly one of 'rows'"):
        parse_payload(payload, TABLE)


def test_errors_carry_http_statuses():
    assert InputError.status_code == 422 and TooManyRowsError.status_code == 413
    assert issubclass(InputError, DataError)


_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(body=_json | st.fixed_dictionaries({"rows": _json}) | st.fixed_dictionaries({"inputs": _json}))
def test_fuzzed_payloads_are_parsed_or_refused_with_an_input_error(body):
    for spec in (TABLE, ARRAY):
        try:
            out = parse_payload(body, spec)
        except InputError:
            continue
        assert len(out) >= 1  # accepted: a non-empty table or array of the spec's shape
        if isinstance(out, np.ndarray):
            assert out.shape[1:] == spec.sample_shape and np.isfinite(out).all()
        else:
            assert list(out.columns) == list(spec.feature_names)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=4, max_size=4), min_size=1, max_size=5))
def test_valid_numeric_inputs_round_trip(values):
    arr = parse_inputs([[v[:2], v[2:]] for v in values], ARRAY)
    np.testing.assert_array_equal(arr.reshape(len(values), 4), np.asarray(values))
