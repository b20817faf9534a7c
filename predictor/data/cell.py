"""The cell (module spec): an adjacency matrix plus one op per vertex, validated and pruned.

Mirrors the official `ModelSpec`: vertices that are not on an input -> output path are
removed before the spec is checked against the space's limits and hashed, so that two
specs describing the same computation get the same hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from predictor.data.graph import INPUT_LABEL, OUTPUT_LABEL, hash_module, reachable_from_input, reaching_output

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
INTERIOR_OPS = (CONV3X3, CONV1X1, MAXPOOL3X3)  # index = label / op code

MAX_VERTICES = 7
MAX_EDGES = 9

OP_CODES = {INPUT: INPUT_LABEL, OUTPUT: OUTPUT_LABEL, **{op: i for i, op in enumerate(INTERIOR_OPS)}}
OP_NAMES = {code: name for name, code in OP_CODES.items()}


class InvalidCellError(ValueError):
    """A spec that is not a valid NAS-Bench-101 cell; the message says what is wrong."""


def _op_name(op: str | int) -> str:
    if isinstance(op, (int, np.integer)):
        if int(op) not in OP_NAMES:
            raise InvalidCellError(f"unknown op code {op!r}; known codes: {sorted(OP_NAMES)}")
        return OP_NAMES[int(op)]
    if op not in OP_CODES:
        raise InvalidCellError(f"unknown op {op!r}; known ops: {', '.join(OP_CODES)}")
    return op


def pruned(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(read-only pruned matrix, kept-vertex mask): vertices off every input -> output path removed,
    the limits checked. InvalidCellError when the input does not reach the output or a limit is exceeded."""
    keep = reachable_from_input(matrix) & reaching_output(matrix)
    if not keep[0] or not keep[-1]:
        raise InvalidCellError("the input is not connected to the output")
    matrix = matrix[np.ix_(keep, keep)]
    if len(matrix) > MAX_VERTICES:
        raise InvalidCellError(f"{len(matrix)} vertices after pruning; at most {MAX_VERTICES} allowed")
    if matrix.sum() > MAX_EDGES:
        raise InvalidCellError(f"{int(matrix.sum())} edges after pruning; at most {MAX_EDGES} allowed")
    matrix.setflags(write=False)
    return matrix, keep


@dataclass(frozen=True, eq=False)
class Cell:
    """A pruned, validated cell. Build it with `Cell.from_spec`; equality is by module hash."""

    matrix: np.ndarray  # (V, V) int8, strictly upper-triangular
    ops: tuple[str, ...]

    @classmethod
    def from_spec(cls, matrix: Sequence[Sequence[int]] | np.ndarray, ops: Sequence[str | int]) -> Cell:
        """Validate a spec, prune vertices off every input -> output path, and check the limits."""
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise InvalidCellError(f"adjacency must be a square matrix, got shape {matrix.shape}")
        if not np.isin(matrix, (0, 1)).all():
            raise InvalidCellError("adjacency entries must be 0 or 1")
        matrix = matrix.astype(np.int8)
        if np.tril(matrix).any():
            raise InvalidCellError("adjacency must be strictly upper-triangular (edges go from lower to higher vertex)")
        if len(ops) != len(matrix):
            raise InvalidCellError(f"{len(ops)} ops given for {len(matrix)} vertices")
        names = [_op_name(op) for op in ops]
        if len(names) < 2 or names[0] != INPUT or names[-1] != OUTPUT:
            raise InvalidCellError(f"first op must be {INPUT!r} and last op {OUTPUT!r}, got {names}")
        if any(name not in INTERIOR_OPS for name in names[1:-1]):
            raise InvalidCellError(f"interior ops must be among {INTERIOR_OPS}, got {names[1:-1]}")

        matrix, keep = pruned(matrix)
        return cls(matrix, tuple(name for name, kept in zip(names, keep) if kept))

    @property
    def num_vertices(self) -> int:
        return len(self.matrix)

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum())

    @property
    def labels(self) -> list[int]:
        """Op codes: -1 input, -2 output, 0/1/2 for conv3x3/conv1x1/maxpool3x3."""
        return [OP_CODES[name] for name in self.ops]

    @cached_property
    def hash(self) -> str:
        """The official module hash (32 hex characters)."""
        return hash_module(self.matrix, self.labels)

    def padded(self, size: int = MAX_VERTICES) -> tuple[np.ndarray, np.ndarray]:
        """(adjacency (size, size) int8, op codes (size,) int8) zero-padded, as in the HDF5 file.

        The output stays at index V-1; padding rows, columns and op codes are 0.
        """
        n = self.num_vertices
        adjacency = np.zeros((size, size), dtype=np.int8)
        adjacency[:n, :n] = self.matrix
        codes = np.zeros(size, dtype=np.int8)
        codes[:n] = self.labels
        return adjacency, codes

    @classmethod
    def from_padded(cls, adjacency: np.ndarray, codes: np.ndarray, num_vertices: int) -> Cell:
        """Inverse of `padded`: the cell stored in a row of the HDF5 file."""
        n = int(num_vertices)
        return cls.from_spec(adjacency[:n, :n], [int(c) for c in codes[:n]])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cell) and self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        rows = ["".join(map(str, row)) for row in self.matrix.tolist()]
        return f"Cell(hash={self.hash}, matrix={rows}, ops={list(self.ops)})"
