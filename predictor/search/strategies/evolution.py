"""Regularized evolution (Real et al. 2019) as run in the NAS-Bench-101 paper.

Population 50, tournament 10, aging: each step the best of 10 random members is mutated
(edges and ops, see `specs.mutate`), the child is queried and joins, the oldest member
dies. The first 50 members are drawn uniformly from the pool, like random search.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from predictor.search.oracle import Oracle
from predictor.search.specs import Spec, mutate, spec_of_row
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.random_search import random_unqueried


class RegularizedEvolution(Strategy):
    name = "evolution"

    def __init__(self, population_size: int = 50, tournament_size: int = 10, mutation_rate: float = 1.0):
        if not 1 <= tournament_size <= population_size:
            raise ValueError("need 1 <= tournament_size <= population_size")
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_rate = mutation_rate

    def describe(self) -> str:
        return (
            f"regularized evolution (population {self.population_size}, tournament {self.tournament_size}, "
            f"mutation rate {self.mutation_rate})"
        )

    def _spec(self, oracle: Oracle, row: int, rng: np.random.Generator) -> Spec:
        b = oracle.benchmark
        return spec_of_row(b.adjacency[row], b.operations[row], int(b.num_vertices[row]), rng)

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        population: deque[tuple[Spec, float]] = deque()
        for row in random_unqueried(oracle, min(self.population_size, oracle.remaining), rng):
            population.append((self._spec(oracle, row, rng), oracle.query(row)))
        while not oracle.exhausted:
            size = min(self.tournament_size, len(population))
            contenders = rng.choice(len(population), size=size, replace=False)
            parent = max(contenders, key=lambda i: population[i][1])
            child, cell = mutate(population[parent][0], rng, self.mutation_rate)
            answer = oracle.query_cell(cell)
            if answer is None:
                break
            row, accuracy = answer
            if oracle.edit_distances[-1] != 0:  # the rule handed back another module: that is the child
                child = self._spec(oracle, row, rng)
            population.append((child, accuracy))
            if len(population) > self.population_size:
                population.popleft()
