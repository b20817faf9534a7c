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
module is stored as one labelled representative, so the distance is minimized over the
relabellings of the proposal's interior slots that keep it upper-triangular (its
topological orders): the same graph drawn another way is not "far". An isomorphic
proposal is caught exactly by the module hash first. On a file holding the whole space
every valid cell is in the pool, and the rule only steers away from queried modules.
"""

from __future__ import annotations

import itertools

import numpy as np

from predictor.data.cell import MAX_VERTICES
from predictor.data.encodings import INTERIOR_SLOTS, codes_of_fixed, edit_codes, edit_distances, fixed_layout
from predictor.data.graph import rows_by_hash

_FAR = np.iinfo(np.int16).max
# Every permutation of the interior slots 1..5 as a map of all 7 slots (input and output stay).
_SLOT_PERMUTATIONS = np.array([(0, *p, MAX_VERTICES - 1) for p in itertools.permutations(INTERIOR_SLOTS)])


def relabelled_codes(matrix: np.ndarray, labels) -> np.ndarray:
    """Codes of every upper-triangular relabelling of a pruned cell's interior slots (distinct, its own included)."""
    n = len(matrix)
    adjacency = np.zeros((1, MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
    adjacency[0, :n, :n] = matrix
    ops = np.zeros((1, MAX_VERTICES), dtype=np.int8)
    ops[0, :n] = labels
    fixed_adjacency, fixed_ops = fixed_layout(adjacency, ops, np.array([n]))
    p = _SLOT_PERMUTATIONS
    permuted = fixed_adjacency[0][p[:, :, None], p[:, None, :]]
    upper = ~np.tril(permuted).any(axis=(1, 2))
    return np.unique(codes_of_fixed(permuted[upper], fixed_ops[0][p[upper]]))


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

    def resolve(self, cell, excluded: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
        """(row, edit distance) of the pool module a proposed cell of real ops gets; distance 0 = the cell itself."""
        row = self._row_of_hash.get(cell.hash.encode())
        if row is not None and not excluded[row]:
            return row, 0
        return self.nearest(relabelled_codes(cell.matrix, cell.labels), excluded, rng)
