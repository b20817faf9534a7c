"""Which accuracy a predictor learns: budget, repeat, field and evaluation point, read from a NASBench file."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from predictor.data.dataset import NASBench
from predictor.data.schema import BUDGETS, EVALUATION_POINTS, METRIC_FIELDS


@dataclass(frozen=True)
class LabelSpec:
    """The paper's label by default: 108-epoch final validation accuracy of repeat 0 (blown-up runs replaced)."""

    budget: int = 108
    repeat: int | str = 0  # 0, 1, 2 or "mean"
    field: str = "validation_accuracy"
    point: str = "final"

    def __post_init__(self):
        if self.budget not in BUDGETS:
            raise ValueError(f"budget must be one of {BUDGETS}, got {self.budget}")
        if self.field not in METRIC_FIELDS:
            raise ValueError(f"field must be one of {METRIC_FIELDS}, got {self.field!r}")
        if self.point not in EVALUATION_POINTS:
            raise ValueError(f"point must be one of {EVALUATION_POINTS}, got {self.point!r}")
        if self.repeat != "mean" and self.repeat not in (0, 1, 2):
            raise ValueError(f"repeat must be 0, 1, 2 or 'mean', got {self.repeat!r}")

    def values(self, bench: NASBench) -> np.ndarray:
        """(N,) one label per module of the file; NaN where the file holds no such run."""
        return bench.accuracy(self.budget, self.field, self.repeat, self.point)

    def describe(self) -> str:
        which = "mean over repeats" if self.repeat == "mean" else f"repeat {self.repeat}"
        return f"{self.budget}-epoch {self.point} {self.field.replace('_', ' ')} ({which})"

    def to_dict(self) -> dict:
        return asdict(self)


def parse_repeat(text: str) -> int | str:
    return "mean" if text == "mean" else int(text)
