"""Fit a GCN predictor on (architecture, accuracy) pairs: `fit(adjacency, operations, num_vertices, labels)`.

The recipe is the reference one step for step (shuffled mini-batches, last incomplete batch
dropped, Adam with L2 weight decay every step, cosine annealing per epoch). The model is
`network.GCN`; an engine (`engines.py`) takes the steps: plain autograd, or the fused fast
path when it computes the same network ("auto", the default). Graphs are encoded once and
each epoch's batches and dropout masks are drawn in one go. A seed fixes everything:
initial weights, batch order and dropout, whichever engine trains.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

from predictor.common.errors import TrainingDivergedError
from predictor.gcn.config import TrainConfig
from predictor.gcn.engines import DropoutMasks, FusedEngine, PlainEngine, choose_engine
from predictor.gcn.features import GraphTensors, check_arrays, encode_graphs
from predictor.gcn.fitted import Predictor, load
from predictor.gcn.network import GCN, training_targets
from predictor.gcn.pretraining import cached_encoder, load_encoder
from predictor.gcn.runtime import flush_denormals, resolve_device, torch_threads

__all__ = ["TrainConfig", "Predictor", "TrainingDivergedError", "fit", "load"]


def cosine_lr(base: float, epoch: int, epochs: int) -> float:
    """CosineAnnealingLR(T_max=epochs, eta_min=0) in closed form, stepped once per epoch."""
    return base * (1 + math.cos(math.pi * epoch / epochs)) / 2


def _check_labels(labels: np.ndarray, n: int) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.float64)
    if labels.shape != (n,):
        raise ValueError(f"labels: shape {labels.shape} for {n} modules")
    if not np.isfinite(labels).all():
        raise ValueError("labels: every training module needs a finite label (got NaN/inf)")
    outside = np.flatnonzero((labels < 0) | (labels > 1))
    if len(outside):
        raise ValueError(
            f"labels: accuracies lie in [0, 1], got {labels[outside[0]]:g} (training module {outside[0]}); "
            "give accuracies as fractions"
        )
    return labels


def fit(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig | None = None,
    seed: int = 0,
    *,
    engine: str = "auto",
    progress: bool = False,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Predictor:
    """Train a predictor on modules in the HDF5 layout and their accuracies in [0, 1].

    engine: "plain" (autograd), "fused" (the fast path; FusedEngineError if it cannot compute this
    model) or "auto" (fused when it can). Raises TrainingDivergedError when the loss or the
    predictions stop being finite.
    """
    config = config or TrainConfig.paper()
    adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
    n = len(num_vertices)
    if n < 2:
        raise ValueError(f"need at least 2 training modules, got {n}")
    labels = _check_labels(labels, n)
    device = resolve_device(config.device)
    encoder = cached_encoder(config, progress) if config.pretraining_epochs else None  # timed apart: made once
    started = time.perf_counter()
    with torch_threads(config.threads if device.type == "cpu" else None), flush_denormals():
        targets = torch.from_numpy(training_targets(labels, config)).to(device)
        graphs = encode_graphs(adjacency, operations, num_vertices, device, config.readout, config.num_op_types)
        network = GCN(config, torch.Generator().manual_seed(seed))
        if encoder is not None:
            load_encoder(network, encoder["encoder"])
        network = network.to(device)
        trainer = choose_engine(engine, network, config, graphs, targets)
        history = _train(trainer, network, graphs, targets, config, seed, progress, on_epoch)
        network.eval()
        with torch.no_grad():
            if not torch.isfinite(network(graphs.nodes, graphs.propagation, graphs.pooling)).all():
                raise TrainingDivergedError(_diverged(config, "its predictions on the training modules are not finite"))
    info = {
        "seed": seed,
        "train_size": n,
        "seconds": round(time.perf_counter() - started, 3),
        "device": str(device),
        "engine": trainer.name,
    }
    if encoder is not None:
        info["pretraining_seconds"] = round(float(encoder["seconds"]), 3)
        if "made" in encoder:  # made by this process: part of this run's time
            info["encoder_made_seconds"] = {part: round(seconds, 3) for part, seconds in encoder["made"].items()}
    return Predictor(config, network, history, info)


def _diverged(config: TrainConfig, what: str) -> str:
    return f"training diverged: {what} (lr {config.lr:g}); train again with a smaller learning rate (--lr)"


def _train(
    engine: PlainEngine | FusedEngine,
    network: GCN,
    graphs: GraphTensors,
    targets: torch.Tensor,
    config: TrainConfig,
    seed: int,
    progress: bool,
    on_epoch: Callable[[int, float], None] | None,
) -> list[float]:
    n, device = len(targets), targets.device
    batch = min(config.batch_size, n)
    steps = n // batch  # the reference DataLoader drops the last incomplete batch
    order_generator = torch.Generator().manual_seed(seed + 1)
    shapes = network.dropout_shapes(batch)
    dropout = DropoutMasks(
        shapes, engine.mask_scales(len(shapes)), config.dropout, steps, np.random.default_rng(seed + 2), device
    )
    engine.prepare(graphs, targets, batch, dropout.masks)
    history = []
    for epoch in tqdm(range(config.epochs), desc="training", unit="epoch", disable=not progress, leave=False):
        order = torch.randperm(n, generator=order_generator)[: steps * batch].to(device)
        engine.begin_epoch(order, cosine_lr(config.lr, epoch, config.epochs))
        dropout.sample()
        mean_loss = float(torch.stack([engine.step(step) for step in range(steps)]).mean())
        if not math.isfinite(mean_loss):
            raise TrainingDivergedError(_diverged(config, f"the loss is {mean_loss} at epoch {epoch + 1}"))
        history.append(mean_loss)
        if on_epoch is not None:
            on_epoch(epoch, mean_loss)
    engine.finish()
    return history
