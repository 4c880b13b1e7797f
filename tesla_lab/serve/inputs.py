"""Validation of prediction inputs: JSON rows ``[{feature: value}]`` or arrays ``[[...]]`` → a table or array of
raw features, with a message naming the problem (row, feature, expected width) for anything malformed.

Every refusal is an :class:`InputError` (a :class:`~tesla_lab.errors.DataError`) carrying the HTTP status the server
answers with: 413 for too many rows, 422 for everything else.

>>> spec = InputSpec(feature_names=["age", "income"], sample_shape=(2,))
>>> parse_rows([{"age": 30, "income": 1.5e4}], spec).to_dict("records")
[{'age': 30.0, 'income': 15000.0}]
>>> parse_rows([{"age": 30, "incme": 1}], spec)
Traceback (most recent call last):
...
tesla_lab.errors.InputError: row 0: unknown feature(s) 'incme'; expected features: age, income
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.errors import InputError, TooManyRowsError

__all__ = ["InputError", "TooManyRowsError", "InputSpec", "parse_rows", "parse_inputs", "parse_payload"]

_SHOWN = 5  # names listed in a message before "..."


def _names(items: Sequence[Any]) -> str:
    shown = ", ".join(repr(str(i)) for i in list(items)[:_SHOWN])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _SHOWN else "")


@dataclass(frozen=True)
class InputSpec:
    """What one sample sent to the model looks like, before preprocessing.

    Args:
        feature_names: column names (tabular models); rows are then dicts keyed by them.
        sample_shape: shape of one raw sample, e.g. ``(4,)`` or ``(28, 28)``.
        categorical: features that take text or category values (a OneHot / LabelEncode column); the others must
            be numbers.
        allow_missing: accept ``null`` (the pipeline fills missing values).
        max_rows: most rows in one request.
        integer: the model takes integer inputs (token ids): values must be whole numbers.

    >>> InputSpec(sample_shape=(3,)).n_features
    3
    """

    feature_names: tuple[str, ...] | None = None
    sample_shape: tuple[int, ...] = ()
    categorical: frozenset[str] = field(default_factory=frozenset)
    allow_missing: bool = False
    max_rows: int = 1024
    integer: bool = False

    @property
    def n_features(self) -> int:
        """Values per sample."""
        return len(self.feature_names) if self.feature_names is not None else math.prod(self.sample_shape)


def _check_count(n: int, spec: InputSpec, what: str) -> None:
    if n == 0:
        raise InputError(f"'{what}' is empty; send at least one row")
    if n > spec.max_rows:
        raise TooManyRowsError(f"'{what}' has {n} rows but at most {spec.max_rows} are accepted per request; split "
                               "it into smaller requests")


def _check_value(value: Any, row: int, name: str, spec: InputSpec) -> Any:
    """One cell of a row: numbers for numeric features, scalars for categorical ones, ``None`` if allowed."""
    if value is None:
        if spec.allow_missing:
            return None
        raise InputError(f"row {row}: feature {name!r} is null; send a number (this model's preprocessing does not "
                         "fill missing values)")
    if name in spec.categorical:
        if isinstance(value, (str, int, float)) and not (isinstance(value, float) and not math.isfinite(value)):
            return value
        raise InputError(f"row {row}: feature {name!r} takes a category (text or number); got "
                         f"{type(value).__name__} {value!r:.60}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"row {row}: feature {name!r} must be a number; got {type(value).__name__} {value!r:.60}")
    if not math.isfinite(value):
        raise InputError(f"row {row}: feature {name!r} is {value}; send finite numbers (no NaN or infinity)")
    if spec.integer and value != int(value):
        raise InputError(f"row {row}: feature {name!r} must be a whole number (this model takes integer inputs); got "
                         f"{value!r}")
    return value


def parse_rows(rows: Any, spec: InputSpec) -> pd.DataFrame:
    """``[{feature: value}, ...]`` → a DataFrame with the spec's columns in order (numbers as float64, categorical
    columns as given). Unknown, missing, non-numeric or non-finite values raise :class:`InputError`.

    >>> parse_rows([{"a": 1}], InputSpec(sample_shape=(1,)))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.InputError: this model has no feature names, so 'rows' cannot be used; send 'inputs': \
[[...], ...] with 1 values per row
    """
    if spec.feature_names is None:
        raise InputError(f"this model has no feature names, so 'rows' cannot be used; send 'inputs': [[...], ...] "
                         f"with {spec.n_features} values per row")
    if not isinstance(rows, list):
        raise InputError(f"'rows' must be a list of objects {{feature: value}}; got {type(rows).__name__}")
    _check_count(len(rows), spec, "rows")
    names = list(spec.feature_names)
    known = set(names)
    table: dict[str, list[Any]] = {n: [] for n in names}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InputError(f"row {i}: must be an object {{feature: value}}; got {type(row).__name__} {row!r:.60}")
        unknown = [k for k in row if k not in known]
        if unknown:
            raise InputError(f"row {i}: unknown feature(s) {_names(unknown)}; expected features: {', '.join(names)}"
                             if len(names) <= 20 else
                             f"row {i}: unknown feature(s) {_names(unknown)}; GET /metadata lists the {len(names)} "
                             "expected features")
        missing = [n for n in names if n not in row]
        if missing:
            raise InputError(f"row {i}: missing feature(s) {_names(missing)}; every row needs all {len(names)} "
                             "features")
        for n in names:
            table[n].append(_check_value(row[n], i, n, spec))
    frame = pd.DataFrame({n: _column(v, n in spec.categorical) for n, v in table.items()}, columns=names)
    return frame


def _column(values: list[Any], categorical: bool) -> pd.Series:
    if categorical:
        return pd.Series(values, dtype=object).infer_objects()
    return pd.Series([np.nan if v is None else v for v in values], dtype=np.float64)


def _shape_of(value: Any, depth: int) -> list[int] | None:
    """Shape of a nested list, at most ``depth`` levels deep (fewer where the values stop being lists); None when
    ragged (lists of different lengths, or lists mixed with values at one level)."""
    shape = []
    level = [value]
    for _ in range(depth):
        kinds = {isinstance(v, list) for v in level}
        if kinds == {False}:
            break
        lengths = {len(v) for v in level} if kinds == {True} else set()
        if len(lengths) != 1:
            return None
        shape.append(lengths.pop())
        level = [x for v in level for x in v]
    return shape


def parse_inputs(inputs: Any, spec: InputSpec) -> np.ndarray | pd.DataFrame:
    """``[[...], ...]`` (one nested list per sample, of the spec's ``sample_shape``) → an array (N, *sample_shape);
    a DataFrame with the spec's feature names when it has them (columns in that order).

    >>> parse_inputs([[1, 2, 3]], InputSpec(sample_shape=(2,)))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.InputError: each sample in 'inputs' must have shape [2] (2 values per row); got samples \
of shape [3]
    """
    if not isinstance(inputs, list):
        raise InputError(f"'inputs' must be a list of samples, e.g. [[...], [...]]; got {type(inputs).__name__}")
    _check_count(len(inputs), spec, "inputs")
    depth = 1 + len(spec.sample_shape)
    shape = _shape_of(inputs, depth)
    want = list(spec.sample_shape)
    if shape is None:
        raise InputError(f"'inputs' must be a rectangular nested list with samples of shape {want}; rows differ in "
                         "length or nesting")
    if shape[1:] != want:
        hint = "; wrap each sample in a list: [[...], [...]]" if not shape[1:] else ""
        raise InputError(f"each sample in 'inputs' must have shape {want} ({spec.n_features} values per row); got "
                         f"samples of shape {shape[1:]}{hint}")
    names = list(spec.feature_names) if spec.feature_names is not None else [str(j) for j in range(math.prod(want))]
    if not spec.categorical:
        try:  # all numbers (the usual case): checked as one array, not value by value
            fast = np.asarray(inputs)
        except (ValueError, TypeError):  # lists where numbers should be: the value-by-value check names the spot
            fast = np.empty(0, dtype=object)
        if fast.dtype.kind in "biuf" and list(fast.shape) == shape:
            return _numeric_inputs(fast.astype(np.float64), names, spec)
    flat = [_flatten(sample, len(want)) for sample in inputs]  # (N, F) of Python scalars
    columns = []
    for j, name in enumerate(names):
        label = f"feature {name!r}" if spec.feature_names is not None else f"value {j}"
        col = []
        for i, sample in enumerate(flat):
            try:
                col.append(_check_value(sample[j], i, name, spec))
            except InputError as exc:  # same check, message about the position rather than a feature name
                raise InputError(str(exc).replace(f"feature {name!r}", label)) from None
        columns.append(col)
    if spec.feature_names is not None:
        return pd.DataFrame({n: _column(c, n in spec.categorical) for n, c in zip(names, columns)}, columns=names)
    arr = np.array([[np.nan if v is None else v for v in col] for col in columns], dtype=np.float64).T  # (N, F)
    return arr.reshape(len(inputs), *spec.sample_shape)


def _flatten(sample: Any, depth: int) -> list[Any]:
    """The values of one sample, ``depth`` list levels deep, in row-major order (deeper lists stay as values)."""
    level = [sample] if depth == 0 else sample
    for _ in range(depth - 1):
        level = [x for v in level for x in v]
    return level


def _numeric_inputs(arr: np.ndarray, names: list[str], spec: InputSpec) -> np.ndarray | pd.DataFrame:
    """Checks of an all-number ``inputs`` array (N, *sample_shape): finite (a missing value is ``null``, never
    NaN), whole numbers for integer models."""
    flat = arr.reshape(len(arr), -1)  # (N, F)
    bad = ~np.isfinite(flat)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        what = f"feature {names[j]!r}" if spec.feature_names is not None else f"value {j}"
        raise InputError(f"row {i}: {what} is {flat[i, j]}; send finite numbers (no NaN or infinity)")
    if spec.integer and (flat != np.round(flat)).any():
        i, j = (int(v) for v in np.argwhere(flat != np.round(flat))[0])
        raise InputError(f"row {i}: value {j} must be a whole number (this model takes integer inputs); got "
                         f"{flat[i, j]!r}")
    return _wrap(arr, flat, spec)


def _wrap(arr: np.ndarray, flat: np.ndarray, spec: InputSpec) -> np.ndarray | pd.DataFrame:
    if spec.feature_names is not None:
        return pd.DataFrame(flat, columns=list(spec.feature_names))
    return arr


def parse_payload(payload: Any, spec: InputSpec) -> np.ndarray | pd.DataFrame:
    """The body of ``POST /predict``: ``{"rows": [...]}`` or ``{"inputs": [...]}`` (exactly one of them).

    >>> parse_payload({"data": []}, InputSpec(sample_shape=(2,)))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.InputError: the body must be a JSON object with exactly one of 'rows' (a list of \
{feature: value}) or 'inputs' (a list of samples); got keys: 'data'
    """
    keys = list(payload) if isinstance(payload, dict) else []
    given = [k for k in ("rows", "inputs") if k in keys]
    extra = [k for k in keys if k not in ("rows", "inputs")]
    if not isinstance(payload, dict) or len(given) != 1 or extra:
        got = f"keys: {_names(keys)}" if isinstance(payload, dict) else f"a JSON {type(payload).__name__}"
        raise InputError("the body must be a JSON object with exactly one of 'rows' (a list of {feature: value}) or "
                         f"'inputs' (a list of samples); got {got}")
    if given[0] == "rows":
        return parse_rows(payload["rows"], spec)
    return parse_inputs(payload["inputs"], spec)
