"""Metrics and cross-validation folds."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.gcn.cross_validation import cross_validate, fold_indices
from predictor.gcn.evaluation import classification_metrics, regression_metrics, summarize
from predictor.gcn.training import TrainConfig
from tests.modules import planted_labels, random_modules


def test_regression_metrics_on_known_values():
    true = np.array([0.90, 0.91, 0.92, 0.93, 0.94])
    perfect = regression_metrics(true, true, top_k=(2,))
    assert (
        perfect["mse"] == 0 and perfect["kendall_tau"] == pytest.approx(1) and perfect["spearman"] == pytest.approx(1)
    )
    assert perfect["top2_mean_true"] == pytest.approx(0.935) and perfect["top2_best_true"] == pytest.approx(0.94)
    reversed_ = regression_metrics(true[::-1].copy(), true, top_k=(2,))
    assert reversed_["kendall_tau"] == pytest.approx(-1)
    assert reversed_["top2_mean_true"] == pytest.approx(0.905)
    shifted = regression_metrics(true + 0.01, true)
    assert shifted["mse"] == pytest.approx(1.0)  # one point = 1 %^2
    assert "top10_mean_true" not in shifted  # k must be smaller than n


def test_classification_metrics_on_known_values():
    metrics = classification_metrics(np.array([0.9, 0.8, 0.3, 0.6, 0.1]), np.array([1, 1, 0, 0, 0], bool))
    assert metrics["precision"] == pytest.approx(2 / 3) and metrics["recall"] == 1
    assert metrics["auc"] == pytest.approx(1.0)


def test_summary_is_mean_and_std():
    summary = summarize([{"a": 1.0, "n": 3}, {"a": 3.0, "n": 3}])
    assert summary["a"] == {"mean": 2.0, "std": 1.0}


def test_folds_partition_the_training_set():
    folds = fold_indices(23, 5, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(23))
    assert {len(f) for f in folds} <= {4, 5}
    with pytest.raises(ValueError):
        fold_indices(3, 5)


def test_cross_validation_predicts_every_module_once():
    adjacency, operations, num_vertices = random_modules(40, seed=8)
    labels = planted_labels(operations, num_vertices)
    result = cross_validate(adjacency, operations, num_vertices, labels, TrainConfig.paper().replace(epochs=2), k=4)
    assert len(result.folds) == 4 and np.isfinite(result.out_of_fold).all()
    assert result.pooled["n"] == 40
    assert set(result.summary) >= {"mse", "kendall_tau", "spearman"}


def test_the_tau_by_size_figure_is_a_png_and_never_replaces_a_file_unasked(tmp_path):
    from predictor.data.atomic import OutputExistsError
    from predictor.gcn.plots import kendall_tau_by_size

    runs = {"a": {100: [{"kendall_tau": 0.7}, {"kendall_tau": 0.72}], 172: [{"kendall_tau": 0.75}]}}
    path = kendall_tau_by_size(runs, {"a": "method a"}, tmp_path / "tau.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputExistsError):
        kendall_tau_by_size(runs, {}, path)
    kendall_tau_by_size(runs, {}, path, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["tau.png"]
