"""The agreement benchmark: which cells it picks, its GPU setting run tiny on a CPU, and its resume."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.child.results_log import ResultsLog
from tests.benchmark_scripts import load_benchmark
from tests.synthetic_cifar import write_synthetic_cifar

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_child_agreement")


def test_cells_are_spread_over_the_range_worst_and_best_included(bench):
    rng = np.random.default_rng(3)
    accuracy = rng.uniform(0.7, 0.95, 1_000)
    accuracy[[5, 17]] = 0.1, np.nan  # a blown-up run and a missing one
    rows = bench.stratified_rows(accuracy, 10, seed=0)
    assert rows == bench.stratified_rows(accuracy, 10, seed=0)  # fixed seed
    assert 5 not in rows and 17 not in rows
    sound = np.sort(accuracy[np.isfinite(accuracy) & (accuracy >= 0.2)])
    assert accuracy[rows[0]] == sound[0] and accuracy[rows[-1]] == sound[-1]
    ranks = np.searchsorted(sound, accuracy[rows])
    assert all(i * 99 <= rank < (i + 1) * 100 for i, rank in enumerate(ranks))  # one per stratum of ~100


@pytest.mark.slow
def test_the_gpu_setting_runs_tiny_on_a_cpu_and_resumes_without_retraining(bench, sample_hdf5, tmp_path, capsys):
    cifar = tmp_path / "cifar"
    write_synthetic_cifar(cifar, images_per_file=16)
    out, plot = tmp_path / "agreement.jsonl", tmp_path / "agreement.png"
    args = [
        *("--setting", "gpu", "--device", "cpu", "--data", str(sample_hdf5), "--cifar", str(cifar)),
        *("--out", str(out), "--plot", str(plot), "--cells", "3", "--epochs", "1", "2"),
        *("--long-cells", "3", "--long-epochs", "3", "--stem-channels", "4", "--batch-size", "16", "--lr", "0.01"),
        "--no-progress",
    ]
    assert bench.main(args) == 0
    first = capsys.readouterr().out
    records = ResultsLog(out).read()
    assert sorted(r["epochs"] for r in records) == [1] * 3 + [2] * 3 + [3] * 3
    assert all(r["protocol"]["preset"] == "benchmark" and r["protocol"]["shape"]["stem_channels"] == 4 for r in records)
    assert first.count("Kendall tau") == 5  # vs 108 and vs the nearest budget for 1 and 2 epochs; vs 108 for the best
    assert plot.stat().st_size > 0
    for record in records:  # every trained cell has a table row with its own accuracy
        assert any(line.startswith(record["hash"]) for line in first.splitlines())

    # interrupted: the last cell's line is lost; the rerun trains that one cell only
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:-1]))
    assert bench.main(args) == 0
    again = ResultsLog(out).read()
    assert len(again) == len(records) and again[:-1] == records[:-1] and again[-1]["hash"] == records[-1]["hash"]
    assert bench.main([*args, "--report"]) == 0 and ResultsLog(out).read() == again
