"""Stand-alone training of one network on image tensors: the yardstick the one-shot accuracies are checked against.

This is the child-training protocol with the settings a small dataset needs (a measured
fact on digits: the benchmark's RMSProp and batch-norm decay 0.997 stay at chance over so
few steps; Adam and batch-norm momentum 0.1 learn; at 1/8 width and 4 epochs Adam 1e-2
reached 0.82 validation accuracy on the benchmark's example cell where 1e-3 reached 0.37): Adam, plain shuffled minibatches,
batch-norm momentum set on the built network, accuracy in inference mode. It takes any
network, so NAS-Bench-101 networks (`nb101_network`) and the fixed-width networks of the
one-shot relaxation go through the same training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from predictor.child.channels import NetworkShape
from predictor.child.network import build_network, trainable_parameters
from predictor.data.cell import Cell
from predictor.search.weight_sharing.data import ImageTensors, accuracy, shuffled_batches

SMALL_SHAPE = NetworkShape(stem_channels=16)  # the benchmark's skeleton (3 stacks x 3 modules) at 1/8 of its width
SEARCH_SHAPE = NetworkShape(stem_channels=16, modules_per_stack=1)  # the one-shot proxy: 3 stacks of 1 module


class StandaloneDivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class StandaloneProtocol:
    """How one network is trained on its own; the defaults are the digits settings."""

    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 1e-2
    batch_norm_momentum: float = 0.1
    shape: NetworkShape = field(default_factory=lambda: SMALL_SHAPE)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ValueError(f"epochs and batch size must be >= 1 and the learning rate > 0, got {self}")


def set_batch_norm_momentum(model: nn.Module, momentum: float) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = momentum
    return model


def nb101_network(cell: Cell, protocol: StandaloneProtocol, seed: int, device: torch.device | str = "cpu") -> nn.Module:
    """The NAS-Bench-101 network of `cell` (the official channel rule), freshly initialised from `seed`."""
    torch.manual_seed(seed)
    return set_batch_norm_momentum(build_network(cell, protocol.shape, device), protocol.batch_norm_momentum)


def train_standalone(model: nn.Module, data: ImageTensors, protocol: StandaloneProtocol, seed: int) -> dict:
    """Train `model` on `data.train`; its validation and test accuracy, parameter count and training time."""
    started = time.perf_counter()
    set_batch_norm_momentum(model, protocol.batch_norm_momentum)
    optimizer = torch.optim.Adam(model.parameters(), lr=protocol.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # ops that draw noise
    model.train()
    for _ in range(protocol.epochs):
        for indices in shuffled_batches(len(data.train), protocol.batch_size, generator):
            indices = indices.to(data.device)
            loss = F.cross_entropy(model(data.train.images[indices]), data.train.labels[indices])
            if not math.isfinite(loss.item()):
                raise StandaloneDivergedError(f"stand-alone training loss is {loss.item()}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    result = {
        "validation_accuracy": accuracy(model, data.valid),
        "test_accuracy": accuracy(model, data.test),
        "trainable_parameters": trainable_parameters(model),
        "training_time": time.perf_counter() - started,
    }
    model.train()
    return result
