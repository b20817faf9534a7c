"""fit / predict / save / load: learning, invariance, determinism and the public interface."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from predictor.data.cell import Cell
from predictor.gcn.config import TrainConfig
from predictor.gcn.losses import objective
from predictor.gcn.network import loss
from predictor.gcn.runtime import flush_denormals
from predictor.gcn.training import Predictor, TrainingDivergedError, fit, load
from tests.modules import planted_labels, random_modules
from tests.relabelling import random_relabelling

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


@pytest.mark.parametrize("engine", ["plain", "fused"])
def test_divergence_is_an_error_not_a_model(engine):
    adjacency, operations, num_vertices = random_modules(40, seed=4)
    labels = planted_labels(operations, num_vertices)
    config = TrainConfig.paper().replace(epochs=20, lr=1000.0, device="cpu")
    with pytest.raises(TrainingDivergedError, match="smaller learning rate"):
        fit(adjacency, operations, num_vertices, labels, config, seed=0, engine=engine)


def test_predict_refuses_non_finite_scores(planted):
    model, adjacency, operations, num_vertices, *_ = planted
    damaged = Predictor(model.config, type(model.network)(model.config), model.history, model.info)
    damaged.network.load_state_dict(model.network.state_dict())
    with torch.no_grad():
        damaged.network.fc2[0, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match="not finite"):
        damaged.predict(adjacency, operations, num_vertices)


def test_bad_inputs_are_refused():
    adjacency, operations, num_vertices = random_modules(10, seed=7)
    labels = planted_labels(operations, num_vertices)
    with pytest.raises(ValueError, match="finite"):
        fit(adjacency, operations, num_vertices, np.where(np.arange(10) == 3, np.nan, labels))
    with pytest.raises(ValueError, match="7"):
        fit(adjacency[:, :6, :6], operations, num_vertices, labels)
    with pytest.raises(ValueError, match="task"):
        TrainConfig(task="ranking")
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=float("nan"))
    with pytest.raises(ValueError, match="pretraining_epochs"):
        TrainConfig(pretraining_epochs=-1)


def test_config_presets_and_round_trip():
    paper = TrainConfig.paper()
    assert (paper.hidden, paper.layers, paper.readout_hidden, paper.dropout) == (144, 3, 128, 0.1)
    assert (paper.epochs, paper.batch_size, paper.lr, paper.weight_decay) == (300, 10, 1e-4, 1e-3)
    assert (paper.readout, paper.regression_weight, paper.ranking_weight, paper.num_op_types) == ("mean", 1, 0, 3)
    recommended = TrainConfig.recommended()
    assert recommended != paper
    assert TrainConfig.from_dict(recommended.to_dict()) == recommended
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"learning_rate": 1.0})


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig.paper(),
        TrainConfig.recommended(),
        TrainConfig.paper().replace(regression_weight=0.0, ranking_weight=1.0, ranking_temperature=0.3),
        TrainConfig.paper().replace(task="classification"),
    ],
    ids=["mse", "mse+ranking", "ranking", "classification"],
)
def test_the_fused_objective_gradients_match_autograd_on_the_model_loss(config):
    generator = torch.Generator().manual_seed(0)
    predicted = torch.randn(7, generator=generator, requires_grad=True)
    target = torch.randn(7, generator=generator)
    if config.task == "classification":
        target = (target > 0).float()
    expected_loss = loss(predicted, target, config)
    (expected,) = torch.autograd.grad(expected_loss, predicted)
    value, gradient = objective(config)(predicted.detach(), target)
    torch.testing.assert_close(value, expected_loss.detach())
    torch.testing.assert_close(gradient, expected)


def test_fits_treat_subnormal_floats_as_zero_and_restore_the_default():
    tiny = torch.tensor([1e-39])  # subnormal in float32
    with flush_denormals():
        assert (tiny * 1.0).item() == 0.0
    assert (tiny * 1.0).item() > 0.0
