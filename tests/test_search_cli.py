"""The command line on the real sample: a tiny comparison, its files, and worker-count independence."""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import replace

import numpy as np
import pytest

import search
from predictor.data.dataset import NASBench
from predictor.search.benchmark import Benchmark
from predictor.search.registry import StrategySettings
from predictor.search.runner import run_comparison
from predictor.search.topk import rank_top_k, write_top_k
from search import main
from tests.search_fixtures import space_of
from tests.search_stand_ins import ridge_fit


def test_compare_writes_the_summary_curves_and_figure(sample_hdf5, tmp_path, capsys, monkeypatch):
    settings_from = search.settings_from  # the learned strategies fit the ridge stand-in, not the GCN: fast
    monkeypatch.setattr(search, "settings_from", lambda args: replace(settings_from(args), fit=ridge_fit, recipe=None))
    out = tmp_path / "summary.json"
    code = main(
        [
            "--compare",
            "random,params,evolution,predictor",
            "--budget",
            "40",
            "--trials",
            "2",
            "--data",
            str(sample_hdf5),
            "--out",
            str(out),
            "--out-dir",
            str(tmp_path),
            "--workers",
            "1",
            "--initial-queries",
            "10",
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "percentage points" in printed and "regret@50" not in printed and "regret@?" not in printed
    summary = json.loads(out.read_text())
    assert summary["pool_size"] == len(NASBench(sample_hdf5))
    assert summary["trials"] == 2 and summary["budget"] == 40
    for name in ("random", "params", "evolution", "predictor"):
        strategy = summary["strategies"][name]
        assert "median_queries_to_top_0.1pct" in strategy
        assert set(strategy["regret_at"]) == set()  # no reporting budget fits in 40 queries
        assert len(strategy["queries_to_target_per_trial"]) == 2
    with gzip.open(tmp_path / "curves.csv.gz", "rt") as file:
        lines = file.read().splitlines()
    assert len(lines) == 1 + 4 * 2 * 40
    assert (tmp_path / "search_curves.png").stat().st_size > 10_000


def test_regret_is_reported_at_the_budgets_within_reach(sample_hdf5, tmp_path):
    out = tmp_path / "summary.json"
    assert (
        main(
            [
                "--compare",
                "random,params",
                "--budget",
                "160",
                "--trials",
                "3",
                "--data",
                str(sample_hdf5),
                "--out",
                str(out),
                "--out-dir",
                str(tmp_path),
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    summary = json.loads(out.read_text())
    benchmark = Benchmark.from_file(sample_hdf5)
    with gzip.open(tmp_path / "curves.csv.gz", "rt") as file:
        rows = [line.split(",") for line in file.read().splitlines()[1:]]
    for name in ("random", "params"):
        regret = summary["strategies"][name]["regret_at"]
        assert set(regret) == {"50", "100", "150"}
        at_150 = [float(r[7]) for r in rows if r[0] == name and r[2] == "150"]
        assert regret["150"] == pytest.approx(np.mean(at_150), abs=1e-3)
        assert all(0 <= value <= benchmark.best_validation * 100 for value in at_150)


def test_unknown_strategy_is_refused(sample_hdf5, tmp_path, capsys):
    assert main(["--compare", "random,nonsense", "--data", str(sample_hdf5), "--out-dir", str(tmp_path)]) == 2
    assert "nonsense" in capsys.readouterr().err


def test_results_do_not_depend_on_the_number_of_workers(sample_hdf5):
    settings = StrategySettings(fit=ridge_fit, recipe=None, initial_queries=10)
    names = ["random", "evolution", "predictor"]
    one = run_comparison(sample_hdf5, names, 30, 2, seed=3, workers=1, settings=settings, progress=False)
    two = run_comparison(sample_hdf5, names, 30, 2, seed=3, workers=2, settings=settings, progress=False)
    for key, result in one.results.items():
        assert np.array_equal(result.rows, two.results[key].rows)
        assert np.array_equal(result.observed, two.results[key].observed)
    assert not np.array_equal(one.results[("random", 0)].rows, one.results[("random", 1)].rows)


def test_top_k_ranks_every_module_of_the_space_and_writes_what_child_training_reads(sample_hdf5, tmp_path):
    bench = Benchmark.from_file(sample_hdf5)
    labelled = np.arange(0, len(bench), 2)  # the "space" holds modules the dataset below does not
    model = ridge_fit(
        bench.adjacency[labelled],
        bench.operations[labelled],
        bench.num_vertices[labelled],
        bench.mean_validation[labelled],
    )
    recorded = bench.subset(np.arange(0, len(bench), 3))
    space = space_of(bench)
    data = tmp_path / "partial.hdf5"
    _write_subset(sample_hdf5, data, np.arange(0, len(bench), 3))

    top, _ = rank_top_k(model, space, 25, data)
    scores = model.predict(bench.adjacency, bench.operations, bench.num_vertices)
    assert [m.score for m in top] == pytest.approx(np.sort(scores)[::-1][:25].tolist())
    for module in top:
        row = bench.row(module.hash)
        cell = bench.cell(row)
        assert module.adjacency == cell.matrix.tolist() and module.ops == list(cell.ops)
        in_data = recorded.row(module.hash) is not None
        assert (module.recorded_validation_accuracy is not None) == in_data
        if in_data:
            assert module.recorded_validation_accuracy == pytest.approx(bench.mean_validation[row])

    path = tmp_path / "top.json"
    write_top_k(path, top)
    written = json.loads(path.read_text())
    assert len(written) == 25
    assert {"hash", "adjacency", "ops", "score", "recorded_validation_accuracy"} <= set(written[0])
    table = tmp_path / "top.csv"
    write_top_k(table, top)
    with open(table, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["hash"] for r in rows] == [m.hash for m in top]
    assert json.loads(rows[0]["adjacency"]) == top[0].adjacency


def _write_subset(source, target, rows) -> None:
    import h5py

    with h5py.File(source, "r") as full, h5py.File(target, "w") as part:
        for name in ("hash", "num_vertices", "trainable_parameters", "adjacency", "operations", "metrics"):
            part[name] = full[name][:][rows]


def test_checkpoint_mode_ranks_the_space_and_writes_json(sample_hdf5, tmp_path, monkeypatch, capsys):
    """`search.py --checkpoint` end to end, with a stand-in model and the sample standing in for the space."""
    import predictor.data.space as space_module
    import predictor.search.topk as topk

    bench = Benchmark.from_file(sample_hdf5)
    model = ridge_fit(bench.adjacency, bench.operations, bench.num_vertices, bench.mean_validation)
    space = space_of(bench)
    monkeypatch.setattr(topk, "load_predictor", lambda path: model)
    monkeypatch.setattr(space_module, "load_space", lambda *args, **kwargs: space)
    out = tmp_path / "top.json"
    assert (
        main(
            [
                "--checkpoint",
                str(tmp_path / "model.pt"),
                "--top-k",
                "5",
                "--data",
                str(sample_hdf5),
                "--out-topk",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    written = json.loads(out.read_text())
    assert [m["rank"] for m in written] == [1, 2, 3, 4, 5]
    assert all(m["hash"] in printed for m in written)
    assert all(m["recorded_validation_accuracy"] is not None for m in written), "every module is in the sample"


def test_resume_keeps_finished_trials_and_refuses_another_run(sample_hdf5, tmp_path, capsys):
    common = [
        "--compare",
        "random,evolution",
        "--budget",
        "30",
        "--data",
        str(sample_hdf5),
        "--workers",
        "1",
        "--out-dir",
        str(tmp_path),
        "--no-progress",
    ]
    assert main([*common, "--trials", "2"]) == 0
    first = json.loads((tmp_path / "summary.json").read_text())
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 4
    with open(tmp_path / "trials.jsonl", "a") as file:
        file.write('{"strategy": "random", "tri')  # a line cut short by an interruption

    assert main([*common, "--trials", "3", "--resume"]) == 0
    second = json.loads((tmp_path / "summary.json").read_text())
    assert second["resumed_trials"] == 4
    for name in ("random", "evolution"):
        assert (
            second["strategies"][name]["queries_to_target_per_trial"][:2]
            == first["strategies"][name]["queries_to_target_per_trial"]
        )
    fresh = tmp_path / "fresh"
    assert main([*common[:-3], "--out-dir", str(fresh), "--no-progress", "--trials", "3"]) == 0
    uninterrupted = json.loads((fresh / "summary.json").read_text())["strategies"]
    for name, summary in second["strategies"].items():
        assert {k: v for k, v in summary.items() if k != "seconds_per_trial"} == {
            k: v for k, v in uninterrupted[name].items() if k != "seconds_per_trial"
        }
    with gzip.open(fresh / "curves.csv.gz", "rt") as a, gzip.open(tmp_path / "curves.csv.gz", "rt") as b:
        assert a.read() == b.read()

    capsys.readouterr()
    assert main([*common, "--trials", "3", "--resume", "--seed", "5"]) == 1
    assert "another run" in capsys.readouterr().err
