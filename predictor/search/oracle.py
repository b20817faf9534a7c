"""One trial's window on the benchmark: any cell of the search space answered like the official API, and counted.

`query` answers a proposed cell with the 108-epoch final validation accuracy of one of its
stored repeats, drawn at random as `nasbench.api.query` does, and costs one unit of budget:
- the cell is first reduced to the cell it computes (`Proposal.computed`: zero ops removed);
  one whose output is then cut off answers chance accuracy (row `CHANCE_ROW`: a trained
  network, but no pool module);
- then the pool rule of `pool_mapping` picks the module that answers: the cell itself when
  the pool holds it unqueried, else the nearest unqueried module.
A raw spec that is not a valid cell (a controller stuck on invalid draws) is answered by the
pool rule applied to the spec as drawn, its zero-op slots emptied.

The oracle refuses a query past the budget and never answers with a module twice: the curves
compare strategies at equal numbers of distinct trained networks.
"""

from __future__ import annotations

import numpy as np

from predictor.data.encodings import EMPTY_SLOT, NUM_REAL_OPS, Spec, spec_code
from predictor.search.benchmark import Benchmark
from predictor.search.pool_mapping import PoolMapper
from predictor.search.search_space import CHANCE_ACCURACY, CHANCE_ROW, Proposal, SearchSpace


class BudgetExhaustedError(RuntimeError):
    """A query past the budget: a bug in the strategy that issued it."""


class Oracle:
    """Answers and records the queries of one trial."""

    def __init__(
        self,
        benchmark: Benchmark,
        budget: int,
        rng: np.random.Generator,
        space: SearchSpace = SearchSpace(),
        mapper: PoolMapper | None = None,
    ):
        if budget < 1:
            raise ValueError(f"budget must be at least 1, got {budget}")
        self.benchmark = benchmark
        self.budget = budget
        self.space = space
        self._repeat_rng, self._tie_rng = rng.spawn(2)
        self._mapper = mapper
        self.queried = np.zeros(len(benchmark), dtype=bool)
        self.rows: list[int] = []
        self.observed: list[float] = []
        self.edit_distances: list[int] = []  # per query: 0 = answered as proposed
        self.poisoned: list[bool] = []  # per query: the proposal held a zero op
        self._as_proposed: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}  # query -> the zero-op cell it answered
        self._training: tuple[int, tuple] | None = None

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

    def pool_cell(self, row: int) -> Proposal:
        """The cell of pool module `row`, as stored."""
        b = self.benchmark
        return Proposal.of_padded(b.adjacency[row], b.operations[row], b.num_vertices[row], b.hashes[row].decode())

    def query(self, proposal: Proposal | Spec) -> tuple[int, float] | None:
        """(row that answered, observed accuracy) of a proposed cell; None when the pool is used up."""
        if len(self.rows) >= self.budget:
            raise BudgetExhaustedError(f"query {len(self.rows) + 1} exceeds the budget of {self.budget}")
        if isinstance(proposal, tuple):
            return self._answer(self._nearest_to_spec(*proposal), poisoned=False)
        if not isinstance(proposal, Proposal):
            raise TypeError(f"the oracle answers a Proposal or a raw spec, got {type(proposal).__name__}")
        computed = proposal.computed()
        poisoned = computed is not proposal
        if computed is None:
            answer = self._record(CHANCE_ROW, CHANCE_ACCURACY, 0, poisoned)
        else:
            answer = self._answer(self.mapper.resolve(computed, self.queried, self._tie_rng), poisoned)
        if poisoned and answer is not None and self.edit_distances[-1] == 0:
            self._as_proposed[len(self.rows) - 1] = (*proposal.padded(), proposal.num_vertices)
        return answer

    def _nearest_to_spec(self, matrix: np.ndarray, ops: np.ndarray) -> tuple[int, int] | None:
        zero = np.asarray(ops) >= NUM_REAL_OPS  # input (-1) and output (-2) never are
        matrix = np.array(matrix, dtype=np.int8)
        matrix[zero, :] = 0
        matrix[:, zero] = 0
        ops = np.where(zero, EMPTY_SLOT, ops).astype(np.int8)
        return self.mapper.nearest(spec_code(matrix, ops), self.queried, self._tie_rng)

    def _answer(self, resolved: tuple[int, int] | None, poisoned: bool) -> tuple[int, float] | None:
        if resolved is None:
            return None
        row, distance = resolved
        repeats = self.benchmark.validation_repeats[row]
        stored = np.flatnonzero(~np.isnan(repeats))
        value = float(repeats[stored[0] if len(stored) == 1 else self._repeat_rng.choice(stored)])
        self.queried[row] = True
        return self._record(row, value, distance, poisoned)

    def _record(self, row: int, value: float, distance: int, poisoned: bool) -> tuple[int, float]:
        self.rows.append(row)
        self.observed.append(value)
        self.edit_distances.append(distance)
        self.poisoned.append(poisoned)
        return row, value

    def training_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(adjacency, operations, num_vertices, observed) of every query so far, in the HDF5 layout: the module
        that answered, or the proposal itself where it computes another cell and was answered as proposed."""
        if self._training is not None and self._training[0] == len(self.rows):
            return self._training[1]
        b = self.benchmark
        rows = np.maximum(np.array(self.rows, dtype=np.int64), 0)
        adjacency, operations, num_vertices = b.adjacency[rows], b.operations[rows], b.num_vertices[rows]
        for query, (matrix, ops, size) in self._as_proposed.items():
            adjacency[query], operations[query], num_vertices[query] = matrix, ops, size
        arrays = adjacency, operations, num_vertices, np.array(self.observed)
        self._training = (len(self.rows), arrays)
        return arrays
