"""What every search strategy is: something that spends an oracle's budget, one query at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from predictor.search.oracle import Oracle


class Strategy(ABC):
    """A search strategy. `run` queries until the oracle is exhausted (budget or pool used up).

    All randomness comes from `rng`, so a trial is reproduced by its seed. Strategies never
    read the benchmark's ground truth: only what `oracle.query` returns, and the pool's
    architectures (and, for the parameter ranking, their parameter counts).
    """

    name: str = "strategy"

    @abstractmethod
    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        """Spend the oracle's budget."""

    def describe(self) -> str:
        """One line for reports: the strategy and its settings."""
        return self.name
