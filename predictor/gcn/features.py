"""Model inputs made from the HDF5 layout (adjacency (n,7,7), op codes (n,7), num_vertices (n,)).

Everything a predictor needs is computed once, as arrays, so that training can index
batches directly instead of re-encoding cells every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from predictor.data.cell import MAX_VERTICES
from predictor.data.encodings import NUM_REAL_OPS as NUM_OP_TYPES  # node types add output (-2) and input (-1)
from predictor.data.encodings import fixed_layout
from predictor.gcn.config import READOUTS


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


def one_hot_operations(
    operations: np.ndarray, num_vertices: np.ndarray, num_op_types: int = NUM_OP_TYPES
) -> np.ndarray:
    """(n, 7, num_op_types + 2) float32 one-hot node types (index = op code + 2); padded vertices are all zero.

    An op code outside -2 .. num_op_types - 1 on a real vertex is refused, never folded into another type.
    """
    operations = np.asarray(operations, dtype=np.int64)
    real = np.arange(MAX_VERTICES)[None, :] < np.asarray(num_vertices)[:, None]
    codes = np.where(real, operations, 0)
    if codes.size and (codes.min() < -2 or codes.max() >= num_op_types):
        raise ValueError(
            f"op codes {codes.min()} .. {codes.max()} do not fit {num_op_types} operation types "
            "(codes -2 .. num_op_types - 1); set num_op_types to the vocabulary's size"
        )
    one_hot = np.zeros((*operations.shape, num_op_types + 2), dtype=np.float32)
    np.put_along_axis(one_hot, (codes + 2)[..., None], 1.0, axis=-1)
    one_hot[~real] = 0.0
    return one_hot


def _row_normalize(matrix: np.ndarray) -> np.ndarray:
    return matrix / matrix.sum(axis=-1, keepdims=True)


def propagation_matrices(adjacency: np.ndarray) -> np.ndarray:
    """(n, 2, 7, 7) float32: the row-normalized adjacency with self-loops, and its transpose row-normalized.

    Same as the reference implementation: forward = rownorm(A + I), backward = rownorm(forward^T).
    Padded vertices keep only their self-loop, so they never mix with real ones.
    """
    with_loops = np.asarray(adjacency, dtype=np.float64) + np.eye(MAX_VERTICES)
    forward = _row_normalize(with_loops)
    backward = _row_normalize(np.swapaxes(forward, -1, -2))
    return np.stack([forward, backward], axis=1).astype(np.float32)


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

    nodes: torch.Tensor  # (n, 7, num_op_types + 2)
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
    num_op_types: int = NUM_OP_TYPES,
) -> GraphTensors:
    """Encode arrays in the HDF5 layout for the GCN."""
    adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
    return GraphTensors(
        torch.from_numpy(one_hot_operations(operations, num_vertices, num_op_types)),
        torch.from_numpy(propagation_matrices(adjacency)),
        torch.from_numpy(pooling_weights(num_vertices, readout)),
    ).to(device)


def flat_encoding(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """(n, 21 + 35) float32: the upper triangle of the adjacency, then the one-hot ops (baseline models).

    The output vertex sits at V-1 in the HDF5 layout; it is moved to slot 6 so that the same
    position always means the same role, whatever the vertex count; unused slots are all zero.
    """
    adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
    empty = NUM_OP_TYPES  # one past the last operation: its one-hot column is dropped
    adjacency, operations = fixed_layout(adjacency, operations, num_vertices, empty)
    rows, cols = np.triu_indices(MAX_VERTICES, k=1)
    one_hot = np.eye(NUM_OP_TYPES + 3, dtype=np.float32)[operations.astype(np.int64) + 2][..., :-1]
    return np.concatenate([adjacency[:, rows, cols].astype(np.float32), one_hot.reshape(len(adjacency), -1)], axis=1)
