"""Regularized evolution (Real et al. 2019) as run in the NAS-Bench-101 paper.

Population 50, tournament 10, aging: each step the best of 10 random members is mutated
(edges and ops, see `specs.mutate`), the child is queried and joins, the oldest member
dies. The first 50 members are drawn uniformly from the pool, like random search.

Over a poisoned vocabulary (`poison.py`) mutation resamples ops among 3 + K and the first
members are drawn like poisoned random search. A child the pool rule answers with another
module continues as that module, which holds no poison (on a file with the whole space the
rule only steps in for modules already queried).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.poison import poison_labels, vocabulary_size
from predictor.search.specs import Spec, mutate, spec_of_row, to_proposal
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.random_search import random_unqueried


class RegularizedEvolution(Strategy):
    name = "evolution"

    def __init__(
        self, population_size: int = 50, tournament_size: int = 10, mutation_rate: float = 1.0, poison: int = 0
    ):
        if not 1 <= tournament_size <= population_size:
            raise ValueError("need 1 <= tournament_size <= population_size")
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_rate = mutation_rate
        self.poison = poison
        self.num_ops = vocabulary_size(poison)

    def describe(self) -> str:
        return (
            f"regularized evolution (population {self.population_size}, tournament {self.tournament_size}, "
            f"mutation rate {self.mutation_rate})"
        )

    def _spec(self, oracle: Oracle, row: int, rng: np.random.Generator) -> Spec:
        b = oracle.benchmark
        return spec_of_row(b.adjacency[row], b.operations[row], int(b.num_vertices[row]), rng, self.num_ops)

    def _poisoned_members(self, oracle: Oracle, rng: np.random.Generator, population: deque) -> None:
        """The first members over a poisoned vocabulary: random unqueried modules, ops redrawn among 3 + K."""
        for row in rng.permutation(oracle.unqueried_rows()):
            if len(population) == self.population_size or oracle.exhausted:
                return
            if oracle.queried[row]:
                continue
            matrix, ops = self._spec(oracle, row, rng)
            spec = (matrix, np.array(poison_labels(ops, self.poison, rng), dtype=np.int8))
            if not self._add(oracle, spec, to_proposal(spec), population, rng):
                return

    def _add(self, oracle: Oracle, spec: Spec, proposal, population: deque, rng: np.random.Generator) -> bool:
        """Query a child and let it join; False when the pool is used up."""
        answer = oracle.query_cell(proposal) if self.poison == 0 else oracle.query_proposal(proposal)
        if answer is None:
            return False
        row, accuracy = answer
        if oracle.edit_distances[-1] != 0:  # the rule handed back another module: that is the child
            spec = self._spec(oracle, row, rng)
        population.append((spec, accuracy))
        return True

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        population: deque[tuple[Spec, float]] = deque()
        if self.poison == 0:
            for row in random_unqueried(oracle, min(self.population_size, oracle.remaining), rng):
                population.append((self._spec(oracle, row, rng), oracle.query(row)))
        else:
            self._poisoned_members(oracle, rng, population)
        while not oracle.exhausted:
            size = min(self.tournament_size, len(population))
            contenders = rng.choice(len(population), size=size, replace=False)
            parent = max(contenders, key=lambda i: population[i][1])
            child, cell = mutate(population[parent][0], rng, self.mutation_rate, num_ops=self.num_ops)
            if not self._add(oracle, child, cell, population, rng):
                break
            if len(population) > self.population_size:
                population.popleft()
