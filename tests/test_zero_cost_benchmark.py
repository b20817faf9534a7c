"""The zero-cost benchmark on the real sample: its fusion rule, its figures, and a rerun that scores nothing again."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from predictor.child import zero_cost
from tests.benchmark_scripts import load_benchmark

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_zero_cost")


def test_fusion_follows_the_base_at_a_small_weight_and_takes_the_signal_with_its_sign(bench):
    rng = np.random.default_rng(0)
    base, signal = rng.random(50), rng.random(50)
    assert stats.kendalltau(bench.fused_ranks(base, signal, 1e-6, 1.0), base)[0] == pytest.approx(1.0)
    heavy = bench.fused_ranks(base, signal, 1e6, -1.0)
    assert stats.kendalltau(heavy, -signal)[0] == pytest.approx(1.0)


def test_the_benchmark_reports_every_signal_and_a_rerun_reads_the_cache(
    bench, sample_hdf5, real_cifar, tmp_path, monkeypatch
):
    cache, report = tmp_path / "zero_cost.jsonl", tmp_path / "zero_cost.json"
    argv = ["--data", str(sample_hdf5), "--cifar", str(real_cifar), "--sizes", "12", "--training-sets", "100"]
    argv += ["--folds", "2", "--cache", str(cache), "--json", str(report)]
    assert bench.main(argv) == 0
    figures = json.loads(report.read_text())
    assert figures["cells"] == 12 == len(cache.read_text().splitlines())
    assert set(figures["own"]) == {*zero_cost.SIGNALS, "params"}
    assert all(-1 <= own["kendall_tau"] <= 1 for own in figures["own"].values())
    assert len(figures["gains"]["12"]["gcn"]) == 2
    assert all(len(changes) == 2 for changes in figures["gains"]["12"]["synflow"].values())

    monkeypatch.setattr(zero_cost, "score_cell", lambda *a, **k: pytest.fail("a cached cell was scored again"))
    assert bench.main([*argv, "--force"]) == 0
    assert json.loads(report.read_text())["own"] == figures["own"]


def test_sizes_too_small_for_the_folds_are_refused_before_any_scoring(bench, sample_hdf5, tmp_path, capsys):
    cache = tmp_path / "zero_cost.jsonl"
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--data", str(sample_hdf5), "--cache", str(cache), "--sizes", "8", "--folds", "3"])
    assert exit_.value.code == 2 and "at least 3 x --folds" in capsys.readouterr().err and not cache.exists()
