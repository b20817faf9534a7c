"""When a learned strategy refits its model: often while data is scarce, rarely once it is not.

Early queries change the model most (ten more points on top of twenty is a lot, on top of
five hundred it is not), so the default refits every 5 queries up to 50, every 10 up to
150, every 50 up to 300 and every 100 after: 28 fits for a 1000-query search from 10
random queries, which keeps 50 such searches affordable on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetrainSchedule:
    """`phases`: (up to this many queries, refit every this many); the last phase applies beyond."""

    phases: tuple[tuple[int, int], ...] = ((50, 5), (150, 10), (300, 50), (1000, 100))

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
