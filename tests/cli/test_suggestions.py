"""A mistyped command or flag is a usage error (exit 2) that names the closest valid one."""

import subprocess
import sys

import pytest

from tesla_lab.cli.app import suggest


def test_a_mistyped_command_suggests_the_closest_one(tesla):
    code, out, err = tesla("trian")
    assert code == 2
    assert "invalid choice: 'trian'; did you mean 'train'?" in err
    assert out == ""


def test_a_mistyped_flag_suggests_the_closest_flag_of_that_command(tesla):
    code, _, err = tesla("train", "--epohcs", "3")
    assert code == 2
    assert "tesla train: error: unrecognized arguments: --epohcs 3; did you mean '--epochs'?" in err


def test_several_mistyped_flags_are_each_named(tesla):
    code, _, err = tesla("train", "--epohcs=3", "--sed", "1")
    assert code == 2
    assert "did you mean '--epochs' for '--epohcs', '--seed' for '--sed'?" in err


def test_a_flag_of_a_subcommand_is_suggested_from_that_subcommand(tesla):
    code, _, err = tesla("runs", "--jsn")
    assert (code, "tesla runs: error: unrecognized arguments: --jsn; did you mean '--json'?") == (2, err.strip()
                                                                                                    .splitlines()[-1])


def test_nothing_close_gives_no_suggestion(tesla):
    code, _, err = tesla("runs", "--zzzzzz")
    assert code == 2
    assert err.strip().splitlines()[-1] == "tesla runs: error: unrecognized arguments: --zzzzzz"


@pytest.mark.parametrize(("word", "choices", "expected"), [
    ("trian", ["train", "runs"], "; did you mean 'train'?"),
    ("evalute", ["evaluate", "deploy"], "; did you mean 'evaluate'?"),
    ("q", ["train", "runs"], ""),
])
def test_suggest(word, choices, expected):
    assert suggest(word, choices) == expected


def test_the_installed_command_exits_2_with_the_suggestion():
    done = subprocess.run([sys.executable, "-m", "tesla_lab.cli", "trian"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "did you mean 'train'?" in done.stderr


def test_epochs_is_a_name_for_iterations(tesla):
    from tesla_lab.cli import build_parser

    args = build_parser().parse_args(["train", "-m", "m", "--epochs", "7"])
    assert args.iterations == 7
