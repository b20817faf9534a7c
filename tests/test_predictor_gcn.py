"""The fused engine against the plain module: same losses, gradients and weights step for step; refusals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from predictor.gcn.config import TrainConfig
from predictor.gcn.engines import FusedEngine, PlainEngine, choose_engine
from predictor.gcn.features import encode_graphs
from predictor.gcn.flat_adam import FlatAdam
from predictor.gcn.fused import FusedEngineError
from predictor.gcn.gemm import matmul_for
from predictor.gcn.network import GCN, DirectedGraphConvolution, training_targets
from predictor.gcn.runtime import torch_threads
from predictor.gcn.training import _train, cosine_lr, fit
from tests.modules import planted_labels, random_modules

PAPER = TrainConfig.paper().replace(device="cpu")
# every kind of setting the fused engine accepts: both readouts, both tasks, ranking with and without MSE,
# floored labels, no dropout, another width, depth and vocabulary, a batch that leaves a remainder
ACCEPTED = {
    "paper": PAPER,
    "recommended": TrainConfig.recommended().replace(device="cpu"),
    "classification": PAPER.replace(task="classification", threshold=0.9, readout="mean-output"),
    "ranking-alone": PAPER.replace(regression_weight=0.0, ranking_weight=1.0, hidden=16, readout_hidden=8),
    "shape": PAPER.replace(layers=2, hidden=24, readout_hidden=12, dropout=0.0, label_floor=-1.0, batch_size=7),
    "vocabulary": PAPER.replace(num_op_types=5, layers=4, hidden=32, lr=1e-3),
}


@pytest.fixture(autouse=True)
def one_thread():
    """The plain modules here run tiny matrices: extra threads only wait on each other."""
    with torch_threads(1):
        yield


def _inputs(config: TrainConfig, n: int = 25, seed: int = 5):
    adjacency, operations, num_vertices = random_modules(n, seed=seed)
    if config.num_op_types > 3:  # codes of the extra operation types on some interior vertices
        interior = (np.arange(7)[None] > 0) & (np.arange(7)[None] < num_vertices[:, None] - 1)
        extra = np.random.default_rng(seed).integers(0, config.num_op_types, operations.shape)
        operations = np.where(interior, extra, operations).astype(np.int8)
    labels = planted_labels(operations, num_vertices) + np.random.default_rng(seed).normal(0, 0.005, n)
    graphs = encode_graphs(adjacency, operations, num_vertices, "cpu", config.readout, config.num_op_types)
    return (adjacency, operations, num_vertices, labels), graphs, torch.from_numpy(training_targets(labels, config))


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_engines_take_the_same_steps(name):
    """Same initial weights, batches and dropout masks: the same loss, gradients and weights after every step."""
    config = ACCEPTED[name].replace(epochs=3)
    _, graphs, targets = _inputs(config)
    plain_network, fused_network = GCN(config, torch.Generator().manual_seed(3)), GCN(config)
    fused_network.load_state_dict(plain_network.state_dict())
    plain = choose_engine("plain", plain_network, config, graphs, targets)
    fused = choose_engine("fused", fused_network, config, graphs, targets)
    assert isinstance(plain, PlainEngine) and isinstance(fused, FusedEngine)
    steps = {}
    for engine, network in ((plain, plain_network), (fused, fused_network)):
        trace = []

        def record(epoch: int, loss: float, network=network, trace=trace) -> None:
            trace.append((loss, [p.detach().clone() for p in network.parameters()]))

        engine_steps = []
        original_step = engine.step

        def step(index: int, original_step=original_step, network=network, engine_steps=engine_steps):
            loss = original_step(index)
            engine_steps.append((float(loss), [p.grad.clone() for p in network.parameters()]))
            return loss

        engine.step = step
        _train(engine, network, graphs, targets, config, seed=3, progress=False, on_epoch=record)
        steps[engine.name] = engine_steps, trace
    (plain_steps, plain_epochs), (fused_steps, fused_epochs) = steps["plain"], steps["fused"]
    assert len(plain_steps) == len(fused_steps) == 3 * (25 // config.batch_size)
    for (plain_loss, plain_grads), (fused_loss, fused_grads) in zip(plain_steps, fused_steps):
        assert fused_loss == pytest.approx(plain_loss, rel=1e-4, abs=1e-6)
        for expected, got in zip(plain_grads, fused_grads):
            torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-5)
    for (plain_loss, plain_weights), (fused_loss, fused_weights) in zip(plain_epochs, fused_epochs):
        assert fused_loss == pytest.approx(plain_loss, rel=1e-4, abs=1e-6)
        for expected, got in zip(plain_weights, fused_weights):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_a_model_trained_by_either_engine_saves_loads_and_predicts_the_same(tmp_path):
    config = ACCEPTED["recommended"].replace(epochs=4)
    arrays, _, _ = _inputs(config, n=40)
    predictions = {}
    for engine in ("plain", "fused"):
        model = fit(*arrays, config, seed=1, engine=engine)
        assert model.info["engine"] == engine
        assert set(model.network.state_dict()) == set(GCN(config).state_dict())
        again = type(model).load(model.save(tmp_path / f"{engine}.pt"), device="cpu")
        predictions[engine] = model.predict(*arrays[:3])
        np.testing.assert_array_equal(again.predict(*arrays[:3]), predictions[engine])
        plain_module = again.predict(*arrays[:3], engine="plain")
        np.testing.assert_allclose(plain_module, predictions[engine], rtol=0, atol=1e-6)
    np.testing.assert_allclose(predictions["fused"], predictions["plain"], rtol=0, atol=1e-5)


class ResidualGCN(GCN):
    """A researcher's variant: the same parameters, a residual connection around every graph layer after the first."""

    def forward(self, nodes, propagation, pooling, masks=None):
        masks = masks if masks is not None else [None] * (len(self.graph_layers) + 1)
        x = self.graph_layers[0](nodes, propagation, masks[0])
        for layer, mask in zip(self.graph_layers[1:], masks[1:]):
            x = x + layer(x, propagation, mask)
        h = (pooling @ x).flatten(1) @ self.fc1
        return (h @ self.fc2).squeeze(-1)


class WiderInputGCN(GCN):
    """A researcher's variant with one more layer type: a linear embedding of the node types first."""

    def __init__(self, config, generator=None):
        super().__init__(config, generator)
        self.embed = torch.nn.Linear(config.num_op_types + 2, config.num_op_types + 2, bias=False)

    def forward(self, nodes, propagation, pooling, masks=None):
        return super().forward(self.embed(nodes), propagation, pooling, masks)


@pytest.mark.parametrize("variant", ["residual", "wider-input", "edited-in-place"])
def test_the_fused_engine_refuses_a_network_it_does_not_compute_and_the_plain_engine_trains_it(variant, monkeypatch):
    config = PAPER.replace(epochs=2)
    _, graphs, targets = _inputs(config)
    if variant == "edited-in-place":  # GCN itself changed: same class, same parameters; only the probe can tell
        monkeypatch.setattr(GCN, "forward", ResidualGCN.forward)
    kind = {"residual": ResidualGCN, "wider-input": WiderInputGCN, "edited-in-place": GCN}[variant]
    network = kind(config, torch.Generator().manual_seed(0))
    with pytest.raises(FusedEngineError, match="use engine='plain'"):
        choose_engine("fused", network, config, graphs, targets)
    engine = choose_engine("auto", network, config, graphs, targets)
    assert isinstance(engine, PlainEngine)
    before = [p.detach().clone() for p in network.parameters()]
    history = _train(engine, network, graphs, targets, config, seed=0, progress=False, on_epoch=None)
    assert len(history) == 2 and np.isfinite(history).all()
    assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters()))


@dataclasses.dataclass(frozen=True)
class ConfigWithANewSetting(TrainConfig):
    """A researcher's new setting, which only the plain module reads."""

    residual: bool = False


def test_the_fused_engine_refuses_a_setting_it_was_not_taught_unless_at_its_default():
    _, graphs, targets = _inputs(PAPER)
    assert isinstance(choose_engine("fused", GCN(PAPER), ConfigWithANewSetting(), graphs, targets), FusedEngine)
    config = ConfigWithANewSetting(residual=True)
    with pytest.raises(FusedEngineError, match="residual"):
        choose_engine("fused", GCN(config), config, graphs, targets)
    assert isinstance(choose_engine("auto", GCN(config), config, graphs, targets), PlainEngine)


def test_the_plain_module_layers_compute_the_paper_formula():
    """X' = (relu(P_fwd X W_fwd) + relu(P_bwd X W_bwd)) / 2 in evaluation mode."""
    config = PAPER
    _, graphs, _ = _inputs(config, n=6)
    layer = DirectedGraphConvolution(5, 4, 0.1, torch.Generator().manual_seed(0)).eval()
    w_fwd, w_bwd = layer.weight[:, :4], layer.weight[:, 4:]
    p_fwd, p_bwd = graphs.propagation[:, 0], graphs.propagation[:, 1]
    expected = (torch.relu(p_fwd @ graphs.nodes @ w_fwd) + torch.relu(p_bwd @ graphs.nodes @ w_bwd)) / 2
    torch.testing.assert_close(layer(graphs.nodes, graphs.propagation, None), expected)


def test_flat_adam_matches_torch_adam():
    generator = torch.Generator().manual_seed(0)
    first = [torch.nn.Parameter(torch.randn(5, 3, generator=generator)), torch.nn.Parameter(torch.randn(4))]
    second = [torch.nn.Parameter(p.detach().clone()) for p in first]
    flat = FlatAdam(first, lr=1e-2, weight_decay=1e-3)
    fallback = [torch.nn.Parameter(p.detach().clone()) for p in first]
    flat_fallback = FlatAdam(fallback, lr=1e-2, weight_decay=1e-3)
    flat_fallback._fused = False  # the whole-buffer update used where torch has no fused kernel
    reference = torch.optim.Adam(second, lr=1e-2, weight_decay=1e-3)
    for step in range(20):
        gradients = [torch.randn(p.shape, generator=generator) for p in first]
        flat.lr = flat_fallback.lr = reference.param_groups[0]["lr"] = cosine_lr(1e-2, step, 20)
        for p, q, g in zip(first, fallback, gradients):
            p.grad.copy_(g)  # .grad are views of the flat gradient
            q.grad.copy_(g)
        flat.step()
        flat_fallback.step()
        for p, g in zip(second, gradients):
            p.grad = g.clone()
        reference.step()
    for a, b, c in zip(first, fallback, second):
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-6)


def test_the_routed_matrix_product_equals_torch_mm():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(70, 144, generator=generator), torch.randn(144, 288, generator=generator)
    product = matmul_for(10**9, torch.device("cpu"))  # large work: oneDNN where this machine has it
    for left, right in ((a, b), (a.t().contiguous().t(), b), (a, b.t().contiguous().t())):
        torch.testing.assert_close(product(left, right), left @ right, rtol=1e-5, atol=1e-4)
