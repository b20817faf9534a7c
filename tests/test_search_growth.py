"""Growing cells one vertex at a time (progressive search)."""

from __future__ import annotations

import numpy as np

from predictor.data.cell import MAX_EDGES, Cell
from predictor.search.growth import expansions, trimmed
from predictor.search.search_space import SearchSpace


def grow_all(cells: list[Cell]) -> dict[str, Cell]:
    grown = {}
    for cell in cells:
        adjacency, operations, num_vertices = expansions(cell, 3)
        for a, o, v in zip(adjacency, operations, num_vertices):
            child = Cell.from_padded(a, o, v)
            assert child.num_vertices == cell.num_vertices + 1, "an expansion is already pruned"
            assert child.num_edges <= MAX_EDGES
            grown[child.hash] = child
    return grown


def test_growing_the_seeds_reaches_every_cell_of_the_next_sizes():
    """Published counts of the space: 6 cells of 3 vertices, 84 of 4, 2441 of 5."""
    seeds = SearchSpace().seed_cells()
    assert len({cell.hash for cell in seeds}) == 6
    four = grow_all(seeds)
    assert len(four) == 84
    assert len(grow_all(list(four.values()))) == 2441


def test_expansions_keep_the_parent_inside():
    parent = Cell.from_spec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
    )
    adjacency, operations, num_vertices = expansions(parent, 3)
    assert len(adjacency) > 0
    assert np.all(adjacency[:, :3, :3] == parent.matrix[:3, :3])
    assert np.all(adjacency[:, 3, 4] == 1), "the new vertex feeds the output"


def test_trimming_removes_one_interior_vertex():
    cell = Cell.from_spec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
    )
    smaller = trimmed(cell)
    assert len(smaller) == 2
    assert all(c.num_vertices == 3 for c in smaller)
