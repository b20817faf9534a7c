"""From a trial's queries to the numbers that compare strategies.

Units: accuracies are fractions (0.94); regret is in percentage points of accuracy,
(pool best - incumbent) * 100, so 0.05 means five hundredths of a point. The incumbent
after q queries is the queried module with the best *observed* accuracy (what a user
of the search would pick); it is scored by its *mean* validation accuracy over the
file's repeats, the least noisy truth the file has. A query answered by chance (a poisoned
cell whose output is cut off, row `CHANCE_ROW`) is scored at chance accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predictor.search.benchmark import Benchmark
from predictor.search.search_space import CHANCE_ACCURACY


@dataclass(frozen=True)
class Curves:
    """Per query count q = 1..budget (index q-1); flat after a strategy stops early."""

    best_observed: np.ndarray  # running max of observed validation accuracy (monotone)
    incumbent: np.ndarray  # row of the incumbent
    incumbent_validation: np.ndarray  # its mean validation accuracy
    incumbent_test: np.ndarray  # its mean test accuracy (NaN where the file has none)
    regret: np.ndarray  # (pool best - incumbent_validation) * 100, percentage points


def incumbent_positions(observed: np.ndarray) -> np.ndarray:
    """For each prefix, the index of its best observed value (the earliest on ties)."""
    observed = np.asarray(observed, dtype=np.float64)
    previous_best = np.concatenate(([-np.inf], np.maximum.accumulate(observed)[:-1]))
    improved = observed > previous_best
    return np.maximum.accumulate(np.where(improved, np.arange(len(observed)), 0))


def _pad(values: np.ndarray, length: int) -> np.ndarray:
    if len(values) >= length:
        return values[:length]
    return np.concatenate((values, np.repeat(values[-1:], length - len(values))))


def trial_curves(benchmark: Benchmark, rows: Sequence[int], observed: Sequence[float], budget: int) -> Curves:
    rows = np.asarray(rows, dtype=np.int64)
    observed = np.asarray(observed, dtype=np.float64)
    if len(rows) == 0:
        raise ValueError("a trial with no query has no curve")
    incumbent = _pad(rows[incumbent_positions(observed)], budget)
    validation = _truth(benchmark.mean_validation, incumbent)
    return Curves(
        best_observed=_pad(np.maximum.accumulate(observed), budget),
        incumbent=incumbent,
        incumbent_validation=validation,
        incumbent_test=_truth(benchmark.mean_test, incumbent),
        regret=(benchmark.best_validation - validation) * 100.0,
    )


def _truth(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-row truth; chance accuracy for a query answered by chance (negative row)."""
    return np.where(rows >= 0, values[np.maximum(rows, 0)], CHANCE_ACCURACY)


def queries_to_target(target_mask: np.ndarray, rows: Sequence[int]) -> int | None:
    """Number of queries until the first module of the target set was queried; None if never."""
    rows = np.asarray(rows, dtype=np.int64)
    hits = np.flatnonzero((rows >= 0) & target_mask[np.maximum(rows, 0)])
    return int(hits[0]) + 1 if len(hits) else None


@dataclass(frozen=True)
class CensoredQuantile:
    """A quantile of queries-to-target where trials that never got there count as "more than the budget"."""

    value: float | None  # None when the quantile falls among the censored trials
    censored_at: int

    @property
    def censored(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        if self.value is None:
            return f">{self.censored_at}"
        return f"{self.value:.0f}" if float(self.value).is_integer() else f"{self.value:.1f}"


def censored_quantile(hits: Sequence[int | None], budget: int, q: float) -> CensoredQuantile:
    """Quantile q (0..1) with linear interpolation; None (censored) if it touches a censored trial.

    A trial with no hit within the budget has an unknown value above the budget: the
    quantile is known exactly only when both order statistics it interpolates are hits.
    """
    if not hits:
        raise ValueError("no trials")
    values = np.sort([np.inf if h is None else float(h) for h in hits])
    position = q * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    if np.isinf(values[high]):
        return CensoredQuantile(None, budget)
    value = values[low] + (position - low) * (values[high] - values[low])
    return CensoredQuantile(float(value), budget)


def random_search_miss_probability(pool_size: int, target_size: int, queries: np.ndarray | int) -> np.ndarray:
    """P(no target module among q uniform draws without replacement) = C(N-k, q) / C(N, q)."""
    queries = np.asarray(queries)
    steps = np.arange(pool_size)
    ratios = np.clip(1.0 - target_size / np.maximum(pool_size - steps, 1), 0.0, 1.0)
    miss = np.concatenate(([1.0], np.cumprod(ratios)))  # miss[q] for q = 0..N
    return miss[np.clip(queries, 0, pool_size)]


def random_search_median_queries(pool_size: int, target_size: int) -> int:
    """Smallest q with P(hit within q) >= 1/2 for random search."""
    miss = random_search_miss_probability(pool_size, target_size, np.arange(pool_size + 1))
    return int(np.argmax(miss <= 0.5))
