"""Search-space poisoning: K useless `zero` ops added to the vertex op vocabulary.

"Experimentally Assessing the Controllers for NAS" asks whether a search controller still
finds good cells when its space is padded with useless choices. Op codes 0..2 are the real
ops (conv3x3, conv1x1, maxpool3x3); codes 3..3+K-1 are K `zero` ops. A zero vertex outputs
zeros, so a cell computes exactly what the cell without that vertex (and its edges)
computes, apart from channel sizes (NAS-Bench-101 splits a cell's channels among the
vertices feeding the output; a zero vertex would take its share, which this answer
ignores). A proposal is answered from benchmark truth: remove its poisoned vertices, prune,
and answer the result as any other proposal (pool rule included); a cell whose output is
cut off from its input that way answers chance accuracy.

`Proposal` is a pruned cell over the enlarged vocabulary; with no poisoned vertex it is the
same graph, labels and hash as the `Cell` of the same spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from predictor.data.cell import INTERIOR_OPS, MAX_VERTICES, Cell, InvalidCellError, pruned
from predictor.data.graph import INPUT_LABEL, OUTPUT_LABEL, hash_module

NUM_REAL_OPS = len(INTERIOR_OPS)
CHANCE_ACCURACY = 0.10  # what a network whose output never sees its input scores on 10 classes
CHANCE_ROW = -1  # the "row" of a query answered by chance: no pool module was trained


def vocabulary_size(poison: int) -> int:
    """Interior op choices with `poison` zero ops: 3 + K."""
    if poison < 0:
        raise ValueError(f"the number of poisoned ops must be >= 0, got {poison}")
    return NUM_REAL_OPS + poison


def is_poison(code: int) -> bool:
    return int(code) >= NUM_REAL_OPS


@dataclass(frozen=True, eq=False)
class Proposal:
    """A pruned, validated cell whose interior ops may be poisoned (codes >= 3). Build it with `from_spec`."""

    matrix: np.ndarray  # (V, V) int8
    labels: tuple[int, ...]  # -1 input, -2 output, 0..2+K interior

    @classmethod
    def from_spec(cls, matrix: np.ndarray, labels: Sequence[int]) -> Proposal:
        """Prune vertices off every input -> output path and check the limits, as `Cell.from_spec` does."""
        matrix = np.asarray(matrix, dtype=np.int8)
        labels = [int(code) for code in labels]
        if labels[0] != INPUT_LABEL or labels[-1] != OUTPUT_LABEL or min(labels[1:-1], default=0) < 0:
            raise InvalidCellError(f"labels must be input, interior op codes >= 0, output; got {labels}")
        matrix, keep = pruned(matrix)
        return cls(matrix, tuple(code for code, kept in zip(labels, keep) if kept))

    @classmethod
    def from_cell(cls, cell: Cell) -> Proposal:
        return cls(cell.matrix, tuple(cell.labels))

    @property
    def num_vertices(self) -> int:
        return len(self.matrix)

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum())

    @cached_property
    def hash(self) -> str:
        """The official module hash of the graph and labels (a poisoned op hashes as its code)."""
        return hash_module(self.matrix, self.labels)

    @property
    def poisoned(self) -> bool:
        return any(is_poison(code) for code in self.labels[1:-1])

    def padded(self) -> tuple[np.ndarray, np.ndarray]:
        """(adjacency (7, 7), op codes (7,)) in the HDF5 layout, poisoned codes kept."""
        n = self.num_vertices
        adjacency = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
        adjacency[:n, :n] = self.matrix
        codes = np.zeros(MAX_VERTICES, dtype=np.int8)
        codes[:n] = self.labels
        return adjacency, codes

    def clean_cell(self) -> Cell | None:
        """The cell this proposal computes: poisoned vertices and their edges removed, then pruned.

        None when the output is then cut off from the input (the network answers chance).
        """
        keep = [i for i, code in enumerate(self.labels) if not (0 < i < len(self.labels) - 1 and is_poison(code))]
        try:
            return Cell.from_spec(self.matrix[np.ix_(keep, keep)], [self.labels[i] for i in keep])
        except InvalidCellError:
            return None


def poison_labels(labels: Sequence[int], poison: int, rng: np.random.Generator) -> list[int]:
    """Redraw each interior op among 3 + K with the real ones tied to `labels`: a vertex keeps its op with
    probability 3 / (3 + K), else becomes one of the K zero ops uniformly. With `labels` drawn uniformly
    this is the op drawn uniformly from 3 + K. Draws nothing when K = 0."""
    labels = [int(code) for code in labels]
    if poison == 0:
        return labels
    draws = rng.integers(0, vocabulary_size(poison), size=len(labels) - 2)
    return [labels[0], *(int(d) if is_poison(d) else code for d, code in zip(draws, labels[1:-1])), labels[-1]]


def poisoned_module(adjacency: np.ndarray, operations: np.ndarray, num_vertices: int, poison: int, rng) -> Proposal:
    """A stored module (HDF5 layout) with its interior ops redrawn by `poison_labels`."""
    n = int(num_vertices)
    return Proposal(np.asarray(adjacency[:n, :n], dtype=np.int8), tuple(poison_labels(operations[:n], poison, rng)))


def poisoned_view(
    adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, poison: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Operations of many stored modules redrawn by `poison_labels` at once: (operations (n, 7), poisoned (n,)).

    Pruning is untouched (a zero op is still a vertex), so adjacency and num_vertices stay as given.
    """
    operations = np.array(operations, dtype=np.int8)
    if poison == 0:
        return operations, np.zeros(len(operations), dtype=bool)
    draws = rng.integers(0, vocabulary_size(poison), size=operations.shape).astype(np.int8)
    slots = np.arange(MAX_VERTICES)[None, :]
    interior = (slots > 0) & (slots < np.asarray(num_vertices)[:, None] - 1)
    poisoned_slots = interior & (draws >= NUM_REAL_OPS)
    operations[poisoned_slots] = draws[poisoned_slots]
    return operations, poisoned_slots.any(axis=1)


def stripped_spec(matrix: np.ndarray, ops: np.ndarray, empty_op: int) -> tuple[np.ndarray, np.ndarray]:
    """A raw 7-slot spec with its poisoned interior slots emptied (no edges, `empty_op`), for the pool rule."""
    matrix, ops = np.array(matrix, dtype=np.int8), np.array(ops, dtype=np.int8)
    poisoned = np.flatnonzero(ops >= NUM_REAL_OPS)
    poisoned = poisoned[(poisoned > 0) & (poisoned < len(ops) - 1)]
    matrix[poisoned, :] = 0
    matrix[:, poisoned] = 0
    ops[poisoned] = empty_op
    return matrix, ops


def candidate_keys(adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, num_ops: int) -> np.ndarray:
    """One uint64 per row that tells candidates apart as drawn: 21 edge bits of the fixed 7-slot layout, then
    each interior slot's op (or "unused") in base num_ops + 1. Equal graphs drawn the same way get equal keys."""
    from predictor.search.pool_mapping import fixed_layout

    fixed_adjacency, fixed_ops = fixed_layout(adjacency, operations, num_vertices)
    rows, cols = np.triu_indices(MAX_VERTICES, 1)
    edges = fixed_adjacency[:, rows, cols].astype(np.uint64)
    keys = (edges << np.arange(len(rows), dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    used = np.arange(MAX_VERTICES)[None, :] < np.asarray(num_vertices, dtype=np.int64)[:, None] - 1
    state = np.where(used, fixed_ops, num_ops).astype(np.uint64)
    weight = np.uint64(1 << len(rows))
    for slot in range(1, MAX_VERTICES - 1):
        keys += state[:, slot] * weight
        weight *= np.uint64(num_ops + 1)
    return keys
