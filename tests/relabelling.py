"""Relabelled specs of the same modules, for checking that the GCN does not depend on vertex order."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

from predictor.data.cell import MAX_VERTICES


def permute_vertices(adjacency: np.ndarray, operations: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel vertices: new vertex i is old vertex order[:, i] (batched)."""
    take = np.arange(len(order))[:, None]
    return adjacency[take[:, :, None], order[:, :, None], order[:, None, :]], operations[take, order]


@cache
def _interior_orders(num_interior: int) -> np.ndarray:
    orders = list(itertools.permutations(range(1, num_interior + 1)))
    return np.array(orders, dtype=np.int64).reshape(len(orders), num_interior)


def topological_relabellings(adjacency: np.ndarray, num_vertices: int) -> np.ndarray:
    """(k, 7) every order of the interior vertices that keeps the matrix upper-triangular (input first, output at V-1)."""
    v = int(num_vertices)
    interior = _interior_orders(v - 2)
    orders = np.concatenate(
        [np.zeros((len(interior), 1), np.int64), interior, np.full((len(interior), 1), v - 1)], axis=1
    )
    edges = np.argwhere(np.asarray(adjacency)[:v, :v])
    position = np.argsort(orders, axis=1)  # position[k, old] = new index of old vertex
    orders = orders[(position[:, edges[:, 0]] < position[:, edges[:, 1]]).all(axis=1)]
    padding = np.broadcast_to(np.arange(v, MAX_VERTICES), (len(orders), MAX_VERTICES - v))
    return np.concatenate([orders, padding], axis=1)


def random_relabelling(
    adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each module relabelled by one random topological order."""
    order = np.empty((len(num_vertices), MAX_VERTICES), dtype=np.int64)
    for i, (matrix, v) in enumerate(zip(adjacency, num_vertices)):
        choices = topological_relabellings(matrix, v)
        order[i] = choices[rng.integers(len(choices))]
    return permute_vertices(adjacency, operations, order)
