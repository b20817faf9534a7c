"""Predictor-guided search: query at random, fit a predictor, query the best it predicts, repeat.

Two protocols share this code:
- iterative (the recommended `predictor` strategy): few random queries, then rounds of
  refit on everything queried so far -> rank the unqueried pool -> query the top of it,
  rounds growing as the data grows (`RetrainSchedule`); optionally an ensemble whose
  spread is added to the score as an exploration bonus (upper confidence bound);
- one-shot (the paper, Wen et al. 2019): N = 172 random queries, one fit, then the pool
  in predicted order.

Over a poisoned vocabulary (`poison.py`) every round ranks the unqueried pool modules with
their ops redrawn among 3 + K (fresh draws each round, as random search draws them), so a
model that has learnt what the zero ops cost can pick the clean or harmless ones.
"""

from __future__ import annotations

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.poison import Proposal, poisoned_view
from predictor.search.schedule import RetrainSchedule
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.random_search import query_random
from predictor.search.surrogate import Surrogate


def as_proposal(adjacency: np.ndarray, operations: np.ndarray, num_vertices: int) -> Proposal:
    """A candidate of the poisoned view (HDF5 layout, pruned like the module it was drawn from) as a proposal."""
    n = int(num_vertices)
    return Proposal(adjacency[:n, :n], tuple(int(code) for code in operations[:n]))


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
        poison: int = 0,
    ):
        if initial_queries < 1:
            raise ValueError("the predictor needs at least one random query to learn from")
        self.surrogate = surrogate
        self.initial_queries = initial_queries
        self.schedule = schedule
        self.exploration = exploration
        self.poison = poison
        if name:
            self.name = name

    @classmethod
    def one_shot(
        cls, surrogate: Surrogate, initial_queries: int = 172, name: str = "paper", poison: int = 0
    ) -> PredictorGuidedSearch:
        """The paper's protocol: N random queries, one fit, then the predicted ranking in order."""
        return cls(surrogate, initial_queries, RetrainSchedule.never(), name=name, poison=poison)

    def describe(self) -> str:
        one_shot = self.schedule == RetrainSchedule.never()
        protocol = "one fit" if one_shot else f"refit schedule {self.schedule.phases}"
        bonus = f", score = mean + {self.exploration} x std" if self.exploration else ""
        return (
            f"{self.name}: {self.initial_queries} random queries, {protocol}, "
            f"ensemble of {self.surrogate.ensemble_size}{bonus}"
        )

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        query_random(oracle, min(self.initial_queries, oracle.remaining), rng, self.poison)
        b = oracle.benchmark
        while not oracle.exhausted:
            model = self.surrogate.train(*oracle.training_arrays(), rng)
            candidates = oracle.unqueried_rows()
            adjacency, num_vertices = b.adjacency[candidates], b.num_vertices[candidates]
            operations, poisoned = poisoned_view(adjacency, b.operations[candidates], num_vertices, self.poison, rng)
            mean, spread = model.predict(adjacency, operations, num_vertices)
            order = ranked(mean + self.exploration * spread, rng)
            for i in order[: min(self.schedule.queries_until_refit(oracle.num_queries), oracle.remaining)]:
                if not poisoned[i]:
                    if not oracle.queried[candidates[i]]:  # a poisoned pick may have been answered by this module
                        oracle.query(candidates[i])
                elif oracle.query_proposal(as_proposal(adjacency[i], operations[i], num_vertices[i])) is None:
                    return
