"""Reference point without learning: query the pool in decreasing order of trainable parameters.

Bigger cells tend to be more accurate on NAS-Bench-101, so this zero-cost ranking is the
bar a learned predictor has to clear to be worth its training set.
"""

from __future__ import annotations

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.strategies.base import Strategy


class ParameterRanking(Strategy):
    name = "params"

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        parameters = oracle.benchmark.trainable_parameters.astype(np.int64)
        order = np.lexsort((rng.random(len(parameters)), -parameters))  # ties in random order
        for row in order:
            if oracle.exhausted:
                break
            if not oracle.queried[row]:
                oracle.query(oracle.pool_cell(row))
