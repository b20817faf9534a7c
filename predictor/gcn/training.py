"""Fit a GCN predictor on (architecture, accuracy) pairs: `fit(adjacency, operations, num_vertices, labels)`.

The recipe is the reference one step for step (shuffled mini-batches, last incomplete batch
dropped, Adam with L2 weight decay every step, cosine annealing per epoch); what makes it
fast is around it: graphs are encoded once, each epoch's batches and dropout masks are
gathered in one go, the network is hand-fused (`predictor.gcn`) and Adam updates one flat
buffer. A seed fixes everything: initial weights, batch order and dropout.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

from predictor.gcn.config import TrainConfig
from predictor.gcn.features import GraphTensors, check_arrays, encode_graphs
from predictor.gcn.flat_adam import FlatAdam
from predictor.gcn.fused import Architecture, DropoutMasks, GCNEnsemble
from predictor.gcn.losses import (
    classification_loss,
    huber_loss,
    masked_regression_loss,
    pairwise_ranking_loss,
    regression_loss,
)
from predictor.gcn.model import Predictor, load
from predictor.gcn.runtime import resolve_device, torch_threads

__all__ = ["TrainConfig", "Predictor", "fit", "load", "classification_threshold"]


def cosine_lr(base: float, epoch: int, epochs: int) -> float:
    """CosineAnnealingLR(T_max=epochs, eta_min=0) in closed form, stepped once per epoch."""
    return base * (1 + math.cos(math.pi * epoch / epochs)) / 2


def classification_threshold(labels: np.ndarray, config: TrainConfig) -> float:
    """The accuracy a classifier separates at: a fixed value, or a quantile of the training labels."""
    if config.threshold_quantile is not None:
        return float(np.quantile(labels, config.threshold_quantile))
    return float(config.threshold)


def _check_labels(labels: np.ndarray, n: int, name: str, allow_nan: bool = False) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.float64)
    if labels.shape[0] != n:
        raise ValueError(f"{name}: {labels.shape[0]} values for {n} modules")
    if not allow_nan and not np.isfinite(labels).all():
        raise ValueError(f"{name}: every training module needs a finite label (got NaN/inf)")
    return labels


def fit(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig | None = None,
    seed: int = 0,
    *,
    auxiliary_labels: np.ndarray | None = None,
    progress: bool = False,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Predictor:
    """Train a predictor on modules in the HDF5 layout and their accuracies in [0, 1].

    auxiliary_labels: optional (n, k) accuracies of the same modules at cheaper budgets (NaN
    where unknown), used as extra regression heads when `config.auxiliary_weight` > 0.
    """
    config = config or TrainConfig.paper()
    adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
    n = len(num_vertices)
    if n < 2:
        raise ValueError(f"need at least 2 training modules, got {n}")
    labels = _check_labels(labels, n, "labels")
    use_auxiliary = auxiliary_labels is not None and config.auxiliary_weight > 0
    if use_auxiliary:
        auxiliary = _check_labels(auxiliary_labels, n, "auxiliary_labels", allow_nan=True).reshape(n, -1)
        auxiliary_mean = np.nanmean(auxiliary, axis=0)
        auxiliary_std = np.nan_to_num(np.nanstd(auxiliary, axis=0), nan=1.0)
        auxiliary_std[auxiliary_std == 0] = 1.0
    else:
        auxiliary = np.zeros((n, 0))
        auxiliary_mean = auxiliary_std = np.zeros(0)

    device = resolve_device(config.device)
    started = time.perf_counter()
    with torch_threads(config.threads if device.type == "cpu" else None):
        if config.task == "classification":
            threshold = classification_threshold(labels, config)
            main_target = (labels > threshold).astype(np.float32)
        else:
            threshold = None
            main_target = ((labels - config.label_mean) / config.label_std).astype(np.float32)
            if config.label_floor is not None:
                main_target = np.maximum(main_target, np.float32(config.label_floor))
        targets = torch.from_numpy(
            np.concatenate([main_target[:, None], ((auxiliary - auxiliary_mean) / auxiliary_std)], axis=1).astype(
                np.float32
            )
        ).to(device)
        graphs = encode_graphs(adjacency, operations, num_vertices, device, config.readout)
        architecture = Architecture(
            members=config.ensemble,
            hidden=config.hidden,
            layers=config.layers,
            readout_hidden=config.readout_hidden,
            outputs=targets.shape[1],
            dropout=config.dropout,
            bias=config.bias,
            readout_activation=config.readout_activation,
            readout=config.readout,
        )
        network = GCNEnsemble(architecture, torch.Generator().manual_seed(seed)).to(device)
        history = _train(network, graphs, targets, config, seed, progress, on_epoch)
    network.eval()
    info = {"seed": seed, "train_size": n, "seconds": round(time.perf_counter() - started, 3), "device": str(device)}
    return Predictor(config, network, threshold, auxiliary_mean.tolist(), auxiliary_std.tolist(), history, info)


def _objective(config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The loss of one step and its gradient: outputs (E, B, outputs) against targets (E, B, outputs)."""
    ranking = config.task == "regression" and config.ranking_loss != "none" and config.ranking_weight > 0

    def objective(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        predicted, target = outputs[..., 0], targets[..., 0]
        if config.task == "classification":
            loss, gradient = classification_loss(predicted, target)
        else:
            if config.regression_loss == "huber":
                loss, gradient = huber_loss(predicted, target, config.huber_delta)
            else:
                loss, gradient = regression_loss(predicted, target)
            if config.regression_weight != 1:
                loss, gradient = loss * config.regression_weight, gradient * config.regression_weight
            if ranking:
                rank_loss, rank_gradient = pairwise_ranking_loss(
                    predicted, target, config.ranking_loss, config.ranking_margin
                )
                loss, gradient = (
                    loss + config.ranking_weight * rank_loss,
                    gradient + config.ranking_weight * rank_gradient,
                )
        if outputs.shape[-1] == 1:
            return loss, gradient.unsqueeze(-1)
        auxiliary_loss, auxiliary_gradient = masked_regression_loss(outputs[..., 1:], targets[..., 1:])
        return (
            loss + config.auxiliary_weight * auxiliary_loss,
            torch.cat([gradient.unsqueeze(-1), config.auxiliary_weight * auxiliary_gradient], dim=-1),
        )

    return objective


def _train(
    network: GCNEnsemble,
    graphs: GraphTensors,
    targets: torch.Tensor,
    config: TrainConfig,
    seed: int,
    progress: bool,
    on_epoch: Callable[[int, float], None] | None,
) -> list[float]:
    device = targets.device
    n, members = len(targets), config.ensemble
    batch = min(config.batch_size, n)
    num_steps = n // batch if config.drop_last else math.ceil(n / batch)
    used = num_steps * batch if config.drop_last else n
    optimizer = FlatAdam(network.flat_parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gradients = [p.grad for p in network.flat_parameters()]  # views of the optimizer's flat gradient
    order_generator = torch.Generator().manual_seed(seed + 1)
    dropout = DropoutMasks(network.architecture, num_steps, batch, np.random.default_rng(seed + 2), device)
    objective = _objective(config)
    # Every epoch's shuffled inputs and dropout masks are written into the same buffers, so each
    # step's per-member views of them (and its passes through the network) are set up once.
    sources = (graphs.nodes, graphs.propagation, graphs.pooling, targets)
    shuffled = [torch.empty((members * used, *t.shape[1:]), dtype=t.dtype, device=device) for t in sources]
    steps = []
    for step, (nodes, propagation, pooling, step_targets) in enumerate(
        zip(*(t.view(members, used, *t.shape[1:]).split(batch, dim=1) for t in shuffled))
    ):
        size = len(step_targets[0])
        masks = [mask[step, :, :size] for mask in dropout.masks]
        member_inputs = [(nodes[e], propagation[e], pooling[e], [m[e] for m in masks]) for e in range(members)]
        steps.append((network.passes(size, device, training=True), member_inputs, step_targets))
    history = []
    network.train()
    for epoch in tqdm(range(config.epochs), desc="training", unit="epoch", disable=not progress, leave=False):
        optimizer.lr = cosine_lr(config.lr, epoch, config.epochs)
        order = torch.cat([torch.randperm(n, generator=order_generator)[:used] for _ in range(members)]).to(device)
        for source, destination in zip(sources, shuffled):
            torch.index_select(source, 0, order, out=destination)
        dropout.sample()
        losses = []
        for passes, member_inputs, step_targets in steps:
            outputs = network.forward_members(passes, member_inputs)
            loss, grad_outputs = objective(outputs, step_targets)
            network.backward_into(passes, grad_outputs, gradients)
            optimizer.step()
            losses.append(loss)
        history.append(float(torch.stack(losses).mean()) / members)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return history
