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

from predictor.config import TrainConfig
from predictor.features import GraphTensors, check_arrays, encode_graphs
from predictor.flat_adam import FlatAdam
from predictor.gcn import Architecture, DropoutMasks, GCNEnsemble
from predictor.losses import (
    classification_loss,
    huber_loss,
    masked_regression_loss,
    pairwise_ranking_loss,
    regression_loss,
)
from predictor.model import Predictor, load
from predictor.runtime import resolve_device, torch_threads

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
            np.concatenate([main_target[:, None], ((auxiliary - auxiliary_mean) / auxiliary_std)], axis=1)
            .astype(np.float32)
        ).to(device)
        graphs = encode_graphs(adjacency, operations, num_vertices, device, config.readout)
        architecture = Architecture(
            members=config.ensemble, hidden=config.hidden, layers=config.layers,
            readout_hidden=config.readout_hidden, outputs=targets.shape[1], dropout=config.dropout,
            bias=config.bias, readout_activation=config.readout_activation, readout=config.readout,
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
                loss, gradient = loss + config.ranking_weight * rank_loss, gradient + config.ranking_weight * rank_gradient
        if outputs.shape[-1] == 1:
            return loss, gradient.unsqueeze(-1)
        auxiliary_loss, auxiliary_gradient = masked_regression_loss(outputs[..., 1:], targets[..., 1:])
        return (
            loss + config.auxiliary_weight * auxiliary_loss,
            torch.cat([gradient.unsqueeze(-1), config.auxiliary_weight * auxiliary_gradient], dim=-1),
        )

    return objective


def _train(network: GCNEnsemble, graphs: GraphTensors, targets: torch.Tensor, config: TrainConfig, seed: int,
           progress: bool, on_epoch: Callable[[int, float], None] | None) -> list[float]:
    device = targets.device
    n, members = len(targets), config.ensemble
    batch = min(config.batch_size, n)
    steps = n // batch if config.drop_last else math.ceil(n / batch)
    used = steps * batch if config.drop_last else n
    optimizer = FlatAdam(network.flat_parameters(), lr=config.lr, weight_decay=config.weight_decay)
    order_generator = torch.Generator().manual_seed(seed + 1)
    dropout = DropoutMasks(network.architecture, steps, batch, np.random.default_rng(seed + 2), device)
    objective = _objective(config)
    history = []
    network.train()
    for epoch in tqdm(range(config.epochs), desc="training", unit="epoch", disable=not progress, leave=False):
        optimizer.lr = cosine_lr(config.lr, epoch, config.epochs)
        order = torch.stack([torch.randperm(n, generator=order_generator)[:used] for _ in range(members)]).to(device)
        # the epoch's batches and masks as per-step views, made with one call per tensor
        batches = zip(*(tensor[order].split(batch, dim=1)
                        for tensor in (graphs.nodes, graphs.propagation, graphs.pooling, targets)))
        step_masks = zip(*(mask.unbind(0) for mask in dropout.sample()))
        losses = []
        for (nodes, propagation, pooling, step_targets), masks in zip(batches, step_masks):
            if nodes.shape[1] < batch:  # the last, smaller batch (drop_last=False)
                masks = [mask[:, :nodes.shape[1]] for mask in masks]
            outputs, cache = network.forward_with_cache(nodes, propagation, pooling, masks)
            loss, grad_outputs = objective(outputs, step_targets)
            optimizer.step_with(network.gradients(cache, grad_outputs))
            losses.append(loss)
        history.append(float(torch.stack(losses).mean()) / members)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return history
