"""The halfmoon search space as a sequence of decisions: per layer a width (or "stop"), then an activation.

A network has 1 to 6 hidden layers, each a linear layer of 1, 2, 4, 8 or 16 units followed by
Sigmoid, Tanh, ReLU or LeakyReLU, then a 2-unit output layer. It is written as 12 decisions,
(width, activation) for each of the 6 possible layers; the width decision has a sixth choice,
"stop", which ends the network (minimal-nas's EOS token). The mask forbids stopping before the
first layer and forces every decision after a stop to one fixed choice, so those decisions carry
probability 1: they add nothing to the log-probability or the entropy of a sample.
"""

from __future__ import annotations

import torch

WIDTHS = (1, 2, 4, 8, 16)
ACTIVATIONS = ("Sigmoid", "Tanh", "ReLU", "LeakyReLU")
MAX_LAYERS = 6
STOP = len(WIDTHS)  # the width choice that ends the network
KINDS = (len(WIDTHS) + 1, len(ACTIVATIONS))  # decision kinds: width-or-stop, activation
STEPS = (0, 1) * MAX_LAYERS

Architecture = tuple[tuple[int, str], ...]
"""((width, activation), ...) of the hidden layers, input side first."""


def forbid(step: int, decisions: list[torch.Tensor]) -> torch.Tensor:
    """Forbidden choices (count or 1, choices) at `step`, given the decisions so far (see the module docstring)."""
    layer, is_activation = divmod(step, 2)
    if is_activation:
        stopped = decisions[step - 1] == STOP
        only_first = torch.arange(len(ACTIVATIONS)) != 0
        return stopped[:, None] & only_first
    choices = torch.arange(len(WIDTHS) + 1)
    if layer == 0:
        return (choices == STOP)[None]  # (1, choices): the same for every sample
    stopped = decisions[step - 2] == STOP
    return stopped[:, None] & (choices != STOP)


def decode(decisions: list[int]) -> Architecture:
    """The architecture a decision sequence describes."""
    layers = []
    for layer in range(MAX_LAYERS):
        width = decisions[2 * layer]
        if width == STOP:
            break
        layers.append((WIDTHS[width], ACTIVATIONS[decisions[2 * layer + 1]]))
    if not layers:
        raise ValueError(f"decisions {decisions} describe no hidden layer")
    return tuple(layers)


def describe(architecture: Architecture) -> str:
    """'16 ReLU -> 8 Tanh -> 2': the hidden layers, then the output layer."""
    return " -> ".join([*(f"{width} {activation}" for width, activation in architecture), "2"])


def sample_uniform(count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` decision sequences (count, 12), every decision uniform over the choices the mask allows."""
    decisions: list[torch.Tensor] = []
    for step, kind in enumerate(STEPS):
        allowed = (~forbid(step, decisions)).expand(count, KINDS[kind]).to(torch.float32)
        decisions.append(torch.multinomial(allowed, 1, generator=generator)[:, 0])
    return torch.stack(decisions, dim=1)
