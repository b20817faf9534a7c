"""The search space: NAS-Bench-101's cells over a vocabulary of the 3 real ops plus K zero ops.

"Experimentally Assessing the Controllers for NAS" asks whether a controller still finds good
cells when its space is padded with useless choices (search-space poisoning). Op codes 0..2 are
the real ops (conv3x3, conv1x1, maxpool3x3); codes 3..3+K-1 are K `zero` ops. A zero vertex
outputs zeros, so a cell computes exactly what the cell without that vertex (and its edges)
computes, apart from channel sizes (NAS-Bench-101 splits a cell's channels among the vertices
feeding the output; a zero vertex would take its share, which this answer ignores): `computed`.
A cell whose zero ops cut its output off from its input computes nothing: chance accuracy.

The space owns what depends on the vocabulary: the one cell type every strategy proposes
(`Proposal`), sampling (pool modules seen through the vocabulary), mutation, and the cells
progressive growth starts from. K = 0 is NAS-Bench-101 itself, and then nothing here draws a
random number that the plain space would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from predictor.data.cell import MAX_VERTICES, InvalidCellError, pruned
from predictor.data.encodings import EMPTY_SLOT, NUM_INTERIOR, NUM_REAL_OPS, Spec, fixed_layout, padded
from predictor.data.graph import INPUT_LABEL, OUTPUT_LABEL, hash_module

MAX_ZERO_OPS = 32
CHANCE_ACCURACY = 0.10  # what a network whose output never sees its input scores on 10 classes
CHANCE_ROW = -1  # the "row" of a query answered by chance: no pool module was trained


@dataclass(frozen=True, eq=False)
class Proposal:
    """A pruned, validated cell of a search space: graph plus op codes (>= 3 for zero ops).

    Build it with `SearchSpace.cell` (or `from_spec`). Over real ops only it is the same graph,
    labels and hash as the `data.cell.Cell` of the same spec.
    """

    matrix: np.ndarray  # (V, V) int8
    labels: tuple[int, ...]  # -1 input, -2 output, interior op codes

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
    def of_padded(
        cls, adjacency: np.ndarray, operations: np.ndarray, num_vertices: int, module_hash: str | None = None
    ) -> Proposal:
        """A cell stored in the HDF5 layout (already pruned) as it stands; `module_hash`, where the file
        gives it, spares computing it (the oracle looks every query up by its hash)."""
        n = int(num_vertices)
        cell = cls(np.asarray(adjacency[:n, :n], dtype=np.int8), tuple(int(code) for code in operations[:n]))
        if module_hash is not None:
            object.__setattr__(cell, "hash", module_hash)  # the cached_property's slot
        return cell

    @property
    def num_vertices(self) -> int:
        return len(self.matrix)

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum())

    @cached_property
    def hash(self) -> str:
        """The official module hash of the graph and labels (a zero op hashes as its code)."""
        return hash_module(self.matrix, self.labels)

    def padded(self) -> tuple[np.ndarray, np.ndarray]:
        """(adjacency (7, 7), op codes (7,)) in the HDF5 layout."""
        return padded(self.matrix, self.labels)

    def holds_zero_op(self) -> bool:
        return any(code >= NUM_REAL_OPS for code in self.labels[1:-1])

    def computed(self) -> Proposal | None:
        """The cell this one computes: zero-op vertices and their edges removed, then pruned (itself when it
        holds none). None when the output is then cut off from the input (the network answers chance)."""
        if not self.holds_zero_op():
            return self
        keep = [i for i, code in enumerate(self.labels) if not (0 < i < len(self.labels) - 1 and code >= NUM_REAL_OPS)]
        try:
            return Proposal.from_spec(self.matrix[np.ix_(keep, keep)], [self.labels[i] for i in keep])
        except InvalidCellError:
            return None


def as_spec_cell(spec: Spec) -> Proposal | None:
    """The pruned cell of a raw spec, None when the spec is not a valid cell."""
    try:
        return Proposal.from_spec(*spec)
    except InvalidCellError:
        return None


@dataclass(frozen=True)
class SearchSpace:
    """NAS-Bench-101's cells with `zero_ops` useless ops added to the interior op vocabulary."""

    zero_ops: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.zero_ops <= MAX_ZERO_OPS:
            raise ValueError(f"the number of zero ops must be in 0..{MAX_ZERO_OPS}, got {self.zero_ops}")

    @property
    def num_ops(self) -> int:
        """Interior op choices: 3 + K."""
        return NUM_REAL_OPS + self.zero_ops

    def redrawn(self, labels: Sequence[int], rng: np.random.Generator) -> list[int]:
        """A cell's labels as this vocabulary draws them: a vertex keeps its real op with probability 3 / (3 + K),
        else becomes one of the K zero ops uniformly. With `labels` drawn uniformly this is the op drawn
        uniformly from 3 + K. Draws nothing when K = 0."""
        labels = [int(code) for code in labels]
        if self.zero_ops == 0:
            return labels
        draws = rng.integers(0, self.num_ops, size=len(labels) - 2)
        return [labels[0], *(int(d) if d >= NUM_REAL_OPS else code for d, code in zip(draws, labels[1:-1])), labels[-1]]

    def pool_view(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Operations (n, 7) of many pool modules redrawn as `redrawn` does, at once (a zero op is still a
        vertex, so adjacency and num_vertices stay as given)."""
        operations = np.array(operations, dtype=np.int8)
        if self.zero_ops == 0:
            return operations
        draws = rng.integers(0, self.num_ops, size=operations.shape).astype(np.int8)
        slots = np.arange(MAX_VERTICES)[None, :]
        interior = (slots > 0) & (slots < np.asarray(num_vertices)[:, None] - 1)
        zero_slots = interior & (draws >= NUM_REAL_OPS)
        operations[zero_slots] = draws[zero_slots]
        return operations

    def sample_of_row(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: int, rng, module_hash: str | None = None
    ) -> Proposal:
        """A pool module (HDF5 layout) drawn through this vocabulary (`redrawn`); `module_hash` is the
        module's own, kept when no op was redrawn."""
        n = int(num_vertices)
        labels = self.redrawn(operations[:n], rng)
        unchanged = module_hash is not None and labels == [int(code) for code in operations[:n]]
        return Proposal.of_padded(adjacency, labels, n, module_hash if unchanged else None)

    def spec_of_row(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: int, rng: np.random.Generator
    ) -> Spec:
        """A 7-slot spec of a pool module as it is: its vertices in the fixed layout, random ops (of the
        vocabulary) on the unused slots, which pruning drops until an edge flip switches them on."""
        matrix, ops = fixed_layout(adjacency[None], operations[None], np.array([num_vertices]))
        matrix, ops = matrix[0], ops[0]
        unused = ops == EMPTY_SLOT
        ops[unused] = rng.integers(0, self.num_ops, size=int(unused.sum()))
        return matrix, ops

    def sample_spec(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: int, rng: np.random.Generator
    ) -> Spec:
        """`spec_of_row`, then every interior op drawn through this vocabulary (`redrawn`)."""
        matrix, ops = self.spec_of_row(adjacency, operations, num_vertices, rng)
        return matrix, np.array(self.redrawn(ops, rng), dtype=np.int8)

    def mutate(
        self, spec: Spec, rng: np.random.Generator, mutation_rate: float = 1.0, max_attempts: int = 1000
    ) -> tuple[Spec, Proposal]:
        """NAS-Bench-101's mutation: flip each edge with prob rate/7, resample each op (among the vocabulary)
        with prob rate/5, repeated until the child is a valid cell (invalid specs are not architectures, they
        cost no query). Returns the child's spec (unpruned, as in the official `ModelSpec`) and its cell."""
        edge_probability = mutation_rate / MAX_VERTICES
        op_probability = mutation_rate / NUM_INTERIOR
        upper = np.triu(np.ones((MAX_VERTICES, MAX_VERTICES), dtype=bool), 1)
        for _ in range(max_attempts):
            matrix = spec[0].copy()
            flips = upper & (rng.random(matrix.shape) < edge_probability)
            matrix[flips] = 1 - matrix[flips]
            ops = spec[1].copy()
            for slot in range(1, MAX_VERTICES - 1):
                if rng.random() < op_probability:
                    others = [code for code in range(self.num_ops) if code != ops[slot]]
                    ops[slot] = others[rng.integers(len(others))]
            cell = as_spec_cell((matrix, ops))
            if cell is not None:
                return (matrix, ops), cell
        raise RuntimeError(f"no valid mutation of {spec} in {max_attempts} attempts")

    def seed_cells(self) -> list[Proposal]:
        """Every cell with one interior vertex: input -> op -> output, with or without input -> output."""
        return [
            Proposal.from_spec(np.array([[0, 1, skip], [0, 0, 1], [0, 0, 0]]), [INPUT_LABEL, code, OUTPUT_LABEL])
            for code in range(self.num_ops)
            for skip in (0, 1)
        ]
