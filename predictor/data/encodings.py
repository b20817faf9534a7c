"""Every form a cell takes outside its own class, and the conversions between them.

- padded: (adjacency (7, 7), op codes (7,)) as in the HDF5 file, the output at V-1, zeros after;
- fixed layout: the output moved to slot 6, so that a slot always means the same role; unused
  slots hold no edges and the code `EMPTY_SLOT`;
- spec: a raw 7-slot (matrix, op codes) in the fixed layout that pruning has not touched (the
  genotype of evolution and what a controller emits);
- controller decisions: the op of each of the 5 interior slots, then the 21 edges on/off;
- codes: one uint64 per cell in the fixed layout, equal for cells drawn the same way
  (`layout_keys`, any number of op codes) or spread so that XOR-and-popcount counts the
  edit distance (`edit_codes`, the three real ops).

Op codes: -1 input, -2 output, 0..2 the real ops (`cell.INTERIOR_OPS`), 3.. any ops a
search space adds (zero ops).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from predictor.data.cell import INTERIOR_OPS, MAX_VERTICES
from predictor.data.graph import INPUT_LABEL, OUTPUT_LABEL

NUM_REAL_OPS = len(INTERIOR_OPS)
EMPTY_SLOT = -3  # op code of a fixed-layout slot the cell does not use (no vertex carries it)
INTERIOR_SLOTS = tuple(range(1, MAX_VERTICES - 1))
NUM_INTERIOR = len(INTERIOR_SLOTS)
EDGES = tuple((x, y) for y in range(1, MAX_VERTICES) for x in range(y))  # 21, in the official bit order
NUM_DECISIONS = NUM_INTERIOR + len(EDGES)
_EDGE_ROWS, _EDGE_COLS = np.triu_indices(MAX_VERTICES, 1)
NUM_EDGE_BITS = len(_EDGE_ROWS)  # 21
_EDGE_MASK = np.uint64((1 << NUM_EDGE_BITS) - 1)
_OP_STATES = NUM_REAL_OPS + 1  # one-hot width per slot of `edit_codes`: the real ops, then empty

Spec = tuple[np.ndarray, np.ndarray]


def padded(matrix: np.ndarray, labels: Sequence[int], size: int = MAX_VERTICES) -> tuple[np.ndarray, np.ndarray]:
    """(adjacency (size, size) int8, op codes (size,) int8) of a pruned cell, zero-padded as in the HDF5 file."""
    n = len(matrix)
    adjacency = np.zeros((size, size), dtype=np.int8)
    adjacency[:n, :n] = matrix
    codes = np.zeros(size, dtype=np.int8)
    codes[:n] = labels
    return adjacency, codes


def stacked(cells: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells (anything with `matrix` and `labels`) -> (adjacency, operations, num_vertices) in the HDF5 layout."""
    pairs = [padded(cell.matrix, cell.labels) for cell in cells]
    adjacency = np.stack([a for a, _ in pairs]) if pairs else np.zeros((0, MAX_VERTICES, MAX_VERTICES), np.int8)
    operations = np.stack([o for _, o in pairs]) if pairs else np.zeros((0, MAX_VERTICES), np.int8)
    return adjacency, operations, np.array([len(cell.matrix) for cell in cells], dtype=np.int64)


def fixed_layout(
    adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, empty: int = EMPTY_SLOT
) -> tuple[np.ndarray, np.ndarray]:
    """Padded graphs (output at V-1) with the output moved to the last slot: int8 (adjacency (n, S, S), ops (n, S)).

    Input and interior vertices keep their slots; the slots a smaller graph does not use hold no
    edges and the op code `empty`.
    """
    adjacency, operations = np.asarray(adjacency), np.asarray(operations)
    num_vertices = np.asarray(num_vertices).astype(np.int64)
    fixed_adjacency = np.zeros(adjacency.shape, dtype=np.int8)
    fixed_ops = np.full(operations.shape, empty, dtype=np.int8)
    last = adjacency.shape[-1] - 1
    for v in np.unique(num_vertices):
        rows = np.flatnonzero(num_vertices == v)
        interior = slice(0, v - 1)
        fixed_adjacency[np.ix_(rows, range(v - 1), range(v - 1))] = adjacency[rows, interior, interior]
        fixed_adjacency[rows, : v - 1, last] = adjacency[rows, : v - 1, v - 1]
        fixed_ops[rows, : v - 1] = operations[rows, : v - 1]
        fixed_ops[rows, last] = operations[rows, v - 1]
    return fixed_adjacency, fixed_ops


def spec_of_decisions(decisions: Sequence[int]) -> Spec:
    """The raw spec a controller sequence describes: 5 interior op codes, then the 21 edge bits."""
    matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
    for (x, y), on in zip(EDGES, decisions[NUM_INTERIOR:]):
        matrix[x, y] = on
    ops = np.array([INPUT_LABEL, *decisions[:NUM_INTERIOR], OUTPUT_LABEL], dtype=np.int8)
    return matrix, ops


def _edge_bits(fixed_adjacency: np.ndarray) -> np.ndarray:
    edges = fixed_adjacency[:, _EDGE_ROWS, _EDGE_COLS].astype(np.uint64)
    return (edges << np.arange(NUM_EDGE_BITS, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)


def layout_keys(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, num_ops: int) -> np.ndarray:
    """One uint64 per padded cell: 21 edge bits of the fixed layout, then each interior slot's op (or empty)
    in base num_ops + 1. Equal keys = the same graph drawn the same way; the order is that of `edit_codes`."""
    fixed_adjacency, fixed_ops = fixed_layout(adjacency, operations, num_vertices)
    state = np.where(fixed_ops == EMPTY_SLOT, num_ops, fixed_ops).astype(np.uint64)
    keys = _edge_bits(fixed_adjacency)
    weight = np.uint64(1 << NUM_EDGE_BITS)
    for slot in INTERIOR_SLOTS:
        keys += state[:, slot] * weight
        weight *= np.uint64(num_ops + 1)
    return keys


def codes_of_fixed(fixed_adjacency: np.ndarray, fixed_ops: np.ndarray) -> np.ndarray:
    """`edit_codes` of cells (real ops only) already in the fixed layout."""
    codes = _edge_bits(fixed_adjacency)
    state = np.where(fixed_ops == EMPTY_SLOT, NUM_REAL_OPS, fixed_ops).astype(np.uint64)
    for i, slot in enumerate(INTERIOR_SLOTS):
        codes |= np.uint64(1) << (state[:, slot] + np.uint64(NUM_EDGE_BITS + _OP_STATES * i))
    return codes


def edit_codes(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """One uint64 per padded cell of real ops: 21 edge bits of the fixed layout, then a one-hot nibble per
    interior slot (conv3x3, conv1x1, maxpool3x3, empty), so that `edit_distances` is two popcounts."""
    return codes_of_fixed(*fixed_layout(adjacency, operations, num_vertices))


def spec_code(matrix: np.ndarray, ops: np.ndarray) -> np.uint64:
    """`edit_codes` of a raw spec as drawn (valid or not: no pruning, no relabelling)."""
    return codes_of_fixed(np.asarray(matrix)[None], np.asarray(ops)[None])[0]


def edit_distances(codes: np.ndarray, code: np.uint64 | np.ndarray) -> np.ndarray:
    """Edge flips plus changed ops from every row of `codes` to the nearest of `code` (one or several), int16."""
    nearest = None
    for one in np.atleast_1d(np.asarray(code, dtype=np.uint64)):
        difference = codes ^ one
        edge_flips = np.bitwise_count(difference & _EDGE_MASK)
        op_changes = np.bitwise_count(difference >> np.uint64(NUM_EDGE_BITS)) >> 1  # a change flips two bits
        distance = edge_flips + op_changes
        nearest = distance if nearest is None else np.minimum(nearest, distance, out=nearest)
    return nearest.astype(np.int16)
