"""When a learned strategy refits its model: often while data is scarce, rarely once it is not.

Early queries change the model most (ten more points on top of twenty is a lot, on top of
five hundred it is not), and each refit costs more as the training set grows; thinning
the refits keeps a 1000-query search affordable.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetrainSchedule:
    """`phases`: (up to this many queries, refit every this many); the last phase applies beyond."""

    phases: tuple[tuple[int, int], ...] = ((50, 5), (200, 10), (500, 50), (1000, 100))

    def __post_init__(self) -> None:
        if not self.phases or any(every < 1 for _, every in self.phases):
            raise ValueError(f"a schedule needs phases with positive intervals, got {self.phases}")

    def queries_until_refit(self, queried: int) -> int:
        """How many queries to make from the current model before the next refit."""
        for limit, every in self.phases:
            if queried < limit:
                return min(every, limit - queried)
        return self.phases[-1][1]

    @classmethod
    def never(cls) -> RetrainSchedule:
        """One fit, then the whole ranking: the one-shot protocol."""
        return cls(((1, 1 << 62),))

    @classmethod
    def every(cls, interval: int) -> RetrainSchedule:
        return cls(((1, interval),))

    def refits_within(self, budget: int, initial: int) -> int:
        """Number of fits a search of `budget` queries starting from `initial` random ones makes."""
        fits, queried = 0, initial
        while queried < budget:
            fits += 1
            queried += self.queries_until_refit(queried)
        return fits
