"""Modules (cells) for the tests: random ones, labels planted in them, and one known module with its hash."""

from __future__ import annotations

import numpy as np

from predictor.data.cell import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, Cell, InvalidCellError
from predictor.data.encodings import stacked as cells_to_arrays

KNOWN_ROWS = ["0100110", "0010000", "0001001", "0000010", "0000010", "0000001", "0000000"]
KNOWN_OPS = [INPUT, CONV3X3, MAXPOOL3X3, CONV3X3, CONV3X3, CONV1X1, OUTPUT]
KNOWN_HASH = "00005c142e6f48ac74fdcf73e3439874"


def known_matrix():
    return np.array([[int(c) for c in row] for row in KNOWN_ROWS])


def random_cells(count: int, seed: int = 0) -> list[Cell]:
    """Valid cells drawn at random (7 vertices before pruning, as the space's sampler does)."""
    rng = np.random.default_rng(seed)
    cells: dict[str, Cell] = {}
    while len(cells) < count:
        matrix = np.triu(rng.integers(0, 2, (7, 7)), k=1)
        ops = ["input"] + list(rng.choice(["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"], 5)) + ["output"]
        try:
            cell = Cell.from_spec(matrix, ops)
        except InvalidCellError:
            continue
        cells[cell.hash] = cell
    return list(cells.values())


def random_modules(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cells_to_arrays(random_cells(count, seed))


def planted_labels(operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """Accuracy rising with the fraction of conv3x3 among the interior vertices: a signal the GCN must find."""
    interior = np.maximum(num_vertices - 2, 1)
    real = np.arange(7)[None, :] < num_vertices[:, None] - 1
    conv3x3 = ((operations == 0) & real).sum(axis=1) - 0  # input (-1) and output (-2) are never 0
    return 0.86 + 0.07 * conv3x3 / interior


def enumerated_paths(cell) -> list[list[int]]:
    """Every input-to-output path of a cell as the op codes on it, by depth-first search."""
    codes = {"conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2}
    output = cell.num_vertices - 1

    def walk(vertex: int, ops: list[int]):
        if vertex == output:
            yield ops
            return
        for successor in np.flatnonzero(cell.matrix[vertex]):
            yield from walk(successor, ops + ([codes[cell.ops[successor]]] if successor != output else []))

    return list(walk(0, []))
