"""Regularized evolution (Real et al. 2019) as run in the NAS-Bench-101 paper.

Population 50, tournament 10, aging: each step the best of 10 random members is mutated
(edges and ops, `SearchSpace.mutate`), the child is queried and joins, the oldest member
dies. The first 50 members are pool modules drawn as random search draws them. A child the
pool rule answers with another module continues as that module (on a file with the whole
space the rule only steps in for modules already queried).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from predictor.data.encodings import Spec
from predictor.search.oracle import Oracle
from predictor.search.search_space import Proposal, as_spec_cell
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

    def _add(self, oracle: Oracle, spec: Spec, cell: Proposal, population: deque, rng: np.random.Generator) -> bool:
        """Query a child and let it join; False when the pool is used up."""
        answer = oracle.query(cell)
        if answer is None:
            return False
        row, accuracy = answer
        if oracle.edit_distances[-1] != 0:  # the rule handed back another module: that is the child
            b = oracle.benchmark
            spec = oracle.space.spec_of_row(b.adjacency[row], b.operations[row], int(b.num_vertices[row]), rng)
        population.append((spec, accuracy))
        return True

    def _first_members(self, oracle: Oracle, rng: np.random.Generator, population: deque) -> None:
        b = oracle.benchmark
        while len(population) < self.population_size and not oracle.exhausted:
            wanted = min(self.population_size - len(population), oracle.remaining)
            for row in random_unqueried(oracle, wanted, rng):
                if oracle.queried[row]:  # taken meanwhile by a proposal the pool rule answered with it
                    continue
                spec = oracle.space.sample_spec(b.adjacency[row], b.operations[row], int(b.num_vertices[row]), rng)
                if not self._add(oracle, spec, as_spec_cell(spec), population, rng):
                    return

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        population: deque[tuple[Spec, float]] = deque()
        self._first_members(oracle, rng, population)
        while not oracle.exhausted:
            size = min(self.tournament_size, len(population))
            contenders = rng.choice(len(population), size=size, replace=False)
            parent = max(contenders, key=lambda i: population[i][1])
            child, cell = oracle.space.mutate(population[parent][0], rng, self.mutation_rate)
            if not self._add(oracle, child, cell, population, rng):
                break
            if len(population) > self.population_size:
                population.popleft()
