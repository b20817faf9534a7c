"""The rule for proposals the pool cannot answer: the nearest unqueried pool module.

A file that holds only part of the space (the real sample holds 20,031 of 423,624
modules) cannot score an arbitrary cell. Every strategy that proposes cells (evolution,
REINFORCE, PNAS) goes through this one rule, so none gets an advantage from it:

- a valid cell whose module is in the pool and not yet queried is that module;
- otherwise (outside the pool, or already queried) it becomes the unqueried pool module
  at the smallest edit distance, ties broken by a seeded generator.

Edit distance counts edge flips plus changed interior ops, the moves of NAS-Bench-101's
mutation, on a fixed 7-slot layout: vertices keep their index, the output sits in the
last slot, slots a smaller cell does not use hold no edges and an "empty" op. A pool
module is stored as one labelled representative, so the distance is minimised over the
relabellings of the proposal's interior slots that keep it upper-triangular (its
topological orders): the same graph drawn another way is not "far". An isomorphic
proposal is caught exactly by the module hash first. On a file holding the whole space
every valid cell is in the pool, and the rule only steers away from queried modules.
"""

from __future__ import annotations

import itertools

import numpy as np

from predictor.data.cell import MAX_VERTICES, Cell
from predictor.data.graph import output_in_last_slot, rows_by_hash

EMPTY_OP = 3  # op code of a slot the cell does not use
NUM_OP_STATES = 4  # conv3x3, conv1x1, maxpool3x3, empty
INTERIOR_SLOTS = tuple(range(1, MAX_VERTICES - 1))
_EDGE_ROWS, _EDGE_COLS = np.triu_indices(MAX_VERTICES, 1)
NUM_EDGE_BITS = len(_EDGE_ROWS)  # 21
_EDGE_MASK = np.uint64((1 << NUM_EDGE_BITS) - 1)
_FAR = np.iinfo(np.int16).max


def fixed_layout(
    adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move the output of every row to slot 6: (adjacency (n, 7, 7), ops (n, 7)) with EMPTY_OP in unused slots."""
    return output_in_last_slot(adjacency, operations, num_vertices, EMPTY_OP)


def edit_codes(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """One uint64 per row: 21 edge bits of the fixed layout, then a one-hot nibble per interior slot."""
    return _codes_of_fixed(*fixed_layout(adjacency, operations, num_vertices))


def _codes_of_fixed(fixed_adjacency: np.ndarray, fixed_ops: np.ndarray) -> np.ndarray:
    edges = fixed_adjacency[:, _EDGE_ROWS, _EDGE_COLS].astype(np.uint64)
    codes = (edges << np.arange(NUM_EDGE_BITS, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    for i, slot in enumerate(INTERIOR_SLOTS):
        shift = NUM_EDGE_BITS + NUM_OP_STATES * i
        codes |= np.uint64(1) << (fixed_ops[:, slot].astype(np.uint64) + np.uint64(shift))
    return codes


def spec_code(matrix: np.ndarray, ops: np.ndarray) -> np.uint64:
    """Code of a raw 7-vertex spec as drawn (valid or not: no pruning, no relabelling)."""
    return _codes_of_fixed(np.asarray(matrix)[None], np.asarray(ops)[None])[0]


# Every permutation of the interior slots 1..5 as a map of all 7 slots (input and output stay).
_SLOT_PERMUTATIONS = np.array([(0, *p, MAX_VERTICES - 1) for p in itertools.permutations(INTERIOR_SLOTS)])


def relabelled_codes(cell: Cell) -> np.ndarray:
    """Codes of every upper-triangular relabelling of the cell's interior slots (distinct, the cell's own included)."""
    adjacency, ops = cell.padded()
    fixed_adjacency, fixed_ops = fixed_layout(adjacency[None], ops[None], np.array([cell.num_vertices]))
    p = _SLOT_PERMUTATIONS
    permuted = fixed_adjacency[0][p[:, :, None], p[:, None, :]]
    upper = ~np.tril(permuted).any(axis=(1, 2))
    return np.unique(_codes_of_fixed(permuted[upper], fixed_ops[0][p[upper]]))


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


class PoolMapper:
    """Applies the rule above to one pool; build it once per pool, share it across trials."""

    def __init__(self, hashes: np.ndarray, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray):
        self.codes = edit_codes(adjacency, operations, num_vertices)
        self._row_of_hash = rows_by_hash(hashes)

    def nearest(
        self, codes: np.uint64 | np.ndarray, excluded: np.ndarray, rng: np.random.Generator
    ) -> tuple[int, int] | None:
        """(row, distance) of the row closest to any of `codes` and not excluded; None when all are excluded."""
        distances = np.where(excluded, _FAR, edit_distances(self.codes, codes))
        best = int(distances.min())
        if best == _FAR:
            return None
        ties = np.flatnonzero(distances == best)
        row = int(ties[0] if len(ties) == 1 else rng.choice(ties))
        return row, best

    def resolve(self, cell: Cell, excluded: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
        """(row, edit distance) of the pool module a proposed cell gets; distance 0 = the cell itself."""
        row = self._row_of_hash.get(cell.hash.encode())
        if row is not None and not excluded[row]:
            return row, 0
        return self.nearest(relabelled_codes(cell), excluded, rng)
