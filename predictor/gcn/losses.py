"""Training losses with their gradients written out, on ensemble outputs (E, B).

Each returns (loss, d loss / d predicted). A member's loss is a mean over its own batch and
members are summed, so each member gets exactly the gradient it would get alone. The
gradients are explicit because the network's backward pass is hand-written too: a training
step then needs no autograd graph at all.
"""

from __future__ import annotations

import torch

RANKING_LOSSES = ("hinge", "logistic")


def regression_loss(predicted: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared error per member, summed over members."""
    difference = predicted - target
    return difference.square().sum() / predicted.shape[1], difference * (2.0 / predicted.shape[1])


def huber_loss(predicted: torch.Tensor, target: torch.Tensor, delta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared error within `delta` of the target, linear beyond (scaled like MSE: gradient 2d, capped at 2 delta).

    A few very poor modules (accuracy far below the rest) otherwise dominate a small training set's MSE.
    """
    difference = predicted - target
    size = difference.abs()
    loss = torch.where(size <= delta, difference.square(), 2 * delta * size - delta * delta)
    gradient = difference.clamp(-delta, delta) * (2.0 / predicted.shape[1])
    return loss.mean(dim=1).sum(), gradient


def masked_regression_loss(predicted: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(E, B, K) auxiliary targets, NaN = unknown: MSE over the known entries of each target, averaged over K."""
    known = ~torch.isnan(target)
    count = known.sum(dim=1, keepdim=True).clamp_min(1) * predicted.shape[2]
    difference = torch.where(known, predicted - torch.nan_to_num(target), torch.zeros_like(predicted))
    return (difference.square() / count).sum(), difference * 2.0 / count


def pairwise_ranking_loss(
    predicted: torch.Tensor, target: torch.Tensor, kind: str, margin: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss on every ordered pair (i better than j) of a batch: the score of i should exceed that of j.

    hinge: max(0, margin - (s_i - s_j)); logistic: log(1 + exp(-(s_i - s_j) / margin)), i.e. BCE
    on the pair's order with temperature `margin`. Scores are in normalised-label units.
    """
    gap = predicted.unsqueeze(2) - predicted.unsqueeze(1)  # (E, B, B): s_i - s_j
    better = (target.unsqueeze(2) > target.unsqueeze(1)).to(predicted.dtype)
    weight = better / better.sum(dim=(1, 2), keepdim=True).clamp_min(1)
    if kind == "hinge":
        per_pair = torch.relu(margin - gap)
        slope = -(gap < margin).to(predicted.dtype)
    elif kind == "logistic":
        per_pair = torch.nn.functional.softplus(-gap / margin)
        slope = -torch.sigmoid(-gap / margin) / margin
    else:
        raise ValueError(f"unknown ranking loss {kind!r}; choose from {RANKING_LOSSES}")
    pair_gradient = slope * weight  # d loss / d gap
    return (per_pair * weight).sum(), pair_gradient.sum(dim=2) - pair_gradient.sum(dim=1)


def classification_loss(logits: torch.Tensor, above: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy with logits per member, summed over members."""
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, above, reduction="none").mean(dim=1).sum()
    return loss, (torch.sigmoid(logits) - above) / logits.shape[1]
