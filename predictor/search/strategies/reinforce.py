"""REINFORCE (Williams 1992) with a small recurrent controller, as in NAS-Bench-101's comparison.

The controller, a GRU, emits a 7-vertex cell one decision at a time: the op of each of
the 5 interior vertices, then each of the 21 possible edges (on/off), every decision
fed back as the next input. A cell is sampled, resolved to a pool module, queried, and
the reward (the observed accuracy) updates the policy at once:
loss = -(reward - baseline) / scale * log p(cell) - entropy_weight * entropy,
with an exponential moving average of rewards as the baseline and of their absolute
deviation as the scale (so the step size does not depend on how spread accuracies are).
The sampler never turns on a 10th edge. Invalid samples (input cut off from the output)
are not architectures: they cost no query, are redrawn, and enter the update with reward
0, so the controller learns to avoid them. A controller that has collapsed onto invalid
cells (64 invalid draws in a row) gets its last draw answered by the pool rule applied to
the raw spec, so it keeps learning instead of stalling.

The op decisions range over the search space's vocabulary; a cell whose zero ops cut its output
off is a trained network (it costs a query) and its reward is chance accuracy, so the
controller learns what the vocabulary's ops are worth from the rewards alone.
"""

from __future__ import annotations

import numpy as np

from predictor.data.encodings import spec_of_decisions
from predictor.search.oracle import Oracle
from predictor.search.search_space import as_spec_cell
from predictor.search.strategies.base import Strategy

INVALID_REWARD = 0.0  # what an invalid draw teaches the controller (it costs no query)
MAX_ADVANTAGE = 5.0
_DRAWS_PER_BATCH = 4  # invalid draws are common early on; a small batch costs about as much as one draw


class Reinforce(Strategy):
    name = "reinforce"

    def __init__(
        self,
        hidden_size: int = 32,
        learning_rate: float = 0.01,
        baseline_decay: float = 0.9,
        entropy_weight: float = 0.01,
        max_draws: int = 64,
    ):
        self.hidden_size = hidden_size
        self.learning_rate = learning_rate
        self.baseline_decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.max_draws = max_draws

    def describe(self) -> str:
        return (
            f"REINFORCE (GRU {self.hidden_size}, Adam lr {self.learning_rate}, baseline decay "
            f"{self.baseline_decay}, entropy weight {self.entropy_weight})"
        )

    def _draw(self, controller, generator) -> tuple[list, tuple]:
        """Sample until a valid cell comes up, at most `max_draws` times.

        Returns (log-probabilities of the invalid draws before it, (log-probability, entropy, cell
        or the last invalid spec))."""
        invalid = []
        for _ in range(0, self.max_draws, _DRAWS_PER_BATCH):
            decisions, log_probability, entropy = controller.sample(_DRAWS_PER_BATCH, generator)
            for i, row in enumerate(decisions.tolist()):
                spec = spec_of_decisions(row)
                cell = as_spec_cell(spec)
                if cell is not None:
                    return invalid, (log_probability[i], entropy[i], cell)
                invalid.append(log_probability[i])
        return invalid[:-1], (invalid[-1], entropy[-1], spec)

    def run(self, oracle: Oracle, rng: np.random.Generator) -> None:
        import torch

        from predictor.controller.reinforce import reinforce_step
        from predictor.controller.sequence import cell_controller

        torch.manual_seed(int(rng.integers(2**62)))
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        controller = cell_controller(oracle.space.num_ops, self.hidden_size)
        optimizer = torch.optim.Adam(controller.parameters(), lr=self.learning_rate)
        baseline, scale = None, None
        while not oracle.exhausted:
            invalid, (log_probability, entropy, proposal) = self._draw(controller, generator)
            answer = oracle.query(proposal)
            if answer is None:
                return
            reward = answer[1]
            if baseline is None:
                baseline, scale = reward, 0.01
            advantages = [self._advantage(reward, baseline, scale)]
            advantages += [self._advantage(INVALID_REWARD, baseline, scale)] * len(invalid)
            log_probabilities = torch.stack([log_probability, *invalid])
            reinforce_step(optimizer, log_probabilities, torch.tensor(advantages), entropy, self.entropy_weight)
            baseline = self.baseline_decay * baseline + (1 - self.baseline_decay) * reward
            scale = self.baseline_decay * scale + (1 - self.baseline_decay) * abs(reward - baseline)

    @staticmethod
    def _advantage(reward: float, baseline: float, scale: float) -> float:
        return float(np.clip((reward - baseline) / max(scale, 1e-4), -MAX_ADVANTAGE, MAX_ADVANTAGE))
