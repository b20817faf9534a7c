"""Predictor-guided search: query at random, fit a predictor, query the best it predicts, repeat.

Two protocols share this code:
- iterative (the recommended `predictor` strategy): few random queries, then rounds of
  refit on everything queried so far -> rank the unqueried pool -> query the top of it,
  rounds growing as the data grows (`RetrainSchedule`); optionally an ensemble whose
  spread is added to the score as an exploration bonus (upper confidence bound);
- one-shot (the paper, Wen et al. 2019): N = 172 random queries, one fit, then the pool
  in predicted order.

Every round ranks the unqueried pool modules as the search space draws them
(`SearchSpace.pool_view`, fresh draws each round, as random search draws them), so over a
vocabulary with zero ops a model that has learnt what they cost can pick the harmless ones.
"""

from __future__ import annotations

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.schedule import RetrainSchedule
from predictor.search.search_space import Proposal
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.random_search import query_random
from predictor.search.surrogate import Surrogate


def ranked(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices by decreasing score; equal scores in random order."""
    return np.lexsort((rng.random(len(scores)), -np.asarray(scores)))


class PredictorGuidedSearch(Strategy):
    name = "predictor"

    def __init__(
        self,
        surrogate: Surrogate,
        initial_queries: int = 10,
        schedule: RetrainSchedule = RetrainSchedule(),
        exploration: float = 0.0,
        name: str | None = None,
    ):
        if initial_queries < 1:
            raise ValueError("the predictor needs at least one random query to learn from")
        self.surrogate = surrogate
        self.initial_queries = initial_queries
        self.schedule = schedule
        self.exploration = exploration
        if name:
            self.name = name

    @classmethod
    def one_shot(cls, surrogate: Surrogate, initial_queries: int = 172, name: str = "paper") -> PredictorGuidedSearch:
        """The paper's protocol: N random queries, one fit, then the predicted ranking in order."""
        return cls(surrogate, initial_queries, RetrainSchedule.never(), name=name)

    def describe(self) -> str:
        one_shot = self.schedule == RetrainSchedule.never()
        protocol = "one fit" if one_shot else f"refit schedule {self.schedule.phases}"
        bonus = f", score = mean + {self.exploration} x std" if self.exploration else ""
        return (
            f"{self.name}: {self.initial_queries} random queries, {protocol}, "
            f"ensemble of {self.surrogate.ensemble_size}{bonus}"
        )

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        query_random(oracle, min(self.initial_queries, oracle.remaining), rng)
        b = oracle.benchmark
        while not oracle.exhausted:
            model = self.surrogate.train(*oracle.training_arrays(), rng)
            candidates = oracle.unqueried_rows()
            adjacency, num_vertices = b.adjacency[candidates], b.num_vertices[candidates]
            operations = oracle.space.pool_view(adjacency, b.operations[candidates], num_vertices, rng)
            mean, spread = model.predict(adjacency, operations, num_vertices)
            order = ranked(mean + self.exploration * spread, rng)
            for i in order[: min(self.schedule.queries_until_refit(oracle.num_queries), oracle.remaining)]:
                if oracle.queried[candidates[i]]:  # taken meanwhile by a proposal the pool rule answered with it
                    continue
                if oracle.query(Proposal.of_padded(adjacency[i], operations[i], num_vertices[i])) is None:
                    return
