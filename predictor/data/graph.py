"""Graph utilities for cells: edge-bit decoding, DAG checks, pruning and the official module hash.

The module hash is the one of the official NAS-Bench-101 release: an iterated md5
over (out-degree, in-degree, label) of every vertex, refined by the sorted hashes of
in- and out-neighbours for as many rounds as there are vertices. It must stay
bit-for-bit equal to the official one, since it is the key of every dataset row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

INPUT_LABEL = -1
OUTPUT_LABEL = -2


def edge_bit(x: int, y: int) -> int:
    """Bit position of edge x -> y (x < y) in the official enumeration's bit pattern."""
    return y * (y - 1) // 2 + x


def matrix_from_bits(bits: int, num_vertices: int) -> np.ndarray:
    """Upper-triangular adjacency matrix whose edge x -> y is bit `edge_bit(x, y)` of `bits`."""
    matrix = np.zeros((num_vertices, num_vertices), dtype=np.int8)
    for y in range(1, num_vertices):
        for x in range(y):
            matrix[x, y] = (bits >> edge_bit(x, y)) & 1
    return matrix


def is_full_dag(matrix: np.ndarray) -> bool:
    """True when every vertex but the output has an out-edge and every vertex but the input an in-edge.

    For an upper-triangular matrix this means every vertex lies on an input -> output path.
    """
    return bool(np.all(matrix[:-1].any(axis=1)) and np.all(matrix[:, 1:].any(axis=0)))


def reachable_from_input(matrix: np.ndarray) -> np.ndarray:
    """Boolean mask of the vertices reachable from vertex 0 (itself included)."""
    n = len(matrix)
    seen = np.zeros(n, dtype=bool)
    seen[0] = True
    for v in range(n):  # upper-triangular: one pass in topological order suffices
        if seen[v]:
            seen |= matrix[v].astype(bool)
    return seen


def reaching_output(matrix: np.ndarray) -> np.ndarray:
    """Boolean mask of the vertices from which the last vertex is reachable (itself included)."""
    n = len(matrix)
    seen = np.zeros(n, dtype=bool)
    seen[n - 1] = True
    for v in range(n - 1, -1, -1):
        if seen[v]:
            seen |= matrix[:, v].astype(bool)
    return seen


def hash_module(matrix: np.ndarray, labels: Sequence[int]) -> str:
    """The official NAS-Bench-101 module hash of a (pruned) adjacency matrix and vertex labels.

    Labels are -1 for the input, -2 for the output and the op index for interior vertices.
    """
    matrix = np.asarray(matrix)
    n = len(matrix)
    in_degree = matrix.sum(axis=0).tolist()
    out_degree = matrix.sum(axis=1).tolist()
    hashes = [hashlib.md5(str((out_degree[v], in_degree[v], int(labels[v]))).encode()).hexdigest() for v in range(n)]
    predecessors = [np.flatnonzero(matrix[:, v]).tolist() for v in range(n)]
    successors = [np.flatnonzero(matrix[v]).tolist() for v in range(n)]
    for _ in range(n):
        hashes = [
            hashlib.md5(
                (
                    "".join(sorted(hashes[w] for w in predecessors[v]))
                    + "|"
                    + "".join(sorted(hashes[w] for w in successors[v]))
                    + "|"
                    + hashes[v]
                ).encode()
            ).hexdigest()
            for v in range(n)
        ]
    return hashlib.md5(str(sorted(hashes)).encode()).hexdigest()


def rows_by_hash(hashes: Sequence[bytes] | np.ndarray) -> dict[bytes, int]:
    """Module hash (S32 bytes) -> its row, for the hashes of a file, a space or a pool."""
    return {module_hash: row for row, module_hash in enumerate(np.asarray(hashes).tolist())}
