"""ENAS's controller: an LSTM emitting a cell decision by decision, trained with REINFORCE.

The decisions are those of `architecture.from_decisions`: the op of each of the 5 interior
slots (among the op set, useless ops included when the space is poisoned), then the 21 edges
on/off; a 10th edge is never sampled. A step samples a batch of sequences, asks for their
rewards and descends on
    -mean((reward - baseline) * log p(sequence)) - entropy_weight * mean(entropy),
with an exponential moving average of rewards as the baseline (Williams 1992; Pham et al. 2018).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from predictor.controller.reinforce import reinforce_step
from predictor.controller.sequence import SequenceController, cell_controller


def enas_controller(num_ops: int, hidden_size: int = 64) -> SequenceController:
    """The LSTM policy over the cell's decisions (`controller.sequence.cell_controller`)."""
    return cell_controller(num_ops, hidden_size, cell="lstm")


@dataclass(frozen=True)
class PolicySettings:
    learning_rate: float = 2e-3
    baseline_decay: float = 0.9
    entropy_weight: float = 5e-3
    batch: int = 8  # sequences per step


class PolicyGradient:
    """REINFORCE with a moving-average baseline and an entropy bonus, one `step` per batch of sequences."""

    def __init__(self, controller: SequenceController, settings: PolicySettings, generator: torch.Generator):
        self.controller, self.settings, self.generator = controller, settings, generator
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=settings.learning_rate)
        self.baseline: float | None = None

    def step(self, rewards_of: Callable[[list[list[int]]], list[float]]) -> float:
        """Sample a batch, reward it with `rewards_of(decision rows)`, update; returns the mean reward."""
        decisions, log_probability, entropy = self.controller.sample(self.settings.batch, self.generator)
        rewards = torch.tensor(rewards_of(decisions.tolist()), dtype=torch.float32)
        if not torch.isfinite(rewards).all():
            raise ValueError(f"non-finite reward in {rewards.tolist()}")
        mean = float(rewards.mean())
        if self.baseline is None:
            self.baseline = mean
        reinforce_step(self.optimizer, log_probability, rewards - self.baseline, entropy, self.settings.entropy_weight)
        decay = self.settings.baseline_decay
        self.baseline = decay * self.baseline + (1 - decay) * mean
        return mean

    @torch.no_grad()
    def sample(self, count: int) -> list[list[int]]:
        return self.controller.sample(count, self.generator)[0].tolist()
