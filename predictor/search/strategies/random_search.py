"""Random search: modules drawn uniformly from the pool, without replacement.

Over a poisoned vocabulary (K zero ops, `poison.py`) each drawn module has its interior ops
redrawn among 3 + K (`poison_labels`: the op drawn uniformly from 3 + K, the real ones tied to
the module's), and is proposed as such: uniform over the pool's graphs with uniform ops.
"""

from __future__ import annotations

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.poison import poisoned_module
from predictor.search.strategies.base import Strategy


def random_unqueried(oracle: Oracle, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct unqueried rows, uniformly at random (fewer if the pool has fewer)."""
    rows = oracle.unqueried_rows()
    return rng.choice(rows, size=min(count, len(rows)), replace=False)


def query_random(oracle: Oracle, count: int, rng: np.random.Generator, poison: int = 0) -> None:
    """Up to `count` random queries; with poison, each a random unqueried module with its ops redrawn."""
    if poison == 0:
        for row in random_unqueried(oracle, count, rng):
            oracle.query(row)
        return
    b = oracle.benchmark
    target = oracle.num_queries + count
    for row in rng.permutation(oracle.unqueried_rows()):
        if oracle.num_queries >= target or oracle.exhausted:
            return
        if not oracle.queried[row]:  # an earlier poisoned proposal may have been answered by this module
            oracle.query_proposal(
                poisoned_module(b.adjacency[row], b.operations[row], b.num_vertices[row], poison, rng)
            )


class RandomSearch(Strategy):
    """The baseline every other strategy must beat; its queries-to-target has a closed form (without poison)."""

    name = "random"

    def __init__(self, poison: int = 0):
        self.poison = poison

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        query_random(oracle, oracle.remaining, rng, self.poison)
