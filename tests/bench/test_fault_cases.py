"""Each case of the fault suite (bench/fault_suite.py) once, small: every fault answered clearly, nothing lost."""

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import fault_cases  # noqa: E402


def _assert_all_answered(outcome):
    assert outcome.tried > 0
    assert outcome.problems == [] and outcome.answered == outcome.tried and outcome.lost == 0


@pytest.mark.slow  # starts a training process and kills it
def test_a_training_process_killed_at_random_loses_nothing_and_is_not_left_running(tmp_path):
    outcome = fault_cases.kill_during_training(tmp_path, random.Random(1), trials=1)
    _assert_all_answered(outcome)


@pytest.mark.slow  # a child process meets the file-size limit on four kinds of write
def test_writes_past_a_file_size_limit_are_answered_as_a_disk_problem(tmp_path):
    outcome = fault_cases.disk_full(tmp_path, random.Random(0), tmpfs=False)
    assert outcome.tried == 4
    _assert_all_answered(outcome)


@pytest.mark.slow  # 35 damaged files through the parsing worker
def test_damaged_files_of_every_kind_are_answered_naming_the_file(tmp_path):
    outcome = fault_cases.corrupt_files(tmp_path, random.Random(0), rounds=1)
    assert outcome.tried == 4 * 2 * 4 + 3
    _assert_all_answered(outcome)


def test_fuzzed_predict_requests_get_a_4xx_with_a_json_error(tmp_path):
    outcome = fault_cases.fuzz_predict(tmp_path, random.Random(0), n=40)
    assert outcome.tried == 40
    _assert_all_answered(outcome)


@pytest.mark.slow  # 19 uploads through the parsing worker
def test_crafted_uploads_are_refused_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TESLA_MAX_EXPANDED_MB", "8")  # smaller bombs, same logic
    outcome = fault_cases.crafted_uploads(tmp_path, random.Random(0))
    _assert_all_answered(outcome)


def test_the_judges_tell_a_clear_answer_from_an_unclear_one():
    from tesla_lab.errors import DataError, StoreError

    assert fault_cases._is_clear(DataError("'x.csv' is not a readable .gz archive"), names="x.csv")
    assert not fault_cases._is_clear(DataError("'x.csv' ..."), names="y.csv")
    assert not fault_cases._is_clear(ValueError("bad"))
    assert not fault_cases._is_clear(StoreError("unexpected KeyError: 'a'"))
    assert fault_cases.WRONG_FOR_DISK.search("store.db is not a readable TESLA store ...; move it aside")
    outcome = fault_cases.Outcome("demo")
    outcome.add(True)
    outcome.add(False, "why")
    assert (outcome.tried, outcome.answered, outcome.problems) == (2, 1, ["why"])
