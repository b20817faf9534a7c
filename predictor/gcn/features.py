"""Model inputs made from the HDF5 layout (adjacency (n,7,7), op codes (n,7), num_vertices (n,)).

Everything a predictor needs is computed once, as arrays, so that training can index
batches directly instead of re-encoding cells every step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from predictor.data.cell import MAX_VERTICES, Cell

NUM_NODE_TYPES = 5  # output, input, conv3x3, conv1x1, maxpool3x3: one-hot index = op code + 2
NUM_DIRECTIONS = 2  # along the edges, against them


def check_arrays(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> tuple[np.ndarray, ...]:
    """The three arrays as numpy, with shapes checked (a clear error beats a broadcasting surprise)."""
    adjacency, operations, num_vertices = np.asarray(adjacency), np.asarray(operations), np.asarray(num_vertices)
    n = len(num_vertices)
    if adjacency.shape != (n, MAX_VERTICES, MAX_VERTICES) or operations.shape != (n, MAX_VERTICES):
        raise ValueError(
            f"expected adjacency (n,7,7), operations (n,7), num_vertices (n,); got {adjacency.shape}, "
            f"{operations.shape}, {num_vertices.shape}"
        )
    return adjacency, operations, num_vertices


def one_hot_operations(operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """(n, 7, 5) float32 one-hot node types; padded vertices are all zero."""
    operations = np.asarray(operations, dtype=np.int64)
    real = np.arange(MAX_VERTICES)[None, :] < np.asarray(num_vertices)[:, None]
    one_hot = np.zeros((*operations.shape, NUM_NODE_TYPES), dtype=np.float32)
    np.put_along_axis(one_hot, (operations + 2).clip(0, NUM_NODE_TYPES - 1)[..., None], 1.0, axis=-1)
    one_hot[~real] = 0.0
    return one_hot


def _row_normalise(matrix: np.ndarray) -> np.ndarray:
    return matrix / matrix.sum(axis=-1, keepdims=True)


def propagation_matrices(adjacency: np.ndarray) -> np.ndarray:
    """(n, 2, 7, 7) float32: the row-normalised adjacency with self-loops, and its transpose row-normalised.

    Same as the reference implementation: forward = rownorm(A + I), backward = rownorm(forward^T).
    Padded vertices keep only their self-loop, so they never mix with real ones.
    """
    with_loops = np.asarray(adjacency, dtype=np.float64) + np.eye(MAX_VERTICES)
    forward = _row_normalise(with_loops)
    backward = _row_normalise(np.swapaxes(forward, -1, -2))
    return np.stack([forward, backward], axis=1).astype(np.float32)


READOUTS = ("mean", "mean-output")


def pooling_weights(num_vertices: np.ndarray, readout: str = "mean") -> np.ndarray:
    """(n, P, 7) float32: how the readout pools vertex features into P vectors per graph.

    "mean": the mean over the V real vertices (the paper); "mean-output": that mean and the
    output vertex's own features (the cell's result), side by side.
    """
    num_vertices = np.asarray(num_vertices)
    real = np.arange(MAX_VERTICES)[None, :] < num_vertices[:, None]
    mean = (real / num_vertices[:, None]).astype(np.float32)
    if readout == "mean":
        return mean[:, None, :]
    if readout == "mean-output":
        output = (np.arange(MAX_VERTICES)[None, :] == num_vertices[:, None] - 1).astype(np.float32)
        return np.stack([mean, output], axis=1)
    raise ValueError(f"unknown readout {readout!r}; choose from {READOUTS}")


@dataclass(frozen=True)
class GraphTensors:
    """Pre-encoded graphs on one device: node types, propagation matrices, pooling weights."""

    nodes: torch.Tensor  # (n, 7, 5)
    propagation: torch.Tensor  # (n, 2, 7, 7)
    pooling: torch.Tensor  # (n, P, 7)

    def __len__(self) -> int:
        return len(self.nodes)

    def select(self, index: torch.Tensor | slice) -> GraphTensors:
        return GraphTensors(self.nodes[index], self.propagation[index], self.pooling[index])

    def to(self, device: torch.device | str) -> GraphTensors:
        return GraphTensors(self.nodes.to(device), self.propagation.to(device), self.pooling.to(device))


def encode_graphs(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    device: torch.device | str = "cpu",
    readout: str = "mean",
) -> GraphTensors:
    """Encode arrays in the HDF5 layout for the GCN."""
    adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
    return GraphTensors(
        torch.from_numpy(one_hot_operations(operations, num_vertices)),
        torch.from_numpy(propagation_matrices(adjacency)),
        torch.from_numpy(pooling_weights(num_vertices, readout)),
    ).to(device)


def cells_to_arrays(cells: list[Cell]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells -> (adjacency, operations, num_vertices) in the HDF5 layout."""
    padded = [cell.padded() for cell in cells]
    adjacency = np.stack([a for a, _ in padded]) if padded else np.zeros((0, MAX_VERTICES, MAX_VERTICES), np.int8)
    operations = np.stack([o for _, o in padded]) if padded else np.zeros((0, MAX_VERTICES), np.int8)
    num_vertices = np.array([cell.num_vertices for cell in cells], dtype=np.int64)
    return adjacency, operations, num_vertices


def flat_encoding(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """(n, 21 + 35) float32: the upper triangle of the adjacency, then the one-hot ops (baseline models).

    The output vertex sits at V-1 in the HDF5 layout; it is moved to slot 6 so that the same
    position always means the same role, whatever the vertex count.
    """
    adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
    adjacency, operations = output_last(adjacency, operations, num_vertices)
    rows, cols = np.triu_indices(MAX_VERTICES, k=1)
    one_hot = one_hot_operations(operations, np.full(len(operations), MAX_VERTICES))
    one_hot[~output_last_mask(num_vertices)] = 0.0  # padding (its op code 0 would read as conv3x3)
    return np.concatenate([adjacency[:, rows, cols].astype(np.float32), one_hot.reshape(len(adjacency), -1)], axis=1)


def output_last_mask(num_vertices: np.ndarray) -> np.ndarray:
    """(n, 7) bool: which slots hold a real vertex once the output is moved to slot 6."""
    num_vertices = np.asarray(num_vertices)
    slots = np.arange(MAX_VERTICES)[None, :]
    return (slots < num_vertices[:, None] - 1) | (slots == MAX_VERTICES - 1)


def output_last(
    adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move each graph's output vertex from V-1 to slot 6 (padding in between), keeping the upper triangle."""
    order = np.empty((len(num_vertices), MAX_VERTICES), dtype=np.int64)
    for v in range(2, MAX_VERTICES + 1):
        # slot s takes vertex: s for s < v-1, padding (v-1 .. 5) for the middle, v-1 at slot 6
        order[np.asarray(num_vertices) == v] = list(range(v - 1)) + list(range(v, MAX_VERTICES)) + [v - 1]
    return permute_vertices(adjacency, operations, order)


def permute_vertices(adjacency: np.ndarray, operations: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel vertices: new vertex i is old vertex order[:, i] (batched)."""
    take = np.arange(len(order))[:, None]
    operations = operations[take, order]
    adjacency = adjacency[take[:, :, None], order[:, :, None], order[:, None, :]]
    return adjacency, operations


@cache
def _interior_orders(num_interior: int) -> np.ndarray:
    orders = list(itertools.permutations(range(1, num_interior + 1)))
    return np.array(orders, dtype=np.int64).reshape(len(orders), num_interior)


def topological_relabellings(adjacency: np.ndarray, num_vertices: int) -> np.ndarray:
    """(k, 7) every order of the interior vertices that keeps the matrix upper-triangular.

    Input stays first and output stays at V-1: each row is a topological order of the graph,
    so the relabelled matrix is another valid spec of the same module (same hash).
    """
    v = int(num_vertices)
    interior = _interior_orders(v - 2)
    orders = np.concatenate(
        [np.zeros((len(interior), 1), np.int64), interior, np.full((len(interior), 1), v - 1)], axis=1
    )
    edges = np.argwhere(np.asarray(adjacency)[:v, :v])
    position = np.argsort(orders, axis=1)  # position[k, old] = new index of old vertex
    upper = (position[:, edges[:, 0]] < position[:, edges[:, 1]]).all(axis=1)
    orders = orders[upper]
    padding = np.broadcast_to(np.arange(v, MAX_VERTICES), (len(orders), MAX_VERTICES - v))
    return np.concatenate([orders, padding], axis=1)


def random_relabelling(
    adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each module relabelled by one random topological order (data augmentation for order-aware encodings)."""
    adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
    order = np.empty((len(num_vertices), MAX_VERTICES), dtype=np.int64)
    for i, (matrix, v) in enumerate(zip(adjacency, num_vertices)):
        choices = topological_relabellings(matrix, v)
        order[i] = choices[rng.integers(len(choices))]
    return permute_vertices(adjacency, operations, order)
