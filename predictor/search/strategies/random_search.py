"""Random search: pool modules drawn uniformly, without replacement, each seen through the space's vocabulary.

Every drawn module is proposed as the search space draws it (`SearchSpace.sample_of_row`: with
K zero ops each interior op is drawn uniformly among 3 + K, the real ones tied to the module's):
uniform over the pool's graphs with uniform ops.
"""

from __future__ import annotations

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.strategies.base import Strategy


def random_unqueried(oracle: Oracle, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct unqueried rows, uniformly at random (fewer if the pool has fewer)."""
    rows = oracle.unqueried_rows()
    return rng.choice(rows, size=min(count, len(rows)), replace=False)


def query_random(oracle: Oracle, count: int, rng: np.random.Generator) -> None:
    """`count` random queries (fewer if the pool runs out): rows drawn at once, a row taken meanwhile (a proposal
    the pool rule answered with it) skipped, and the shortfall drawn again."""
    b, target = oracle.benchmark, oracle.num_queries + count
    while oracle.num_queries < target and not oracle.exhausted:
        for row in random_unqueried(oracle, target - oracle.num_queries, rng):
            if not oracle.queried[row]:
                cell = oracle.space.sample_of_row(
                    b.adjacency[row], b.operations[row], b.num_vertices[row], rng, b.hashes[row].decode()
                )
                oracle.query(cell)


class RandomSearch(Strategy):
    """The baseline every other strategy must beat; its queries-to-target has a closed form over real ops."""

    name = "random"

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        query_random(oracle, oracle.remaining, rng)
