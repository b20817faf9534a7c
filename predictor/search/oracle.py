"""One trial's window on the benchmark: queries answered like the official API, and counted.

Querying a module reveals the 108-epoch final validation accuracy of one of its stored
repeats, drawn at random as `nasbench.api.query` does, and costs one unit of budget.
The oracle refuses a query past the budget and, unless the strategy declares that it
re-queries on purpose, a module queried before: the curves compare strategies at equal
numbers of distinct trained networks. A proposal over a poisoned vocabulary (`poison.py`) is
answered by the cell it computes; one whose output is cut off answers chance accuracy and
records the row `CHANCE_ROW` (a trained network, but no pool module).
"""

from __future__ import annotations

import numpy as np

from predictor.data.cell import Cell
from predictor.search.benchmark import Benchmark
from predictor.search.poison import CHANCE_ACCURACY, CHANCE_ROW, Proposal
from predictor.search.pool_mapping import PoolMapper, spec_code


class BudgetExhaustedError(RuntimeError):
    """A query past the budget: a bug in the strategy that issued it."""


class RepeatedQueryError(RuntimeError):
    """A module queried twice by a strategy that does not re-query on purpose."""


class Oracle:
    """Answers and records the queries of one trial."""

    def __init__(
        self,
        benchmark: Benchmark,
        budget: int,
        rng: np.random.Generator,
        mapper: PoolMapper | None = None,
    ):
        if budget < 1:
            raise ValueError(f"budget must be at least 1, got {budget}")
        self.benchmark = benchmark
        self.budget = budget
        self._repeat_rng, self._tie_rng = rng.spawn(2)
        self._mapper = mapper
        self.queried = np.zeros(len(benchmark), dtype=bool)
        self.rows: list[int] = []
        self.observed: list[float] = []
        self.edit_distances: list[int] = []  # per `query_cell`: 0 = the proposal itself was queried
        self.poisoned: list[bool] = []  # per query: the proposal held a poisoned op
        self._as_proposed: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}  # query -> poisoned arrays it answered

    @property
    def mapper(self) -> PoolMapper:
        if self._mapper is None:
            b = self.benchmark
            self._mapper = PoolMapper(b.hashes, b.adjacency, b.operations, b.num_vertices)
        return self._mapper

    @property
    def num_queries(self) -> int:
        return len(self.rows)

    @property
    def remaining(self) -> int:
        """Queries left: the budget, or the unqueried pool when that is smaller."""
        return min(self.budget - len(self.rows), len(self.queried) - int(self.queried.sum()))

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0

    def unqueried_rows(self) -> np.ndarray:
        return np.flatnonzero(~self.queried)

    def query(self, row: int) -> float:
        """Validation accuracy of one random stored repeat of module `row`; costs one query."""
        row = int(row)
        if len(self.rows) >= self.budget:
            raise BudgetExhaustedError(f"query {len(self.rows) + 1} exceeds the budget of {self.budget}")
        if self.queried[row]:
            raise RepeatedQueryError(f"module {self.benchmark.hashes[row].decode()} (row {row}) was already queried")
        repeats = self.benchmark.validation_repeats[row]
        stored = np.flatnonzero(~np.isnan(repeats))
        value = float(repeats[stored[0] if len(stored) == 1 else self._repeat_rng.choice(stored)])
        self.queried[row] = True
        self._record(row, value)
        return value

    def _record(self, row: int, value: float) -> None:
        self.rows.append(row)
        self.observed.append(value)
        self.poisoned.append(False)

    def query_proposal(self, proposal: Proposal) -> tuple[int, float] | None:
        """Query a proposal over the poisoned vocabulary: the cell it computes, under the pool rule;
        chance accuracy (row `CHANCE_ROW`) when its poisoned vertices cut the output off."""
        cell = proposal.clean_cell()
        if not proposal.poisoned:
            return self.query_cell(cell)
        if cell is None:
            if len(self.rows) >= self.budget:
                raise BudgetExhaustedError(f"query {len(self.rows) + 1} exceeds the budget of {self.budget}")
            self._record(CHANCE_ROW, CHANCE_ACCURACY)
            self.edit_distances.append(0)
            answer = (CHANCE_ROW, CHANCE_ACCURACY)
        else:
            answer = self.query_cell(cell)
            if answer is None:
                return None
        self.poisoned[-1] = True
        if self.edit_distances[-1] == 0:
            self._as_proposed[len(self.rows) - 1] = (*proposal.padded(), proposal.num_vertices)
        return answer

    def training_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(adjacency, operations, num_vertices, observed) of every query so far, in the HDF5 layout: the module
        that answered, or the poisoned proposal itself where it was answered as proposed (or by chance)."""
        b = self.benchmark
        rows = np.maximum(np.array(self.rows, dtype=np.int64), 0)
        adjacency, operations, num_vertices = b.adjacency[rows], b.operations[rows], b.num_vertices[rows]
        for query, (matrix, ops, size) in self._as_proposed.items():
            adjacency[query], operations[query], num_vertices[query] = matrix, ops, size
        return adjacency, operations, num_vertices, np.array(self.observed)

    def resolve(self, cell: Cell) -> tuple[int, int] | None:
        """(row, edit distance) of the pool module a proposed cell gets under the rule of `pool_mapping`.

        None when no unqueried module is left. Resolving costs nothing; querying does.
        """
        return self.mapper.resolve(cell, self.queried, self._tie_rng)

    def query_cell(self, cell: Cell) -> tuple[int, float] | None:
        """Resolve a proposal and query it: (row, observed accuracy), None when the pool is used up."""
        return self._query_resolved(self.resolve(cell))

    def query_spec(self, matrix: np.ndarray, ops: np.ndarray) -> tuple[int, float] | None:
        """Query the unqueried module nearest to a raw 7-vertex spec that is not a valid cell.

        For a strategy whose proposals keep coming out invalid: the rule of `pool_mapping`
        applied to the spec as drawn, so the strategy still learns where its proposals lead.
        """
        return self._query_resolved(self.mapper.nearest(spec_code(matrix, ops), self.queried, self._tie_rng))

    def _query_resolved(self, resolved: tuple[int, int] | None) -> tuple[int, float] | None:
        if resolved is None:
            return None
        row, distance = resolved
        value = self.query(row)
        self.edit_distances.append(distance)
        return row, value

    def best_row(self) -> int:
        """Incumbent: the queried module with the best observed accuracy (earliest on ties)."""
        return self.rows[int(np.argmax(self.observed))]
