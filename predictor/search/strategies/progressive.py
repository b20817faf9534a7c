"""Progressive search in the spirit of PNAS (Liu et al. 2018): grow cells vertex by vertex.

Start from every cell with one interior vertex. Each round keeps a beam of the best
queried cells that can still grow, lists all their one-vertex expansions (`growth`),
ranks them with a surrogate fitted on everything queried so far, and queries the best
few. Once cells reach the full 7 vertices, the beam also re-grows the best full cells
after removing one of their vertices, so the search keeps refining instead of stopping.
Proposals go through the pool rule like every other strategy's.
"""
from __future__ import annotations

import numpy as np

from predictor.cell import MAX_VERTICES, Cell
from predictor.search.growth import expansions, seed_cells, trimmed
from predictor.search.oracle import Oracle
from predictor.search.pool_mapping import edit_codes
from predictor.search.schedule import RetrainSchedule
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.predictor_guided import ranked
from predictor.search.strategies.random_search import random_unqueried
from predictor.search.surrogate import Surrogate


class ProgressiveSearch(Strategy):
    name = "pnas"

    def __init__(self, surrogate: Surrogate, beam_width: int = 8, schedule: RetrainSchedule = RetrainSchedule()):
        self.surrogate = surrogate
        self.beam_width = beam_width
        self.schedule = schedule

    def describe(self) -> str:
        return (f"progressive growth (beam {self.beam_width}, surrogate ensemble of {self.surrogate.ensemble_size}, "
                f"refit schedule {self.schedule.phases})")

    def _beam(self, oracle: Oracle, max_interior: int) -> list[Cell]:
        """Parents to grow: best queried cells with fewer than `max_interior` interior vertices,
        and, at full size, the best full cells with one vertex removed."""
        b = oracle.benchmark
        order = np.argsort(-np.array(oracle.observed), kind="stable")
        rows = np.array(oracle.rows)[order]
        growable = [row for row in rows if b.num_vertices[row] - 2 < max_interior][: self.beam_width]
        parents = {cell.hash: cell for cell in map(b.cell, growable)}
        if max_interior == MAX_VERTICES - 2:
            for row in [row for row in rows if b.num_vertices[row] == MAX_VERTICES][: self.beam_width]:
                parents.update((cell.hash, cell) for cell in trimmed(b.cell(row)))
        return list(parents.values())

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        for cell in seed_cells():
            if oracle.exhausted or oracle.query_cell(cell) is None:
                return
        b = oracle.benchmark
        max_interior = 1
        while not oracle.exhausted:
            max_interior = min(max_interior + 1, MAX_VERTICES - 2)
            grown = [expansions(cell) for cell in self._beam(oracle, max_interior)]
            if not grown or sum(len(parts[0]) for parts in grown) == 0:  # nothing left to grow: draw at random
                for row in random_unqueried(oracle, min(self.beam_width, oracle.remaining), rng):
                    oracle.query(row)
                continue
            adjacency, operations, num_vertices = (np.concatenate(parts) for parts in zip(*grown))
            _, unique = np.unique(edit_codes(adjacency, operations, num_vertices), return_index=True)
            adjacency, operations, num_vertices = adjacency[unique], operations[unique], num_vertices[unique]

            known = np.array(oracle.rows)
            model = self.surrogate.train(b.adjacency[known], b.operations[known], b.num_vertices[known],
                                         np.array(oracle.observed), rng)
            scores, _ = model.predict(adjacency, operations, num_vertices)
            wanted = min(self.schedule.queries_until_refit(oracle.num_queries), oracle.remaining)
            for i in ranked(scores, rng):
                if wanted == 0 or oracle.exhausted:
                    break
                if oracle.query_cell(Cell.from_padded(adjacency[i], operations[i], num_vertices[i])) is None:
                    return
                wanted -= 1
