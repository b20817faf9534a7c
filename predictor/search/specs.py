"""Unpruned 7-vertex specs, the genotype of evolution: from pool rows, and mutated as in NAS-Bench-101.

A spec is (matrix (7, 7) int8, op codes (7,) int8) with the input in slot 0 and the
output in slot 6. Like the official `ModelSpec`, it may hold vertices that pruning drops;
they are inherited by children and may be switched on by a later edge flip.
"""

from __future__ import annotations

import numpy as np

from predictor.data.cell import INTERIOR_OPS, MAX_VERTICES, Cell, InvalidCellError
from predictor.search.poison import Proposal
from predictor.search.pool_mapping import EMPTY_OP, fixed_layout

Spec = tuple[np.ndarray, np.ndarray]
NUM_INTERIOR = MAX_VERTICES - 2


def spec_of_row(
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: int,
    rng: np.random.Generator,
    num_ops: int = len(INTERIOR_OPS),
) -> Spec:
    """A 7-vertex spec of a stored module: its vertices in the fixed layout, random ops (of `num_ops`) on unused slots."""
    matrix, ops = fixed_layout(adjacency[None], operations[None], np.array([num_vertices]))
    matrix, ops = matrix[0], ops[0]
    unused = ops == EMPTY_OP
    ops[unused] = rng.integers(0, num_ops, size=int(unused.sum()))
    return matrix, ops


def to_cell(spec: Spec) -> Cell | None:
    """The pruned cell of a spec, None when the spec is not a valid cell."""
    try:
        return Cell.from_spec(spec[0], [int(code) for code in spec[1]])
    except InvalidCellError:
        return None


def to_proposal(spec: Spec) -> Proposal | None:
    """The pruned proposal of a spec over a poisoned vocabulary, None when the spec is not a valid cell."""
    try:
        return Proposal.from_spec(*spec)
    except InvalidCellError:
        return None


def mutate(
    spec: Spec,
    rng: np.random.Generator,
    mutation_rate: float = 1.0,
    max_attempts: int = 1000,
    num_ops: int = len(INTERIOR_OPS),
) -> tuple[Spec, Cell | Proposal]:
    """NAS-Bench-101's mutation: flip each edge with prob rate/7, resample each op (among `num_ops`) with prob rate/5.

    Repeated until the child is a valid cell (invalid specs are not architectures, they
    cost no query). The child is a `Cell`, or a `Proposal` over a poisoned vocabulary.
    """
    build = to_cell if num_ops == len(INTERIOR_OPS) else to_proposal
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
                others = [code for code in range(num_ops) if code != ops[slot]]
                ops[slot] = others[rng.integers(len(others))]
        cell = build((matrix, ops))
        if cell is not None:
            return (matrix, ops), cell
    raise RuntimeError(f"no valid mutation of {spec} in {max_attempts} attempts")
