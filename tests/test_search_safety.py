"""search.py never loses a trial log, never ranks by garbage, and fails in one line."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import search
from predictor.search.benchmark import Benchmark
from search import main
from tests.search_fixtures import space_of
from tests.search_stand_ins import diverging_fit, dying_fit

STAND_IN = "tests.search_stand_ins:ridge_fit"


def _compare(sample_hdf5, out_dir, *extra) -> list[str]:
    return [
        "--compare",
        "random,params",
        "--budget",
        "20",
        "--trials",
        "2",
        "--data",
        str(sample_hdf5),
        "--workers",
        "1",
        "--out-dir",
        str(out_dir),
        "--no-progress",
        *map(str, extra),
    ]


@pytest.fixture
def earlier_run(sample_hdf5, tmp_path):
    """An out-dir whose trials.jsonl holds a finished comparison."""
    assert main(_compare(sample_hdf5, tmp_path)) == 0
    log = tmp_path / "trials.jsonl"
    assert len(log.read_text().splitlines()) == 1 + 4
    return log


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize(
    "bad", [["--budget", "0"], ["--trials", "-1"], ["--workers", "0"], ["--exploration", "nan"], ["--seed", "-3"]]
)
def test_a_refused_comparison_leaves_the_earlier_trials(sample_hdf5, earlier_run, capsys, bad):
    before = earlier_run.read_bytes()
    with pytest.raises(SystemExit) as refused:
        main([*_compare(sample_hdf5, earlier_run.parent, "--restart"), *bad])
    assert refused.value.code == 2
    assert bad[0] in _one_line_error(capsys)
    assert earlier_run.read_bytes() == before


def test_trials_resume_could_use_are_kept_unless_restart_is_asked(sample_hdf5, earlier_run, capsys):
    before = earlier_run.read_bytes()
    assert main(_compare(sample_hdf5, earlier_run.parent, "--seed", 1)) == 1
    assert "--resume" in _one_line_error(capsys) and earlier_run.read_bytes() == before
    assert main(_compare(sample_hdf5, earlier_run.parent, "--seed", 1, "--resume")) == 1
    assert "--restart" in _one_line_error(capsys) and earlier_run.read_bytes() == before
    assert main(_compare(sample_hdf5, earlier_run.parent, "--seed", 1, "--restart")) == 0
    assert json.loads(earlier_run.read_text().splitlines()[0])["seed"] == 1


def test_a_torn_last_line_is_dropped_before_resuming(sample_hdf5, earlier_run):
    with open(earlier_run, "a") as file:
        file.write('{"strategy": "random", "tri')  # cut short by an interruption
    assert main([*_compare(sample_hdf5, earlier_run.parent, "--resume"), "--trials", "3"]) == 0
    records = [json.loads(line) for line in earlier_run.read_text().splitlines()[1:]]  # every line parses
    assert sorted((r["strategy"], r["trial"]) for r in records) == [
        (s, t) for s in ("params", "random") for t in range(3)
    ]


def test_a_worker_error_reaches_the_user_as_one_line(sample_hdf5, tmp_path, capsys, monkeypatch):
    settings_from = search.settings_from  # the predictor strategy fits a stand-in whose training diverges
    monkeypatch.setattr(search, "settings_from", lambda args: replace(settings_from(args), fit=diverging_fit))
    code = main(
        [
            *_compare(sample_hdf5, tmp_path),
            "--compare",
            "predictor",
            "--workers",
            "2",
            "--initial-queries",
            "5",
        ]
    )
    assert code == 1
    assert _one_line_error(capsys) == "error: training diverged (non-finite loss); lower the learning rate"
    assert not (tmp_path / "trials.jsonl").exists()


@pytest.fixture
def sample_space(sample_hdf5, monkeypatch):
    """The sample standing in for the space, so ranking takes milliseconds."""
    import predictor.data.space as space_module

    bench = Benchmark.from_file(sample_hdf5)
    space = space_of(bench)
    monkeypatch.setattr(space_module, "load_space", lambda *args, **kwargs: space)
    return bench


def test_non_finite_scores_are_refused(sample_hdf5, sample_space, tmp_path, monkeypatch, capsys):
    import predictor.search.topk as topk
    from tests.search_stand_ins import NaNModel

    monkeypatch.setattr(topk, "load_predictor", lambda path: NaNModel())
    out = tmp_path / "top.json"
    args = ["--checkpoint", str(tmp_path / "model.pt"), "--data", str(sample_hdf5), "--out-topk", str(out)]
    assert main(args) == 1
    assert "NaN or infinite" in _one_line_error(capsys)
    assert not out.exists()


def test_the_ranking_column_is_a_score_not_an_accuracy(sample_hdf5, sample_space, tmp_path, monkeypatch, capsys):
    """Outputs of an uncalibrated predictor exceed any real accuracy: they are never called one."""
    import predictor.search.topk as topk
    from tests.search_stand_ins import RidgeModel, features

    bench = sample_space
    size = features(bench.adjacency[:1], bench.operations[:1], bench.num_vertices[:1]).shape[1]
    monkeypatch.setattr(topk, "load_predictor", lambda path: RidgeModel(np.ones(size)))  # scores far above 1
    out = tmp_path / "top.json"
    args = ["--checkpoint", str(tmp_path / "m.pt"), "--data", str(sample_hdf5), "--top-k", "3", "--out-topk", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "score" in printed.splitlines()[0] and "predicted" not in printed
    assert all("accuracy" not in key or key.startswith("recorded") for key in json.loads(out.read_text())[0])
    assert main(args) == 1  # an existing top-k is not replaced without --force
    assert "--force" in _one_line_error(capsys)
    assert main([*args, "--force"]) == 0


@pytest.mark.parametrize("top_k", ["-5", "0", "10001", "1e3"])
def test_top_k_is_checked_before_anything_runs(tmp_path, capsys, top_k):
    with pytest.raises(SystemExit) as refused:
        main(["--checkpoint", str(tmp_path / "missing.pt"), "--top-k", top_k])
    assert refused.value.code == 2
    assert "--top-k" in _one_line_error(capsys)


def test_a_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert main(["--checkpoint", str(tmp_path / "missing.pt")]) == 1
    assert _one_line_error(capsys).startswith(f"error: {tmp_path / 'missing.pt'}: no such checkpoint")


def test_an_existing_out_file_is_refused_before_any_trial(sample_hdf5, tmp_path, capsys):
    mine = tmp_path / "mine.json"
    mine.write_text("not a summary\n")
    assert main([*_compare(sample_hdf5, tmp_path / "run"), "--out", str(mine)]) == 1
    assert "exists; pass --force" in _one_line_error(capsys)
    assert mine.read_text() == "not a summary\n" and not (tmp_path / "run" / "trials.jsonl").exists()
    assert main([*_compare(sample_hdf5, tmp_path / "run"), "--out", str(mine), "--force"]) == 0
    assert json.loads(mine.read_text())["trials"] == 2


def test_resume_refuses_a_data_file_whose_contents_changed(sample_hdf5, tmp_path, capsys):
    import shutil

    import h5py

    data = tmp_path / "nasbench.hdf5"
    shutil.copyfile(sample_hdf5, data)
    assert main([*_compare(data, tmp_path / "run")]) == 0
    with h5py.File(data, "r+") as file:
        file["metrics"][0] = np.asarray(file["metrics"][0]) * 0.5  # same path, same size, other accuracies
    capsys.readouterr()
    assert main([*_compare(data, tmp_path / "run"), "--resume"]) == 1
    error = _one_line_error(capsys)
    assert "another run" in error and "data_sha256" in error


@pytest.mark.parametrize(
    "edit, says",
    [
        (lambda record: {**record, "budget": 30}, "budget 30"),
        (lambda record: {**record, "rows": record["rows"] + record["rows"][:5]}, "25 queries"),
        (lambda record: {}, "lacks"),
        (lambda record: [1, 2], "got list"),
    ],
)
def test_resume_refuses_a_trial_that_does_not_fit_the_run(sample_hdf5, earlier_run, capsys, edit, says):
    lines = earlier_run.read_text().splitlines()
    lines[2] = json.dumps(edit(json.loads(lines[2])))
    earlier_run.write_text("\n".join(lines) + "\n")
    before = earlier_run.read_bytes()
    assert main([*_compare(sample_hdf5, earlier_run.parent, "--resume")]) == 1
    error = _one_line_error(capsys)
    assert f"{earlier_run} line 3:" in error and says in error and "--restart" in error
    assert earlier_run.read_bytes() == before


@pytest.mark.parametrize(
    "line, garbage, says", [(0, "garbage", "not JSON"), (3, "garbage", "not JSON"), (0, "[1, 2]", "not a run's")]
)
def test_a_log_line_that_is_not_json_is_named_by_file_and_line(sample_hdf5, earlier_run, capsys, line, garbage, says):
    lines = earlier_run.read_text().splitlines()
    lines[line] = garbage
    earlier_run.write_text("\n".join(lines) + "\n")
    assert main([*_compare(sample_hdf5, earlier_run.parent, "--resume")]) == 1
    assert _one_line_error(capsys).startswith(f"error: {earlier_run} line {line + 1}: {says}")


def test_resume_says_which_outputs_it_rewrites(sample_hdf5, earlier_run, capsys):
    capsys.readouterr()
    assert main([*_compare(sample_hdf5, earlier_run.parent, "--resume")]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("resuming")]
    assert said == [
        f"resuming: 4 trials kept from {earlier_run}; rewriting {earlier_run.parent / 'summary.json'}, "
        f"{earlier_run.parent / 'curves.csv.gz'}, {earlier_run.parent / 'search_curves.png'}"
    ]


def test_a_second_comparison_on_the_same_log_is_refused_while_the_first_runs(sample_hdf5, tmp_path, capsys):
    from predictor.search.trial_log import log_lock

    with log_lock(tmp_path / "trials.jsonl"):  # the first comparison, still running
        assert main(_compare(sample_hdf5, tmp_path)) == 1
        assert "being written by another comparison" in _one_line_error(capsys)
        assert not (tmp_path / "trials.jsonl").exists()
    assert main(_compare(sample_hdf5, tmp_path)) == 0  # the lock goes with the run that held it


def test_an_interruption_while_writing_the_outputs_leaves_the_earlier_ones(sample_hdf5, earlier_run, monkeypatch):
    import predictor.search.report as report

    out = earlier_run.parent
    before = {name: (out / name).read_bytes() for name in ("summary.json", "curves.csv.gz", "search_curves.png")}

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "plot_comparison", interrupted)
    assert main([*_compare(sample_hdf5, out, "--resume"), "--trials", "3"]) == 130
    assert {name: (out / name).read_bytes() for name in before} == before
    assert not [path for path in out.iterdir() if path.name.endswith(".tmp")]

    fresh = out / "fresh"
    assert main(_compare(sample_hdf5, fresh)) == 130
    assert sorted(path.name for path in fresh.iterdir()) == [".trials.jsonl.lock", "trials.jsonl"]


@pytest.mark.parametrize(
    "bad",
    [
        ["--budget", "1000000000"],
        ["--budget", "423625"],
        ["--trials", "1000000000"],
        ["--initial-queries", "1000000000"],
        ["--paper-initial-queries", "1000000000"],
    ],
)
def test_sizes_past_the_space_are_refused_while_parsing(sample_hdf5, tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as refused:
        main([*_compare(sample_hdf5, tmp_path), *bad])
    assert refused.value.code == 2
    assert bad[0] in _one_line_error(capsys)


def test_a_worker_that_dies_is_one_line_naming_it_not_a_hang(sample_hdf5, tmp_path, capsys, monkeypatch):
    settings_from = search.settings_from  # the predictor strategy's fit ends its worker process
    monkeypatch.setattr(search, "settings_from", lambda args: replace(settings_from(args), fit=dying_fit))
    arguments = [*_compare(sample_hdf5, tmp_path), "--compare", "predictor", "--workers", "2", "--initial-queries", "5"]
    assert main(arguments) == 1
    error = _one_line_error(capsys)
    assert error.startswith("error: worker process") and "died (exit code 9)" in error
