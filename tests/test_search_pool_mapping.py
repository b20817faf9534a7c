"""The rule for proposals outside the pool: nearest unqueried module by edit distance, seeded ties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from predictor.data.cell import Cell
from predictor.data.encodings import fixed_layout
from predictor.search.benchmark import Benchmark
from predictor.search.pool_mapping import PoolMapper
from predictor.search.search_space import SearchSpace
from tests.search_fixtures import small_pool


def slot_graph(cell: Cell) -> tuple[set, dict]:
    """Edges and interior ops of a cell with its output moved to slot 6 (written independently of the library)."""
    v = cell.num_vertices
    slot = {i: (6 if i == v - 1 else i) for i in range(v)}
    edges = {(slot[x], slot[y]) for x, y in zip(*np.nonzero(cell.matrix))}
    ops = {slot[i]: cell.ops[i] for i in range(1, v - 1)}
    return edges, ops


def brute_force_distance(proposal: Cell, module: Cell) -> int:
    """Fewest edge flips + op changes, over the upper-triangular relabellings of the proposal's interior slots."""
    edges, ops = slot_graph(proposal)
    target_edges, target_ops = slot_graph(module)
    best = None
    for permutation in itertools.permutations(range(1, 6)):
        where = {0: 0, 6: 6, **{old: new for new, old in zip(range(1, 6), permutation)}}
        moved = {(where[x], where[y]) for x, y in edges}
        if any(x > y for x, y in moved):
            continue
        moved_ops = {where[s]: op for s, op in ops.items()}
        flips = len(moved ^ target_edges)
        changes = sum(moved_ops.get(s) != target_ops.get(s) for s in range(1, 6))
        best = flips + changes if best is None else min(best, flips + changes)
    return best


@pytest.fixture(scope="module")
def pool(sample_hdf5) -> Benchmark:
    return small_pool(Benchmark.from_file(sample_hdf5), 150, seed=5)


@pytest.fixture(scope="module")
def mapper(pool) -> PoolMapper:
    return PoolMapper(pool.hashes, pool.adjacency, pool.operations, pool.num_vertices)


def outside_cells(pool: Benchmark, count: int) -> list[Cell]:
    """Valid cells of the sample that this small pool does not hold."""
    rng, space = np.random.default_rng(0), SearchSpace()
    cells = []
    while len(cells) < count:
        row = int(rng.integers(len(pool)))
        spec = space.spec_of_row(pool.adjacency[row], pool.operations[row], int(pool.num_vertices[row]), rng)
        _, proposal = space.mutate(spec, rng)
        cell = Cell.from_spec(proposal.matrix, list(proposal.labels))
        if pool.row(cell.hash) is None:
            cells.append(cell)
    return cells


def test_a_pool_module_resolves_to_itself(pool, mapper):
    excluded = np.zeros(len(pool), dtype=bool)
    for row in (0, 17, 99):
        assert mapper.resolve(pool.cell(row), excluded, np.random.default_rng(0)) == (row, 0)


def test_a_relabelled_pool_module_is_found_by_its_hash(pool, mapper):
    row = int(np.flatnonzero(pool.num_vertices == 7)[0])
    cell = pool.cell(row)
    order = [0, 1, 2, 3, 4, 5, 6]
    for permutation in itertools.permutations(range(1, 6)):  # any other topological order of the same graph
        candidate = [0, *permutation, 6]
        matrix = cell.matrix[np.ix_(candidate, candidate)]
        if candidate != order and not np.tril(matrix).any():
            relabelled = Cell.from_spec(matrix, [cell.ops[i] for i in candidate])
            assert relabelled.hash == cell.hash
            assert mapper.resolve(relabelled, np.zeros(len(pool), bool), np.random.default_rng(0)) == (row, 0)
            return
    pytest.skip("this module has a single topological order")


def test_outside_cells_go_to_the_nearest_unqueried_module(pool, mapper):
    rng = np.random.default_rng(1)
    excluded = rng.random(len(pool)) < 0.3
    modules = [pool.cell(row) for row in range(len(pool))]
    for proposal in outside_cells(pool, 8):
        distances = np.array([brute_force_distance(proposal, module) for module in modules])
        row, distance = mapper.resolve(proposal, excluded, np.random.default_rng(2))
        assert not excluded[row]
        assert distance == distances[~excluded].min() == distances[row]


def test_queried_modules_are_never_handed_out_and_ties_follow_the_seed(pool, mapper):
    proposal = outside_cells(pool, 1)[0]
    excluded = np.zeros(len(pool), dtype=bool)
    picks = {mapper.resolve(proposal, excluded, np.random.default_rng(seed))[0] for seed in range(30)}
    again = {mapper.resolve(proposal, excluded, np.random.default_rng(seed))[0] for seed in range(30)}
    assert picks == again
    excluded[list(picks)] = True
    row, _ = mapper.resolve(proposal, excluded, np.random.default_rng(0))
    assert row not in picks
    excluded[:] = True
    assert mapper.resolve(proposal, excluded, np.random.default_rng(0)) is None


def test_fixed_layout_moves_the_output_to_the_last_slot(pool):
    row = int(np.flatnonzero(pool.num_vertices < 7)[0])
    v = int(pool.num_vertices[row])
    adjacency, ops = fixed_layout(
        pool.adjacency[row : row + 1], pool.operations[row : row + 1], pool.num_vertices[row : row + 1]
    )
    assert ops[0, 6] == -2 and ops[0, 0] == -1
    assert np.array_equal(adjacency[0, : v - 1, 6], pool.adjacency[row, : v - 1, v - 1])
    assert adjacency[0].sum() == pool.adjacency[row].sum()
    assert not adjacency[0, v - 1 : 6].any() and not adjacency[0, :, v - 1 : 6].any()
