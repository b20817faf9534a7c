"""train.py never replaces a run without --force, checks every output before training, and leaves a run
folder whole or not at all; its figures and summaries say what they show."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import runpy
import stat
import sys

import h5py
import numpy as np
import pytest

import train
from predictor import cli
from predictor.gcn import experiment
from predictor.gcn.plots import scatter_figure
from predictor.gcn.reporting import format_summary
from tests.conftest import REPO


def arguments(sample_hdf5, sample_splits, *more) -> list[str]:
    return ["--split", "172", "--data", str(sample_hdf5), "--splits-dir", str(sample_splits), "--quiet", *more]


QUICK = ["--config", "paper", "--epochs", "2"]


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if training starts: a refusal must come before the work."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(experiment, "train", refuse)
    monkeypatch.setattr(experiment, "run_cross_validation", refuse)
    monkeypatch.setattr(experiment, "run_two_stage", refuse)


def only_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_second_run_is_refused_before_training_and_force_replaces_it(
    sample_hdf5, sample_splits, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "run"
    previous = os.umask(0o027)
    try:
        assert train.main(arguments(sample_hdf5, sample_splits, *QUICK, "--out", str(out))) == 0
    finally:
        os.umask(previous)
    assert mode(out) == 0o750 and {mode(path) for path in out.iterdir()} == {0o640}
    first = (out / "model.pt").read_bytes()

    calls = []
    real_train = experiment.train
    monkeypatch.setattr(experiment, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    capsys.readouterr()
    assert train.main(arguments(sample_hdf5, sample_splits, *QUICK, "--out", str(out))) == 1
    assert only_error(capsys) == f"error: {out} exists; pass --force to replace it, or choose another --out"
    assert calls == [] and (out / "model.pt").read_bytes() == first
    assert train.main(arguments(sample_hdf5, sample_splits, *QUICK, "--seed", "1", "--out", str(out), "--force")) == 0
    assert calls == [1] and (out / "model.pt").read_bytes() != first
    assert sorted(os.listdir(tmp_path)) == ["run"]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_cross_validation_has_its_own_folder_and_refuses_an_existing_one(
    sample_hdf5, sample_splits, tmp_path, capsys, monkeypatch, no_training
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "172").mkdir(parents=True)  # a training run's folder is not cross-validation's
    (tmp_path / "runs" / "172-cv").mkdir()
    assert train.main(arguments(sample_hdf5, sample_splits, "--cv", "3")) == 1
    assert only_error(capsys) == "error: runs/172-cv exists; pass --force to replace it, or choose another --out"


def test_out_a_file_and_metrics_out_a_folder_are_refused_before_training(
    sample_hdf5, sample_splits, tmp_path, capsys, no_training
):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert train.main(arguments(sample_hdf5, sample_splits, "--out", str(a_file))) == 1
    assert only_error(capsys) == f"error: {a_file} is a file; give the path of a folder for the run's files"
    out = ["--out", str(tmp_path / "run")]
    assert train.main(arguments(sample_hdf5, sample_splits, *out, "--metrics-out", str(tmp_path))) == 1
    assert only_error(capsys) == f"error: {tmp_path} is a directory; give the path of a file to write"
    assert train.main(arguments(sample_hdf5, sample_splits, *out, "--metrics-out", str(a_file))) == 1
    assert "notes.txt exists; pass --force" in only_error(capsys)
    assert a_file.read_text() == "mine" and not (tmp_path / "run").exists()
    assert train.main(arguments(sample_hdf5, sample_splits, "--out", str(tmp_path), "--force")) == 1
    assert "holds 'notes.txt', which a run does not write" in only_error(capsys)  # --force never wipes a folder
    assert a_file.read_text() == "mine"


def test_an_interruption_after_the_checkpoint_leaves_no_run_folder(sample_hdf5, sample_splits, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # model.pt and metrics.json are written by now

    monkeypatch.setattr(experiment, "training_curve", interrupted)
    assert train.main(arguments(sample_hdf5, sample_splits, *QUICK, "--out", str(tmp_path / "run"))) == 130
    assert os.listdir(tmp_path) == []


def test_an_infinite_label_is_refused_before_training_naming_the_file(
    sample_hdf5, sample_splits, tmp_path, capsys, no_training
):
    data = tmp_path / "inf.hdf5"
    with h5py.File(sample_hdf5, "r") as source, h5py.File(data, "w") as target:
        for name in source:
            target[name] = source[name][:]
        target["metrics"][5, 3, 0, 1, 2] = np.inf  # row 5, 108 epochs, repeat 0, final, validation accuracy
    out = tmp_path / "run"
    assert train.main(arguments(data, sample_splits, "--out", str(out))) == 1
    error = only_error(capsys)
    assert error.startswith(f"error: {data}: 1 modules of rest have an infinite") and "row 5" in error
    assert not out.exists()


def test_two_stage_writes_its_figures_into_a_whole_folder(sample_hdf5, sample_splits, tmp_path):
    out = tmp_path / "two"
    more = [*QUICK, "--lr", "1e-3", "--stage", "two-stage", "--threshold", "0.9", "--out", str(out)]
    assert train.main(arguments(sample_hdf5, sample_splits, *more)) == 0
    assert {"scatter.png", "scatter_alone.png", "metrics.json", "classifier.pt"} <= set(os.listdir(out))
    assert os.listdir(tmp_path) == ["two"]


# --- figures and summaries ---------------------------------------------------------------------


def test_the_scatter_calls_its_axis_a_score_and_zooms_on_every_score_it_holds():
    rng = np.random.default_rng(0)
    true = rng.uniform(0.85, 0.95, 500)
    scores = true + 0.04  # a ranking loss puts scores above any accuracy: many beyond 95%
    figure = scatter_figure(scores, true)
    for axis in figure.axes:
        assert "score" in axis.get_ylabel() and "predicted accuracy" not in axis.get_ylabel()
    zoom = figure.axes[1]
    low, high = zoom.get_ylim()
    good = true >= 0.90
    assert low <= 100 * scores[good].min() and high >= 100 * scores.max() > 95
    assert zoom.get_xlim()[0] <= 100 * true[good].min() and zoom.get_xlim()[1] >= 100 * true.max()


def test_cross_validation_summary_shows_accuracies_in_percent():
    summary = {
        "kendall_tau": {"mean": 0.51234, "std": 0.01},
        "top10_mean_true": {"mean": 0.937, "std": 0.0012},
        "mse": {"mean": 5.4639, "std": 1.7419},
    }
    lines = format_summary(summary).splitlines()
    assert lines[0].split() == ["kendall_tau", "0.5123", "±", "0.0100"]
    assert lines[1].split() == ["top10_mean_true", "93.70%", "±", "0.12%"]  # as "top-10: mean 93.70%" says it
    assert lines[2].split() == ["mse", "5.464", "±", "1.742", "%^2"]  # as "MSE 5.464 %^2" says it


# --- every option with a default shows it in --help ----------------------------------------------

SCRIPTS = ["train.py", "search.py", *sorted(f"tools/{p.name}" for p in (REPO / "tools").glob("*.py"))]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_shows_every_default(script, monkeypatch):
    parsers = []
    parse = argparse.ArgumentParser.parse_known_args

    def recording(self, *args, **kwargs):
        parsers.append(self)
        return parse(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", recording)
    monkeypatch.setattr(sys, "argv", [script, "--help"])
    text = io.StringIO()
    with contextlib.redirect_stdout(text), pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(REPO / script), run_name="__main__")
    assert exit_.value.code == 0 and "usage:" in text.getvalue()
    parser = parsers[0]
    formatter = parser._get_formatter()
    missing = [
        (action.option_strings[0], shown)
        for action in parser._actions
        if (shown := cli.shown_default(action)) is not None and shown not in formatter._expand_help(action)
    ]
    assert missing == []
