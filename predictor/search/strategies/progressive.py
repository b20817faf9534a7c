"""Progressive search in the spirit of PNAS (Liu et al. 2018): grow cells vertex by vertex.

Start from every cell with one interior vertex. Round b keeps a beam of the best cells
proposed with b-1 interior vertices, lists all their one-vertex expansions (`growth`),
ranks them with a surrogate fitted on everything queried so far, and queries the best
few. Each round also re-grows the best cells after removing one of their vertices, so
the search keeps refining once cells are full (5 interior vertices) or at the edge limit.
Proposals go through the pool rule like every other strategy's, and, as in evolution, the
module that answered a proposal is what the beams continue from. A new vertex takes any op of
the search space's vocabulary.
"""

from __future__ import annotations

import numpy as np

from predictor.data.cell import MAX_VERTICES
from predictor.data.encodings import layout_keys
from predictor.search.growth import expansions, trimmed
from predictor.search.oracle import Oracle
from predictor.search.schedule import RetrainSchedule
from predictor.search.search_space import Proposal
from predictor.search.strategies.base import Strategy
from predictor.search.strategies.predictor_guided import ranked
from predictor.search.strategies.random_search import query_random
from predictor.search.surrogate import Surrogate

MAX_INTERIOR = MAX_VERTICES - 2


def interior(cell: Proposal) -> int:
    return cell.num_vertices - 2


class ProgressiveSearch(Strategy):
    name = "pnas"

    def __init__(
        self,
        surrogate: Surrogate,
        beam_width: int = 8,
        schedule: RetrainSchedule = RetrainSchedule(),
        name: str | None = None,
        surrogate_name: str = "",
    ):
        self.surrogate = surrogate
        self.beam_width = beam_width
        self.schedule = schedule
        self.surrogate_name = surrogate_name
        if name:
            self.name = name

    def describe(self) -> str:
        kind = f"{self.surrogate_name} " if self.surrogate_name else ""
        return (
            f"progressive growth (beam {self.beam_width}, {kind}surrogate ensemble of {self.surrogate.ensemble_size}, "
            f"refit schedule {self.schedule.phases})"
        )

    def _grown(self, answered: list[tuple[Proposal, float]], level: int, num_ops: int) -> list[tuple[np.ndarray, ...]]:
        """Expansions of two beams: the best answered cells with `level - 1` interior vertices (growing),
        and the best answered cells with one vertex removed (re-growing a vertex: this keeps the search
        going once cells are full or at the edge limit). Parents that cannot grow are skipped."""
        best_first = [cell for cell, _ in sorted(answered, key=lambda p: -p[1])]
        growing = [c for c in best_first if interior(c) == level - 1]
        regrowing = [smaller for c in best_first[: self.beam_width] for smaller in trimmed(c)]
        grown, seen = [], set()
        for beam in (growing, regrowing):
            taken = 0
            for parent in beam:
                if taken == self.beam_width:
                    break
                if parent.hash in seen:
                    continue
                seen.add(parent.hash)
                parts = expansions(parent, num_ops)
                if len(parts[0]):
                    grown.append(parts)
                    taken += 1
        return grown

    def _propose(self, oracle: Oracle, cell: Proposal, answered: list[tuple[Proposal, float]]) -> bool:
        """Query a proposal; remember the module that answered it (the proposal itself on a full file)."""
        answer = oracle.query(cell)
        if answer is not None:
            row, accuracy = answer
            answered.append((cell if oracle.edit_distances[-1] == 0 else oracle.pool_cell(row), accuracy))
        return answer is not None

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        num_ops = oracle.space.num_ops
        answered: list[tuple[Proposal, float]] = []
        for cell in oracle.space.seed_cells():
            if oracle.exhausted or not self._propose(oracle, cell, answered):
                return
        level = 1
        while not oracle.exhausted:
            level = min(level + 1, MAX_INTERIOR)
            grown = self._grown(answered, level, num_ops)
            if not grown:  # nothing can grow any more: spend the round at random
                query_random(oracle, min(self.beam_width, oracle.remaining), rng)
                continue
            adjacency, operations, num_vertices = (np.concatenate(parts) for parts in zip(*grown))
            training = oracle.training_arrays()
            keys, unique = np.unique(layout_keys(adjacency, operations, num_vertices, num_ops), return_index=True)
            new = unique[~np.isin(keys, layout_keys(*training[:3], num_ops))]  # drop cells queried as drawn
            if len(new) == 0:
                new = unique
            adjacency, operations, num_vertices = adjacency[new], operations[new], num_vertices[new]

            model = self.surrogate.train(*training, rng)
            scores, _ = model.predict(adjacency, operations, num_vertices)
            wanted = min(self.schedule.queries_until_refit(oracle.num_queries), oracle.remaining)
            for i in ranked(scores, rng)[:wanted]:
                cell = Proposal.of_padded(adjacency[i], operations[i], num_vertices[i])  # growth keeps cells pruned
                if not self._propose(oracle, cell, answered):
                    return
