"""The fused engine's objective: the losses of `network.loss`, each with its gradient written out.

The fused engine's backward pass is hand-written, so a training step needs no autograd
graph at all: it takes d loss / d outputs from here. `network.loss` defines the objective;
the fused engine's probe (and the tests) check that these agree with it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from predictor.gcn.config import TrainConfig

Objective = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def regression_loss(predicted: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared error over a batch (B,)."""
    difference = predicted - target
    return difference.square().mean(), difference * (2.0 / len(predicted))


def pairwise_logistic_loss(
    predicted: torch.Tensor, target: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """`network.pairwise_logistic_loss` and its gradient."""
    gap = predicted.unsqueeze(1) - predicted.unsqueeze(0)  # (B, B): s_i - s_j
    better = (target.unsqueeze(1) > target.unsqueeze(0)).to(predicted.dtype)
    weight = better / better.sum().clamp_min(1)
    slope = -torch.sigmoid(-gap / temperature) * (weight / temperature)  # d loss / d gap
    loss = (torch.nn.functional.softplus(-gap / temperature) * weight).sum()
    return loss, slope.sum(dim=1) - slope.sum(dim=0)


def classification_loss(logits: torch.Tensor, above: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy with logits over a batch."""
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, above)
    return loss, (torch.sigmoid(logits) - above) / len(logits)


def objective(config: TrainConfig) -> Objective:
    """(outputs (B,), targets (B,)) -> (loss, d loss / d outputs), as `network.loss` with `config`."""
    if config.task == "classification":
        return classification_loss
    ranking = config.ranking_weight > 0

    def regression_objective(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss, gradient = regression_loss(outputs, targets)
        if config.regression_weight != 1:
            loss, gradient = loss * config.regression_weight, gradient * config.regression_weight
        if ranking:
            rank_loss, rank_gradient = pairwise_logistic_loss(outputs, targets, config.ranking_temperature)
            loss = loss + config.ranking_weight * rank_loss
            gradient = gradient + config.ranking_weight * rank_gradient
        return loss, gradient

    return regression_objective
