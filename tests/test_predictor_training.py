"""fit / predict / save / load: learning, invariance, determinism and the public interface."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from predictor.data.cell import Cell, InvalidCellError
from predictor.gcn.config import TrainConfig
from predictor.gcn.features import cells_to_arrays, random_relabelling
from predictor.gcn.losses import (
    classification_loss,
    huber_loss,
    masked_regression_loss,
    pairwise_ranking_loss,
    regression_loss,
)
from predictor.gcn.training import Predictor, fit, load


def random_cells(count: int, seed: int = 0) -> list[Cell]:
    """Valid cells drawn at random (7 vertices before pruning, as the space's sampler does)."""
    rng = np.random.default_rng(seed)
    cells: dict[str, Cell] = {}
    while len(cells) < count:
        matrix = np.triu(rng.integers(0, 2, (7, 7)), k=1)
        ops = ["input"] + list(rng.choice(["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"], 5)) + ["output"]
        try:
            cell = Cell.from_spec(matrix, ops)
        except InvalidCellError:
            continue
        cells[cell.hash] = cell
    return list(cells.values())


def random_modules(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cells_to_arrays(random_cells(count, seed))


def planted_labels(operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """Accuracy rising with the fraction of conv3x3 among the interior vertices: a signal the GCN must find."""
    interior = np.maximum(num_vertices - 2, 1)
    real = np.arange(7)[None, :] < num_vertices[:, None] - 1
    conv3x3 = ((operations == 0) & real).sum(axis=1) - 0  # input (-1) and output (-2) are never 0
    return 0.86 + 0.07 * conv3x3 / interior


FAST = TrainConfig.paper().replace(epochs=40, lr=2e-3, device="cpu")


@pytest.fixture(scope="module")
def planted():
    adjacency, operations, num_vertices = random_modules(450, seed=1)
    labels = planted_labels(operations, num_vertices)
    train, test = slice(0, 150), slice(150, None)
    model = fit(adjacency[train], operations[train], num_vertices[train], labels[train], FAST, seed=0)
    return model, adjacency, operations, num_vertices, labels, train, test


def test_learns_a_planted_signal(planted):
    model, adjacency, operations, num_vertices, labels, train, test = planted
    predicted = model.predict(adjacency[test], operations[test], num_vertices[test])
    constant_mse = np.mean((labels[test] - labels[train].mean()) ** 2)
    model_mse = np.mean((labels[test] - predicted) ** 2)
    assert model_mse < 0.2 * constant_mse, (model_mse, constant_mse)
    assert np.corrcoef(predicted, labels[test])[0, 1] > 0.9


def test_isomorphic_modules_get_the_same_prediction(planted):
    model, adjacency, operations, num_vertices, *_ = planted
    relabelled_adjacency, relabelled_operations = random_relabelling(
        adjacency, operations, num_vertices, np.random.default_rng(3)
    )
    moved = (relabelled_operations != operations).any(axis=1)
    assert moved.sum() > 50  # the check must actually permute vertices
    np.testing.assert_allclose(
        model.predict(relabelled_adjacency, relabelled_operations, num_vertices),
        model.predict(adjacency, operations, num_vertices),
        rtol=0,
        atol=1e-6,
    )


def test_checkpoint_round_trip_gives_identical_predictions(planted, tmp_path):
    model, adjacency, operations, num_vertices, *_ = planted
    model.train_hashes = np.array([b"0" * 32, b"f" * 32], dtype="S32")
    path = model.save(tmp_path / "model.pt")
    again = load(path, device="cpu")
    np.testing.assert_array_equal(
        again.predict(adjacency, operations, num_vertices), model.predict(adjacency, operations, num_vertices)
    )
    assert again.config == model.config and again.history == model.history
    np.testing.assert_array_equal(again.train_hashes, model.train_hashes)
    assert isinstance(Predictor.load(path, device="cpu"), Predictor)


def test_predictions_do_not_depend_on_batching_and_cells_equal_arrays(planted):
    model, adjacency, operations, num_vertices, *_ = planted
    whole = model.predict(adjacency, operations, num_vertices)
    assert whole.dtype == np.float64 and whole.shape == (len(num_vertices),)
    np.testing.assert_allclose(model.predict(adjacency, operations, num_vertices, batch_size=7), whole, atol=1e-6)
    cells = [Cell.from_padded(a, o, v) for a, o, v in zip(adjacency[:20], operations[:20], num_vertices[:20])]
    np.testing.assert_allclose(model.predict_cells(cells), whole[:20], atol=1e-6)
    assert model.predict(adjacency[:0], operations[:0], num_vertices[:0]).shape == (0,)


def test_same_seed_same_model_other_seed_other_model():
    adjacency, operations, num_vertices = random_modules(60, seed=2)
    labels = planted_labels(operations, num_vertices)
    config = TrainConfig.paper().replace(epochs=3, device="cpu")
    first = fit(adjacency, operations, num_vertices, labels, config, seed=11).predict(
        adjacency, operations, num_vertices
    )
    second = fit(adjacency, operations, num_vertices, labels, config, seed=11).predict(
        adjacency, operations, num_vertices
    )
    other = fit(adjacency, operations, num_vertices, labels, config, seed=12).predict(
        adjacency, operations, num_vertices
    )
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_ensemble_members_differ_and_are_averaged():
    adjacency, operations, num_vertices = random_modules(40, seed=4)
    labels = planted_labels(operations, num_vertices)
    config = TrainConfig.paper().replace(epochs=3, ensemble=3, ranking_loss="hinge", ranking_weight=1.0, device="cpu")
    model = fit(adjacency, operations, num_vertices, labels, config, seed=0)
    members = model.predict_members(adjacency, operations, num_vertices)
    assert members.shape == (3, 40)
    assert not np.allclose(members[0], members[1])
    np.testing.assert_allclose(model.predict(adjacency, operations, num_vertices), members.mean(axis=0))


def test_auxiliary_targets_are_accepted_with_gaps():
    adjacency, operations, num_vertices = random_modules(40, seed=6)
    labels = planted_labels(operations, num_vertices)
    auxiliary = np.stack([labels - 0.3, labels - 0.1], axis=1)
    auxiliary[::7, 0] = np.nan
    config = TrainConfig.paper().replace(epochs=3, auxiliary_budgets=(12, 36), auxiliary_weight=1.0, device="cpu")
    model = fit(adjacency, operations, num_vertices, labels, config, seed=0, auxiliary_labels=auxiliary)
    assert model.network.architecture.outputs == 3
    assert np.isfinite(model.predict(adjacency, operations, num_vertices)).all()


def test_bad_inputs_are_refused():
    adjacency, operations, num_vertices = random_modules(10, seed=7)
    labels = planted_labels(operations, num_vertices)
    with pytest.raises(ValueError, match="finite"):
        fit(adjacency, operations, num_vertices, np.where(np.arange(10) == 3, np.nan, labels))
    with pytest.raises(ValueError, match="7"):
        fit(adjacency[:, :6, :6], operations, num_vertices, labels)
    with pytest.raises(ValueError, match="task"):
        TrainConfig(task="ranking")


def test_config_presets_and_round_trip():
    paper = TrainConfig.paper()
    assert (paper.hidden, paper.layers, paper.readout_hidden, paper.dropout) == (144, 3, 128, 0.1)
    assert (paper.epochs, paper.batch_size, paper.lr, paper.weight_decay) == (300, 10, 1e-4, 1e-3)
    assert (paper.label_mean, paper.label_std, paper.ensemble, paper.ranking_loss) == (0.908192, 0.023961, 1, "none")
    recommended = TrainConfig.recommended()
    assert recommended != paper
    assert TrainConfig.from_dict(recommended.to_dict()) == recommended
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"learning_rate": 1.0})


@pytest.mark.parametrize("kind", ["hinge", "logistic"])
def test_loss_gradients_match_autograd(kind):
    generator = torch.Generator().manual_seed(0)
    predicted = torch.randn(2, 6, generator=generator, requires_grad=True)
    target = torch.randn(2, 6, generator=generator)
    checks = [
        (regression_loss, (target,)),
        (lambda p, t: huber_loss(p, t, 0.5), (target,)),
        (lambda p, t: pairwise_ranking_loss(p, t, kind, 0.3), (target,)),
        (classification_loss, ((target > 0).float(),)),
    ]
    for loss_function, extra in checks:
        loss, gradient = loss_function(predicted, *extra)
        (expected,) = torch.autograd.grad(loss, predicted)
        torch.testing.assert_close(gradient, expected)
    auxiliary = torch.randn(2, 6, 2, generator=generator, requires_grad=True)
    aux_target = torch.randn(2, 6, 2, generator=generator)
    aux_target[0, 1, 0] = float("nan")
    loss, gradient = masked_regression_loss(auxiliary, aux_target)
    (expected,) = torch.autograd.grad(loss, auxiliary)
    torch.testing.assert_close(gradient, expected)
