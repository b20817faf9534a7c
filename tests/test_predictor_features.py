"""Model inputs: one-hot node types (any vocabulary size), propagation matrices, pooling weights; relabelled specs."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.data.cell import Cell
from predictor.data.encodings import stacked as cells_to_arrays
from predictor.gcn.features import (
    flat_encoding,
    one_hot_operations,
    pooling_weights,
    propagation_matrices,
)
from tests.relabelling import random_relabelling, topological_relabellings

# The module of the design notes: 7 vertices, 9 edges.
MATRIX = [
    [0, 1, 0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
OPS = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
SMALL = Cell.from_spec(
    [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv1x1-bn-relu", "maxpool3x3", "output"]
)


def test_one_hot_types_and_zero_padding():
    adjacency, operations, num_vertices = cells_to_arrays([SMALL])
    one_hot = one_hot_operations(operations, num_vertices)[0]
    assert one_hot.shape == (7, 5)
    # index = op code + 2: output 0, input 1, conv3x3 2, conv1x1 3, maxpool 4
    assert one_hot[:4].argmax(axis=1).tolist() == [1, 3, 4, 0]
    assert (one_hot[4:] == 0).all()  # padded op code 0 must not read as conv3x3
    assert (one_hot.sum(axis=1) == [1, 1, 1, 1, 0, 0, 0]).all()


def test_a_larger_vocabulary_gets_its_own_types_and_a_code_too_large_is_refused():
    adjacency, operations, num_vertices = cells_to_arrays([SMALL])
    default = one_hot_operations(operations, num_vertices)
    operations = operations.copy()
    one_hot = one_hot_operations(operations, num_vertices, num_op_types=5)
    assert one_hot.shape == (1, 7, 7)
    np.testing.assert_array_equal(one_hot[..., :5], default)  # the first types keep their columns
    operations[0, 1] = 4  # a fifth operation type on an interior vertex
    assert one_hot_operations(operations, num_vertices, num_op_types=5)[0, 1].argmax() == 6
    with pytest.raises(ValueError, match="num_op_types"):
        one_hot_operations(operations, num_vertices)  # 3 types: code 4 must not pass as another type


def test_propagation_rows_are_normalized_and_padding_stays_alone():
    adjacency, _, num_vertices = cells_to_arrays([SMALL])
    forward, backward = propagation_matrices(adjacency)[0]
    np.testing.assert_allclose(forward.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(backward.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(forward[4:], np.eye(7, dtype=np.float32)[4:])
    np.testing.assert_array_equal(forward[:4, 4:], 0)
    np.testing.assert_array_equal(backward[:4, 4:], 0)
    # the input reaches itself and both interior vertices equally
    np.testing.assert_allclose(forward[0, :3], [1 / 3] * 3, rtol=1e-6)
    expected_backward = forward.T / forward.T.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(backward, expected_backward, rtol=1e-6)
    np.testing.assert_allclose(pooling_weights(num_vertices)[0], [[0.25] * 4 + [0] * 3])
    np.testing.assert_allclose(pooling_weights(num_vertices, "mean-output")[0, 1], [0, 0, 0, 1, 0, 0, 0])


def test_topological_relabellings_are_valid_specs_of_the_same_module():
    cell = Cell.from_spec(MATRIX, OPS)
    adjacency, operations, num_vertices = cells_to_arrays([cell])
    orders = topological_relabellings(adjacency[0], num_vertices[0])
    assert len(orders) > 1
    assert (orders[:, 0] == 0).all() and (orders[:, 6] == 6).all()
    for order in orders:
        matrix = adjacency[0][np.ix_(order, order)]
        assert not np.tril(matrix).any()
        relabelled = Cell.from_spec(matrix, [int(c) for c in operations[0][order]])
        assert relabelled.hash == cell.hash


def test_random_relabelling_keeps_every_module():
    cells = [Cell.from_spec(MATRIX, OPS), SMALL]
    adjacency, operations, num_vertices = cells_to_arrays(cells)
    new_adjacency, new_operations = random_relabelling(adjacency, operations, num_vertices, np.random.default_rng(0))
    for i, cell in enumerate(cells):
        assert Cell.from_padded(new_adjacency[i], new_operations[i], num_vertices[i]).hash == cell.hash


def test_flat_encoding_puts_the_output_last():
    adjacency, operations, num_vertices = cells_to_arrays([SMALL])
    encoded = flat_encoding(adjacency, operations, num_vertices)[0]
    assert encoded.shape == (21 + 35,)
    one_hot = encoded[21:].reshape(7, 5)
    assert one_hot[6].argmax() == 0 and one_hot[6].sum() == 1  # output in slot 6
    assert (one_hot[3:6] == 0).all()  # padding in the middle
    assert encoded[:21].sum() == 4  # four edges
