import itertools

import numpy as np
import pytest

from predictor.data.cell import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, Cell, InvalidCellError
from predictor.data.records import read_records
from tests.modules import KNOWN_HASH, KNOWN_OPS, known_matrix


def test_known_module_hash():
    assert Cell.from_spec(known_matrix(), KNOWN_OPS).hash == KNOWN_HASH


def test_every_sample_module_hashes_to_its_stored_hash(sample_tfrecord):
    checked, wrong = set(), []
    for record in read_records(sample_tfrecord):
        if record.module_hash in checked:
            continue
        checked.add(record.module_hash)
        matrix, ops = record.graph()
        if Cell.from_spec(matrix, ops).hash != record.module_hash:
            wrong.append(record.module_hash)
    assert len(checked) == 20_031
    assert wrong == []


def _permuted(matrix, ops, order):
    """Relabel interior vertices by `order` (a permutation of 1..V-2)."""
    full = [0, *order, len(ops) - 1]
    inverse = np.argsort(full)
    permuted = np.zeros_like(matrix)
    for x, y in zip(*np.nonzero(matrix)):
        permuted[inverse[x], inverse[y]] = 1
    return permuted, [ops[v] for v in full]


def test_isomorphic_specs_hash_equal():
    matrix, ops = known_matrix(), KNOWN_OPS
    hashes = set()
    for order in itertools.permutations(range(1, 6)):
        permuted, permuted_ops = _permuted(matrix, ops, order)
        if np.tril(permuted).any():  # not a topological order: not a valid spec
            continue
        hashes.add(Cell.from_spec(permuted, permuted_ops).hash)
    assert hashes == {KNOWN_HASH}


def test_different_ops_hash_differently():
    ops = list(KNOWN_OPS)
    ops[1] = CONV1X1
    assert Cell.from_spec(known_matrix(), ops).hash != KNOWN_HASH


def test_extraneous_vertex_is_pruned():
    # vertex 2 has no path to the output: dangling
    matrix = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    cell = Cell.from_spec(matrix, [INPUT, CONV3X3, MAXPOOL3X3, OUTPUT])
    pruned = Cell.from_spec(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), [INPUT, CONV3X3, OUTPUT])
    assert cell.num_vertices == 3
    assert cell.ops == (INPUT, CONV3X3, OUTPUT)
    assert cell.hash == pruned.hash


def test_padded_round_trip():
    cell = Cell.from_spec(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]]), [INPUT, MAXPOOL3X3, OUTPUT])
    adjacency, codes = cell.padded()
    assert adjacency.shape == (7, 7) and codes.tolist() == [-1, 2, -2, 0, 0, 0, 0]
    assert Cell.from_padded(adjacency, codes, 3).hash == cell.hash


@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        (np.zeros((2, 3)), [INPUT, OUTPUT], "square"),
        (np.array([[0, 2], [0, 0]]), [INPUT, OUTPUT], "0 or 1"),
        (np.array([[0, 1], [1, 0]]), [INPUT, OUTPUT], "upper-triangular"),
        (np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), [INPUT, "conv5x5", OUTPUT], "unknown op"),
        (np.array([[0, 1], [0, 0]]), [OUTPUT, INPUT], "first op"),
        (np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]]), [INPUT, CONV3X3, OUTPUT], "not connected"),
        (np.array([[0, 1], [0, 0]]), [INPUT], "ops given"),
        (np.triu(np.ones((8, 8)), 1), [INPUT] + [CONV3X3] * 6 + [OUTPUT], "vertices"),
        (np.triu(np.ones((6, 6)), 1), [INPUT] + [CONV3X3] * 4 + [OUTPUT], "edges"),
    ],
)
def test_invalid_specs_are_rejected_with_a_reason(matrix, ops, message):
    with pytest.raises(InvalidCellError, match=message):
        Cell.from_spec(matrix, ops)
