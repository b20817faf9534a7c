"""On the real sample: the classifier beats chance, two stages run, the fast fit learns real labels."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.data.dataset import NASBench
from predictor.gcn.evaluation import classification_metrics, regression_metrics
from predictor.gcn.training import TrainConfig, fit
from predictor.gcn.two_stage import fit_two_stage


@pytest.fixture(scope="module")
def sample(sample_hdf5):
    bench = NASBench(sample_hdf5)
    labels = bench.accuracy()
    rows = np.random.default_rng(0).permutation(len(bench))
    train, test = rows[:400], rows[400:4400]
    return bench, labels, train, test


def arrays(bench, rows):
    return bench.adjacency[rows], bench.operations[rows], bench.num_vertices[rows]


def test_classifier_beats_chance(sample):
    bench, labels, train, test = sample
    config = TrainConfig.paper().replace(task="classification", threshold=0.91, epochs=30, lr=1e-3)
    model = fit(*arrays(bench, train), labels[train], config, seed=0)
    assert model.threshold == 0.91
    probability = model.predict(*arrays(bench, test))
    assert ((probability >= 0) & (probability <= 1)).all()
    metrics = classification_metrics(probability, labels[test] > 0.91)
    assert metrics["auc"] > 0.75, metrics


def test_two_stages(sample):
    bench, labels, train, test = sample
    config = TrainConfig.paper().replace(epochs=15, lr=1e-3, threshold=0.91)
    two = fit_two_stage(*arrays(bench, train), labels[train], config, config, seed=0)
    assert two.classifier.threshold == 0.91 and two.regressor.threshold is None
    kept = two.keep(*arrays(bench, test))
    assert 0 < kept.sum() < len(test)
    scores = two.predict(*arrays(bench, test))
    assert np.isnan(scores[~kept]).all() and np.isfinite(scores[kept]).all()
    order = two.rank(*arrays(bench, test))
    assert kept[order[: kept.sum()]].all()


def test_short_training_on_real_labels_ranks_better_than_chance(sample):
    bench, labels, train, test = sample
    model = fit(*arrays(bench, train[:172]), labels[train[:172]], TrainConfig.paper().replace(epochs=60), seed=0)
    metrics = regression_metrics(model.predict(*arrays(bench, test)), labels[test])
    assert metrics["kendall_tau"] > 0.3, metrics
