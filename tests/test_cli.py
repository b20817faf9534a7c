"""Every command: bad numbers refused while parsing, expected failures in one line, tracebacks only with --debug."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import pytest

import search
import train
from predictor import cli
from tests.commands import run_tool
from tests.conftest import REPO

# --- the argument types --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0", "-5", "11", "1.5", "ten", ""])
def test_integer_refuses_what_is_out_of_range(text):
    with pytest.raises(argparse.ArgumentTypeError, match="from 1 to 10"):
        cli.integer(1, 10)(text)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "0", "-1e-9", "x"])
def test_positive_real_refuses_zero_negatives_and_non_finite(text):
    with pytest.raises(argparse.ArgumentTypeError, match="> 0"):
        cli.positive_real(text)


def test_types_accept_their_range():
    assert cli.integer(1, 10)("10") == 10 and cli.positive_real("1e-3") == 1e-3 and cli.probability("1") == 1.0


# --- the wrapper ---------------------------------------------------------------------------------


@cli.entry_point
def _failing(argv):
    cli.ArgumentParser().parse_args(argv)
    raise FileNotFoundError("data/x.hdf5: no such file; make it with the converter\n(second line)")


@cli.entry_point
def _buggy(argv):
    return {}["a bug"]


@cli.entry_point
def _interrupted(argv):
    raise KeyboardInterrupt


def test_an_expected_error_is_one_line_and_exit_1(capsys):
    assert _failing([]) == 1
    assert capsys.readouterr().err == "error: data/x.hdf5: no such file; make it with the converter\n"


def test_debug_shows_the_traceback():
    with pytest.raises(FileNotFoundError):
        _failing(["--debug"])


def test_a_bug_keeps_its_traceback():
    with pytest.raises(KeyError):
        _buggy([])


def test_an_interruption_is_one_line(capsys):
    assert _interrupted([]) == 130
    assert capsys.readouterr().err == "interrupted (SIGINT)\n"


def _busy(seconds: float) -> None:
    time.sleep(seconds)


@cli.entry_point
def _fails_while_workers_run(argv):
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map_async(_busy, [30, 30])
        time.sleep(0.5)
        raise ValueError("a bad value found while workers ran")  # leaving the block terminates the workers


def test_workers_stopped_on_the_way_out_die_quietly(capfd):
    """Forked workers inherit the command's signal handlers: SIGTERM must still simply end them."""
    started = time.monotonic()
    assert _fails_while_workers_run([]) == 1
    assert capfd.readouterr().err == "error: a bad value found while workers ran\n"
    assert time.monotonic() - started < 10


# --- every command refuses bad numbers before it does anything ----------------------------------

TOOL_CASES = [
    ("nasbench_tfrecord_converter.py", ["--workers", "0"]),
    ("nasbench_tfrecord_converter.py", ["--workers", "two"]),
    ("split_train_val.py", ["--sizes", "100", "-1"]),
    ("split_train_val.py", ["--thresholds", "1.5"]),
    ("split_train_val.py", ["--seed", "-1"]),
    ("make_synthetic_tfrecord.py", ["--modules", "0"]),
    ("make_synthetic_tfrecord.py", ["--modules", "500000"]),
    ("make_synthetic_tfrecord.py", ["--repeats", "4"]),
    ("train_child.py", ["--cells", "x.json", "--threads", "0"]),
]


@pytest.mark.parametrize(("tool", "bad"), TOOL_CASES)
def test_tools_refuse_bad_numbers(tool, bad, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_tool(tool, *bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "argument" in err[0] and "--help" in err[0]
    assert os.listdir(tmp_path) == []


TRAIN_CASES = [
    ["--epochs", "0"],
    ["--epochs", "-3"],
    ["--lr", "nan"],
    ["--lr", "0"],
    ["--batch-size", "0"],
    ["--dropout", "1"],
    ["--weight-decay", "-1e-4"],
    ["--label-std", "0"],
    ["--threshold-quantile", "1"],
    ["--cv", "1"],
    ["--seed", "-1"],
    ["--threads", "0"],
]


@pytest.mark.parametrize("bad", TRAIN_CASES)
def test_train_refuses_bad_numbers(bad, tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        train.main(["--split", "172", "--out", str(tmp_path / "run"), *bad])
    assert refused.value.code == 2 and bad[0] in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "bad", [["--budget", "-1"], ["--trials", "0"], ["--initial-queries", "0"], ["--ensemble", "0"], ["--workers", "-2"]]
)
def test_search_refuses_bad_numbers(bad, capsys):
    with pytest.raises(SystemExit) as refused:
        search.main(["--compare", "random", *bad])
    assert refused.value.code == 2 and bad[0] in capsys.readouterr().err


# --- train.py on files that are not what they should be ---------------------------------------


def test_train_on_a_file_that_is_not_hdf5(tmp_path, capsys):
    data = tmp_path / "data.hdf5"
    data.write_text("a text file")
    out = ["--out", str(tmp_path / "run")]
    assert train.main(["--split", "172", "--data", str(data), "--splits-dir", str(REPO / "splits"), *out]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an HDF5 file" in err[0]


@pytest.mark.parametrize("damage", ["truncated", "random bytes", "empty"])
def test_evaluate_on_a_damaged_checkpoint(sample_hdf5, tmp_path, capsys, damage):
    import torch

    whole = tmp_path / "whole.pt"
    torch.save({"format": "something", "state": torch.zeros(1000)}, whole)
    checkpoint = tmp_path / "model.pt"
    content = {"truncated": whole.read_bytes()[:500], "random bytes": os.urandom(4096), "empty": b""}[damage]
    checkpoint.write_bytes(content)
    assert train.main(["--evaluate", str(checkpoint), "--data", str(sample_hdf5)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable predictor checkpoint" in err[0], err
    with pytest.raises(ValueError, match="not a readable predictor checkpoint"):
        train.main(["--evaluate", str(checkpoint), "--data", str(sample_hdf5), "--debug"])
