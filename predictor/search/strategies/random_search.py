"""Random search: modules drawn uniformly from the pool, without replacement."""

from __future__ import annotations

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.strategies.base import Strategy


def random_unqueried(oracle: Oracle, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct unqueried rows, uniformly at random (fewer if the pool has fewer)."""
    rows = oracle.unqueried_rows()
    return rng.choice(rows, size=min(count, len(rows)), replace=False)


class RandomSearch(Strategy):
    """The baseline every other strategy must beat; its queries-to-target has a closed form."""

    name = "random"

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        for row in random_unqueried(oracle, oracle.remaining, rng):
            oracle.query(row)
