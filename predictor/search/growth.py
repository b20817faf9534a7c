"""Growing cells one vertex at a time, the move of progressive search (PNAS).

A cell's vertices in topological order can be built by adding one vertex at a time,
each new vertex taking its inputs from vertices already there. `expansions` adds a
vertex just before the output in every such way: any op, any non-empty set of inputs;
each input may keep or hand over its edge to the output (the new vertex always feeds
the output). Every expansion of a pruned cell is again pruned; those over 9 edges are
dropped. Arrays come out in the HDF5 layout, ready for a predictor; the new vertex takes
each op of the search space's vocabulary.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

from predictor.data.cell import MAX_EDGES, MAX_VERTICES, InvalidCellError
from predictor.search.search_space import Proposal

NOT_AN_INPUT, INPUT_KEEPS_OUTPUT_EDGE, INPUT_HANDS_OVER_OUTPUT_EDGE = 0, 1, 2


@cache
def _input_choices(num_sources: int) -> np.ndarray:
    """Every assignment of {not an input, input keeping its output edge, input handing it over} to the sources."""
    choices = np.array(list(itertools.product(range(3), repeat=num_sources)), dtype=np.int8)
    return choices[(choices > 0).any(axis=1)]


def expansions(cell: Proposal, num_ops: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(adjacency (m, 7, 7), operations (m, 7), num_vertices (m,)) of all one-vertex expansions of `cell`,
    the new vertex taking each of `num_ops` ops."""
    v = cell.num_vertices
    if v >= MAX_VERTICES:
        return (
            np.zeros((0, MAX_VERTICES, MAX_VERTICES), np.int8),
            np.zeros((0, MAX_VERTICES), np.int8),
            np.zeros(0, np.int8),
        )
    sources = v - 1  # every vertex but the output
    choices = _input_choices(sources)
    feeds_output = cell.matrix[:sources, v - 1].astype(bool)
    hands_over = choices == INPUT_HANDS_OVER_OUTPUT_EDGE
    choices = choices[~(hands_over & ~feeds_output).any(axis=1)]  # only an existing edge can be handed over
    is_input = choices > 0
    hands_over = choices == INPUT_HANDS_OVER_OUTPUT_EDGE
    edges = cell.num_edges + is_input.sum(axis=1) + 1 - hands_over.sum(axis=1)
    keep = edges <= MAX_EDGES
    is_input, hands_over = is_input[keep], hands_over[keep]
    m = len(is_input)

    adjacency = np.zeros((m, MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
    adjacency[:, :sources, :sources] = cell.matrix[:sources, :sources]
    adjacency[:, :sources, v - 1] = is_input  # into the new vertex (index v-1)
    adjacency[:, :sources, v] = feeds_output & ~hands_over  # the output moves to index v
    adjacency[:, v - 1, v] = 1
    labels = np.array(cell.labels, dtype=np.int8)
    operations = np.zeros((m, MAX_VERTICES), dtype=np.int8)
    operations[:, :sources] = labels[:sources]
    operations[:, v] = labels[-1]

    adjacency = np.repeat(adjacency, num_ops, axis=0)
    operations = np.repeat(operations, num_ops, axis=0)
    operations[:, v - 1] = np.tile(np.arange(num_ops, dtype=np.int8), m)
    return adjacency, operations, np.full(len(adjacency), v + 1, dtype=np.int8)


def trimmed(cell: Proposal) -> list[Proposal]:
    """The valid cells left after removing one interior vertex (and whatever pruning then drops)."""
    cells = []
    for vertex in range(1, cell.num_vertices - 1):
        keep = [i for i in range(cell.num_vertices) if i != vertex]
        try:
            cells.append(Proposal.from_spec(cell.matrix[np.ix_(keep, keep)], [cell.labels[i] for i in keep]))
        except InvalidCellError:
            continue
    return cells
