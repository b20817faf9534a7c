"""On the real sample: the classifier beats chance, two stages run, the fast fit learns real labels,
pre-training learns from real cells."""

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


def test_structure_targets_of_real_modules_match_their_enumerated_paths(sample):
    from predictor.gcn.pretraining import structure_targets
    from tests.modules import enumerated_paths

    bench, _, train, _ = sample
    targets = structure_targets(*arrays(bench, train))
    for row, facts in zip(train, targets):
        cell = bench.cell(row)
        paths = enumerated_paths(cell)
        convs = [ops.count(0) for ops in paths]
        op_counts = [cell.ops[1:-1].count(op) for op in ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")]
        expected = [*op_counts, cell.num_vertices, cell.num_edges, len(paths), max(map(len, paths)) + 1]
        assert facts == pytest.approx([*expected, max(convs), np.mean(convs)])


def test_an_encoder_pretrained_on_real_cells_is_fine_tuned_on_real_labels(sample, tmp_path, monkeypatch):
    """Pre-training on the sample's 20,031 real cells (standing in for the space), then the recommended fit."""
    from predictor.gcn import pretraining

    bench, labels, train, test = sample
    cells = arrays(bench, np.arange(len(bench)))
    monkeypatch.setattr(pretraining, "space_cells", lambda progress=False: cells)
    monkeypatch.setattr(pretraining, "CACHE_DIR", tmp_path)
    config = TrainConfig.recommended().replace(pretraining_epochs=2, epochs=60, device="cpu")
    model = fit(*arrays(bench, train[:172]), labels[train[:172]], config, seed=0)
    record = pretraining.cached_encoder(config)
    assert record["cells"] == len(bench) and record["losses"][-1] < 0.5  # standardized: 1.0 is knowing nothing
    metrics = regression_metrics(model.predict(*arrays(bench, test)), labels[test])
    assert metrics["kendall_tau"] > 0.5, metrics
