"""One REINFORCE update (Williams 1992), the step of every controller-driven search.

Each user picks its own advantage (a moving-average baseline, or rewards standardized within
the batch) and entropy weight; the step is the same for all:
    loss = -sum(advantage * log p) / batch - entropy_weight * sum(entropy) / batch,
one optimizer step. `batch` is the number of sampled architectures; terms that ride along with
them (the NB101 strategy's invalid draws) add to the sum without counting in it.
"""

from __future__ import annotations

import torch


def reinforce_step(
    optimizer: torch.optim.Optimizer,
    log_probability: torch.Tensor,
    advantage: torch.Tensor,
    entropy: torch.Tensor,
    entropy_weight: float,
    batch: int | None = None,
) -> None:
    """Descend once on the REINFORCE loss above (`batch` defaults to the number of entropies given)."""
    batch = batch or entropy.numel()
    loss = -(advantage * log_probability).sum() / batch - entropy_weight * entropy.sum() / batch
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
