"""The fused network against plain PyTorch: same outputs, same gradients, same training trajectory."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from predictor.gcn.config import TrainConfig
from predictor.gcn.features import encode_graphs, one_hot_operations
from predictor.gcn.flat_adam import FlatAdam
from predictor.gcn.fused import Architecture, GCNEnsemble
from predictor.gcn.plain import ReferenceGCN
from predictor.gcn.runtime import torch_threads
from predictor.gcn.training import cosine_lr, fit
from tests.test_predictor_training import random_modules


@pytest.fixture(autouse=True)
def one_thread():
    """The plain modules here run tiny matrices: extra threads only wait on each other."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def batch():
    adjacency, operations, num_vertices = random_modules(12, seed=3)
    return adjacency, operations, num_vertices, encode_graphs(adjacency, operations, num_vertices)


@pytest.mark.parametrize("members", [1, 3])
def test_fused_forward_and_gradients_equal_the_reference_module(batch, members):
    adjacency, operations, num_vertices, graphs = batch
    network = GCNEnsemble(Architecture(members=members), torch.Generator().manual_seed(0))
    masks = [m[0] for m in network.sample_dropout_masks(1, len(graphs), np.random.default_rng(0))]
    outputs = network(graphs.nodes[None], graphs.propagation[None], graphs.pooling[None], masks)
    (outputs**2).sum().backward()
    for member in range(members):
        reference = ReferenceGCN().copy_from(network, member)
        # the fused graph-layer masks carry the 1/2 of the directions' mean; the reference's do not
        reference_masks = [m[member] * 2 for m in masks[:-1]] + [masks[-1][member]]
        expected = reference(graphs.nodes, torch.from_numpy(adjacency), torch.from_numpy(num_vertices), reference_masks)
        (expected**2).sum().backward()
        torch.testing.assert_close(outputs[member, :, 0], expected, rtol=1e-5, atol=1e-6)
        for layer, weight in zip(reference.gcn, network.graph_weights):
            hidden = weight.shape[-1] // 2
            torch.testing.assert_close(weight.grad[member, :, :hidden], layer.weight_forward.grad, rtol=1e-4, atol=1e-6)
            torch.testing.assert_close(
                weight.grad[member, :, hidden:], layer.weight_backward.grad, rtol=1e-4, atol=1e-6
            )
        torch.testing.assert_close(network.fc1_weight.grad[member], reference.fc1.weight.grad.t(), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(network.fc2_weight.grad[member], reference.fc2.weight.grad.t(), rtol=1e-4, atol=1e-6)


def _autograd_forward(weights, architecture, nodes, propagation, pooling, masks):
    """The fused network written with differentiable torch ops (biases and readout activation included)."""
    layers, hidden = architecture.layers, architecture.hidden
    graph, fc1, fc2 = weights[:layers], weights[layers], weights[layers + 1]
    graph_biases, fc1_bias, fc2_bias = weights[layers + 2 : 2 * layers + 2], weights[-2], weights[-1]
    x = nodes
    for layer in range(layers):
        u = x @ graph[layer][0] + graph_biases[layer][0]
        along = torch.relu(propagation[:, 0] @ u[..., :hidden])
        against = torch.relu(propagation[:, 1] @ u[..., hidden:])
        x = (along + against) * masks[layer][0]
    h = (pooling @ x).reshape(len(x), -1) @ fc1[0] + fc1_bias[0]
    h = torch.relu(h) * masks[-1][0]
    return h @ fc2[0] + fc2_bias[0]


def test_hand_written_backward_with_biases_and_readout_activation(batch):
    adjacency, operations, num_vertices, _ = batch
    graphs = encode_graphs(adjacency, operations, num_vertices, readout="mean-output")
    architecture = Architecture(bias=True, readout_activation=True, outputs=2, readout="mean-output")
    network = GCNEnsemble(architecture, torch.Generator().manual_seed(1))
    with torch.no_grad():
        for bias in network.graph_biases:
            bias.uniform_(-0.1, 0.1)
    masks = [m[0] for m in network.sample_dropout_masks(1, len(graphs), np.random.default_rng(1))]
    outputs, cache = network.forward_with_cache(
        graphs.nodes[None], graphs.propagation[None], graphs.pooling[None], masks
    )
    grad_outputs = torch.randn(outputs.shape, generator=torch.Generator().manual_seed(2))
    gradients = network.gradients(cache, grad_outputs)

    weights = [w.detach().clone().requires_grad_(True) for w in network.flat_parameters()]
    expected = _autograd_forward(weights, architecture, graphs.nodes, graphs.propagation, graphs.pooling, masks)
    torch.testing.assert_close(outputs[0], expected, rtol=1e-5, atol=1e-6)
    (expected * grad_outputs[0]).sum().backward()
    for gradient, weight in zip(gradients, weights):
        torch.testing.assert_close(gradient, weight.grad, rtol=1e-4, atol=1e-6)

    # evaluation (prediction's own forward-only passes): no dropout, the directions' mean
    no_dropout = [torch.full_like(m, 0.5) for m in masks[:-1]] + [torch.ones_like(masks[-1])]
    with torch.no_grad():
        expected = _autograd_forward(
            weights, architecture, graphs.nodes, graphs.propagation, graphs.pooling, no_dropout
        )
    torch.testing.assert_close(network.predict(graphs, batch_size=5)[0], expected, rtol=1e-5, atol=1e-6)


def test_flat_adam_matches_torch_adam():
    generator = torch.Generator().manual_seed(0)
    first = [torch.nn.Parameter(torch.randn(5, 3, generator=generator)), torch.nn.Parameter(torch.randn(4))]
    second = [torch.nn.Parameter(p.detach().clone()) for p in first]
    flat = FlatAdam(first, lr=1e-2, weight_decay=1e-3)
    reference = torch.optim.Adam(second, lr=1e-2, weight_decay=1e-3)
    for step in range(20):
        gradients = [torch.randn(p.shape, generator=generator) for p in first]
        flat.lr = reference.param_groups[0]["lr"] = cosine_lr(1e-2, step, 20)
        for p, g in zip(first, gradients):
            p.grad.copy_(g)  # .grad are views of the flat gradient
        flat.step()
        for p, g in zip(second, gradients):
            p.grad = g.clone()
        reference.step()
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("drop_last", [True, False])
def test_fit_follows_the_plain_training_recipe_step_for_step(drop_last):
    """Same init, same batches (reshuffled each epoch, last partial batch dropped or kept), Adam per step, cosine per epoch."""
    adjacency, operations, num_vertices = random_modules(25, seed=5)
    labels = np.random.default_rng(5).uniform(0.85, 0.95, 25)
    config = TrainConfig.paper().replace(epochs=4, lr=1e-3, dropout=0.0, device="cpu", drop_last=drop_last)
    model = fit(adjacency, operations, num_vertices, labels, config, seed=7)

    reference = ReferenceGCN(dropout=0.0).copy_from(GCNEnsemble(Architecture(), torch.Generator().manual_seed(7)))
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3, weight_decay=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 4)
    nodes = torch.from_numpy(one_hot_operations(operations, num_vertices))
    matrices, vertices = torch.from_numpy(adjacency), torch.from_numpy(num_vertices)
    targets = torch.from_numpy(((labels - config.label_mean) / config.label_std).astype(np.float32))
    order_generator = torch.Generator().manual_seed(7 + 1)
    for _ in range(4):
        order = torch.randperm(25, generator=order_generator)[: 20 if drop_last else 25]
        for rows in order.split(10):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(reference(nodes[rows], matrices[rows], vertices[rows]), targets[rows])
            loss.backward()
            optimizer.step()
        scheduler.step()
    reference.eval()
    with torch.no_grad():
        expected = reference(nodes, matrices, vertices).double() * config.label_std + config.label_mean
    np.testing.assert_allclose(model.predict(adjacency, operations, num_vertices), expected.numpy(), rtol=0, atol=1e-5)
    assert math.isfinite(model.history[-1])
