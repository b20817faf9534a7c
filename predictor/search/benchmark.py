"""The benchmark a search runs against: the pool of modules one HDF5 file holds, and their truth.

A search may only learn accuracies by querying (see `oracle.py`); the ground truth kept
here (mean validation and test accuracy over the stored repeats) is what the harness
scores the search with afterwards, never something a strategy reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from predictor.data.cell import Cell
from predictor.data.dataset import NASBench
from predictor.data.graph import rows_by_hash
from predictor.data.schema import BUDGETS, EVALUATION_POINTS, METRIC_FIELDS

TOP_FRACTION = 0.001  # the target of "queries to the top 0.1%"
FINAL_EPOCHS = 108


@dataclass(frozen=True, eq=False)
class Benchmark:
    """Arrays of the pool, row i = row i of the HDF5 file (same layout: padded 7x7, op codes)."""

    hashes: np.ndarray  # (N,) S32
    adjacency: np.ndarray  # (N, 7, 7) int8
    operations: np.ndarray  # (N, 7) int8
    num_vertices: np.ndarray  # (N,) int8
    trainable_parameters: np.ndarray  # (N,) int
    validation_repeats: np.ndarray  # (N, repeats) float32, final 108-epoch validation accuracy; NaN absent
    mean_validation: np.ndarray  # (N,) float, mean over sound repeats (as `NASBench.accuracy(..., "mean")`)
    mean_test: np.ndarray  # (N,) float, NaN where the file holds no test accuracy
    source: str = ""

    @classmethod
    def from_nasbench(cls, bench: NASBench) -> Benchmark:
        budget = BUDGETS.index(FINAL_EPOCHS)
        final = EVALUATION_POINTS.index("final")
        validation = bench.metrics[:, budget, :, final, METRIC_FIELDS.index("validation_accuracy")]
        mean_validation = bench.accuracy(FINAL_EPOCHS, "validation_accuracy", repeat="mean")
        stored = ~np.isnan(validation).all(axis=1)
        if not stored.all():
            raise ValueError(
                f"{bench.path}: {int((~stored).sum())} modules have no {FINAL_EPOCHS}-epoch "
                "validation accuracy; a search pool needs one for every module"
            )
        return cls(
            hashes=bench.hashes,
            adjacency=bench.adjacency,
            operations=bench.operations,
            num_vertices=bench.num_vertices,
            trainable_parameters=bench.trainable_parameters,
            validation_repeats=validation,
            mean_validation=mean_validation.astype(np.float64),
            mean_test=bench.accuracy(FINAL_EPOCHS, "test_accuracy", repeat="mean").astype(np.float64),
            source=str(bench.path),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Benchmark:
        with NASBench(path) as bench:
            return cls.from_nasbench(bench)

    def __len__(self) -> int:
        return len(self.hashes)

    def cell(self, row: int) -> Cell:
        return Cell.from_padded(self.adjacency[row], self.operations[row], self.num_vertices[row])

    @cached_property
    def row_of_hash(self) -> dict[bytes, int]:
        return rows_by_hash(self.hashes)

    def row(self, module_hash: str | bytes) -> int | None:
        """Row of a module hash, None when the pool does not hold it."""
        key = module_hash.encode() if isinstance(module_hash, str) else module_hash
        return self.row_of_hash.get(key)

    @cached_property
    def best_validation(self) -> float:
        """The pool's best mean validation accuracy: regret is measured against it."""
        return float(np.max(self.mean_validation))

    @cached_property
    def target_size(self) -> int:
        """How many modules the top fraction names (0.1% of 20,031 = 20), before ties."""
        return max(1, round(TOP_FRACTION * len(self)))

    @cached_property
    def target_threshold(self) -> float:
        """Mean validation accuracy of the `target_size`-th best module."""
        return float(np.sort(self.mean_validation)[::-1][self.target_size - 1])

    @cached_property
    def target_mask(self) -> np.ndarray:
        """Modules in the top 0.1% by mean validation accuracy, ties with the last one included.

        Competition ranking: a module as good as the 20th best has rank <= 20, so it counts.
        """
        return self.mean_validation >= self.target_threshold

    def subset(self, rows: np.ndarray) -> Benchmark:
        """The benchmark restricted to some rows (small pools for tests and quick runs)."""
        rows = np.asarray(rows)
        return Benchmark(
            self.hashes[rows],
            self.adjacency[rows],
            self.operations[rows],
            self.num_vertices[rows],
            self.trainable_parameters[rows],
            self.validation_repeats[rows],
            self.mean_validation[rows],
            self.mean_test[rows],
            source=f"{self.source} ({len(rows)} rows)",
        )
