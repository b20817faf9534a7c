"""Self-supervised pre-training of the graph layers on every cell of the space.

Labels are few (a few hundred trained modules) but the space is known in full: 423,624
cells. Before a predictor sees its labelled modules, its graph layers learn to compute
from the cell alone a few facts about its structure: the count of each op, of vertices
and edges, and of input-to-output paths, the longest path, and how many 3x3 convolutions
lie on the paths (at most, and on average). None of it needs a child network trained.
Fine-tuning on the labels then starts from these weights; the readout starts fresh.
Finer targets (paths counted by the ops on them, 56 more columns) made the fine-tuned
predictor worse; docs/predictor.md has the figures.

The encoder depends only on the network's layout (the names and shapes of its parameters,
and the readout) and the number of pre-training epochs, so it is trained once and cached
(`data/pretrained/`, one file per layout: a layer added in `network.py` gets an encoder of
its own); the time it took is stored with it and reported apart from training time.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from predictor.common.errors import TrainingDivergedError
from predictor.data.atomic import OutputExistsError, WriteError, atomic_output, write_error
from predictor.data.cell import CONV3X3, MAX_VERTICES, OP_CODES
from predictor.gcn.config import TrainConfig
from predictor.gcn.features import NUM_OP_TYPES, encode_graphs
from predictor.gcn.network import GCN, uniform
from predictor.gcn.runtime import torch_threads

CACHE_DIR = Path("data/pretrained")
CACHE_FORMAT_VERSION = 2
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
SEED = 0


def structure_targets(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """(n, 9) float64 per cell: the count of each op, vertices, edges, and over its input-to-output
    paths: their number, the longest, the most 3x3 convolutions on one, the mean 3x3 convolutions on one.

    Dynamic programming over the vertices in order (the layout is topologically sorted): what
    reaches a vertex is what reaches its predecessors, extended by its own op.
    """
    adjacency, operations, num_vertices = np.asarray(adjacency), np.asarray(operations), np.asarray(num_vertices)
    n = len(num_vertices)
    real = np.arange(MAX_VERTICES)[None, :] < num_vertices[:, None]
    op_counts = [((operations == op) & real).sum(axis=1) for op in range(NUM_OP_TYPES)]
    paths = np.zeros((n, MAX_VERTICES))  # paths from the input to each vertex
    convs_on_paths = np.zeros((n, MAX_VERTICES))  # 3x3 convolutions summed over those paths
    longest = np.zeros((n, MAX_VERTICES))  # edges on the longest of them
    most_convs = np.zeros((n, MAX_VERTICES))  # 3x3 convolutions on the path with the most
    paths[:, 0] = 1
    for vertex in range(1, MAX_VERTICES):
        edges_in = adjacency[:, :vertex, vertex] > 0
        conv = operations[:, vertex] == OP_CODES[CONV3X3]
        paths[:, vertex] = (edges_in * paths[:, :vertex]).sum(axis=1)
        convs_on_paths[:, vertex] = (edges_in * convs_on_paths[:, :vertex]).sum(axis=1) + conv * paths[:, vertex]
        longest[:, vertex] = np.where(edges_in, longest[:, :vertex] + 1, 0).max(axis=1)
        most_convs[:, vertex] = np.where(edges_in, most_convs[:, :vertex], 0).max(axis=1) + conv
    output = (np.arange(n), num_vertices - 1)
    return np.column_stack(
        [
            *op_counts,
            num_vertices,
            adjacency.sum(axis=(1, 2)),
            paths[output],
            longest[output],
            most_convs[output],
            convs_on_paths[output] / paths[output],
        ]
    ).astype(np.float64)


def standardized(targets: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance per column; constant columns are dropped (nothing to learn)."""
    spread = targets.std(axis=0)
    keep = spread > 0
    return ((targets[:, keep] - targets[:, keep].mean(axis=0)) / spread[keep]).astype(np.float32)


def pretrain_encoder(
    config: TrainConfig,
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    epochs: int,
    seed: int = SEED,
    progress: bool = False,
    batch_size: int = BATCH_SIZE,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """Graph-layer weights of `config`'s network trained to regress the cells' structure targets,
    and the mean loss of each epoch.

    The network has the vocabulary's 3 ops; dropout is off (the targets are exact). It runs on
    `config.threads` CPU threads, as a fit does: more threads than free cores wait on each
    other at every one of its tiny kernels.
    """
    config = _pretraining_config(config)
    with torch_threads(config.threads):
        return _pretrain(config, adjacency, operations, num_vertices, epochs, seed, progress, batch_size)


def _pretraining_config(config: TrainConfig) -> TrainConfig:
    return config.replace(dropout=0.0, num_op_types=NUM_OP_TYPES, device="cpu")


def _pretrain(
    config: TrainConfig,
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    epochs: int,
    seed: int,
    progress: bool,
    batch_size: int,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    generator = torch.Generator().manual_seed(seed)
    targets = torch.from_numpy(standardized(structure_targets(adjacency, operations, num_vertices)))
    graphs = encode_graphs(adjacency, operations, num_vertices, "cpu", config.readout, config.num_op_types)
    network = GCN(config, generator)
    pooled = network.fc1.shape[0]
    head = nn.Linear(pooled, targets.shape[1])
    with torch.no_grad():  # drawn from the seeded generator too: a seed fixes the encoder
        head.weight.copy_(uniform(tuple(head.weight.shape), pooled**-0.5, generator))
        head.bias.zero_()
    optimizer = torch.optim.Adam([*network.graph_layers.parameters(), *head.parameters()], lr=LEARNING_RATE)
    steps = max(1, len(targets) // batch_size)
    losses = []
    bar = tqdm(
        total=epochs * steps,
        desc="pre-training the encoder (once, then cached)",
        unit="step",
        disable=not progress,
        leave=False,
    )
    for epoch in range(epochs):
        order = torch.randperm(len(targets), generator=generator)
        total = 0.0
        for step in range(steps):
            batch = order[step * batch_size : (step + 1) * batch_size]
            predicted = head(network.pooled(graphs.nodes[batch], graphs.propagation[batch], graphs.pooling[batch]))
            loss = F.mse_loss(predicted, targets[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
            bar.update()
        if not np.isfinite(total):
            raise TrainingDivergedError(
                f"encoder pre-training diverged: the loss is {total} at epoch {epoch + 1} (learning rate {LEARNING_RATE:g})"
            )
        losses.append(total / steps)
    bar.close()
    encoder = {
        name: value.detach().clone() for name, value in network.state_dict().items() if name.startswith("graph_")
    }
    return encoder, losses


def load_encoder(network: GCN, encoder: dict[str, torch.Tensor]) -> None:
    """Copy pre-trained graph-layer weights into `network`.

    A larger vocabulary (a poisoned space's extra ops) keeps its own initial rows for the
    extra op types, after the rows the encoder learned for input, output and the 3 ops.
    """
    state = network.state_dict()
    for name, weight in encoder.items():
        target = state[name]
        if target.shape[1:] != weight.shape[1:] or target.shape[0] < weight.shape[0]:
            raise ValueError(f"pre-trained {name} {tuple(weight.shape)} does not fit {tuple(target.shape)}")
        target[: weight.shape[0]] = weight
    network.load_state_dict(state)


def cache_path(config: TrainConfig, cache_dir: Path | None = None) -> Path:
    """The cached encoder of `config`'s network layout and pre-training epochs.

    The name ends in a digest of the names and shapes of the network's parameters and its
    readout: whatever changes them in `network.py` changes the file, never a stale encoder.
    """
    config = _pretraining_config(config)
    layout = [f"{name}{tuple(value.shape)}" for name, value in GCN(config).state_dict().items()]
    digest = hashlib.sha256(";".join([config.readout, *layout]).encode()).hexdigest()[:12]
    shape = f"h{config.hidden}-l{config.layers}-{config.readout}-e{config.pretraining_epochs}"
    return Path(cache_dir or CACHE_DIR) / f"encoder-v{CACHE_FORMAT_VERSION}-{shape}-{digest}.pt"


def cached_encoder(config: TrainConfig, progress: bool = False, cache_dir: Path | None = None) -> dict:
    """{"encoder": weights, "seconds": pre-training time, "cells": ...}: read from the cache, or made and cached.

    When this call made the encoder, the record also has "made": the seconds spent on the
    space's cells and on pre-training. Two processes that make the same encoder at once both succeed;
    the first file in place is kept. A cache that cannot be written (a read-only folder) is
    said in one line on stderr, and the encoder is used from memory.
    """
    path = cache_path(config, cache_dir)
    if path in _loaded:
        return _loaded[path]
    record = _read_or_make(config, path, progress)
    _loaded[path] = {key: value for key, value in record.items() if key != "made"}  # made once, by the first caller
    return record


_loaded: dict[Path, dict] = {}  # a search refits dozens of times: read each file once per process


def space_cells(progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(adjacency, operations, num_vertices) of every cell of the space: what the encoder learns from."""
    from predictor.data.space import load_space  # loaded only when an encoder is made

    space = load_space(progress=progress)
    return space.adjacency, space.operations, space.num_vertices


def _read_or_make(config: TrainConfig, path: Path, progress: bool) -> dict:
    if path.exists():
        return _read(path, config)
    started = time.perf_counter()
    cells = space_cells(progress)
    space_seconds = time.perf_counter() - started
    started = time.perf_counter()
    encoder, losses = pretrain_encoder(config, *cells, config.pretraining_epochs, SEED, progress)
    seconds = time.perf_counter() - started
    record = {"encoder": encoder, "losses": losses, "seconds": seconds, "cells": len(cells[2])}
    try:
        with atomic_output(path) as temporary:
            try:
                torch.save(record, temporary)
            except RuntimeError as error:  # a full disk: torch says "basic_ios::clear" or "inline_container.cc"
                raise write_error(path, error) from None
    except OutputExistsError:
        return _read(path, config)  # another process cached the same encoder meanwhile; use its file
    except OSError as error:  # a read-only or full folder
        reason = error.reason if isinstance(error, WriteError) else error.strerror or str(error)
        print(
            f"note: the pre-trained encoder is used for this run only, not saved to {path} ({reason}): "
            "it is made again next time",
            file=sys.stderr,
        )
    return {**record, "made": {"space": space_seconds, "pretraining": seconds}}


def _read(path: Path, config: TrainConfig) -> dict:
    """The cached record, checked to be this network's encoder: any other file is one error naming it."""
    try:
        record = torch.load(path, weights_only=True)
    except Exception:
        record = None
    if not (isinstance(record, dict) and {"encoder", "seconds"} <= record.keys()):
        raise ValueError(
            f"{path}: not a readable pre-trained encoder (truncated or damaged?); delete it to pre-train again"
        )
    expected = {
        name: tuple(value.shape)
        for name, value in GCN(_pretraining_config(config)).state_dict().items()
        if name.startswith("graph_")
    }
    encoder = record["encoder"]
    if not (isinstance(encoder, dict) and all(isinstance(value, torch.Tensor) for value in encoder.values())):
        raise ValueError(f"{path}: the encoder is not a set of named weights; delete it to pre-train again")
    found = {name: tuple(value.shape) for name, value in encoder.items()}
    if found != expected:
        differing = sorted(set(found) ^ set(expected)) or sorted(
            name for name in found if found[name] != expected[name]
        )
        raise ValueError(
            f"{path}: not an encoder of this network (weights differ at {', '.join(differing[:3])}); "
            "delete it to pre-train again"
        )
    if not all(torch.isfinite(value).all() for value in encoder.values()):
        raise ValueError(
            f"{path}: the cached encoder holds non-finite weights (NaN or inf); delete it to pre-train again"
        )
    if not (isinstance(record["seconds"], (int, float)) and math.isfinite(record["seconds"])):
        raise ValueError(f"{path}: the pre-training time is not a number; delete it to pre-train again")
    return record
