"""Stand-alone training of one network: the yardstick the one-shot accuracies are checked against.

It is the child protocol's "small-data" preset (Adam, batch-norm momentum 0.1, batch 64,
cosine schedule, L2 1e-4, every image scored) with three overrides the assessment needs,
`ASSESSMENT_OVERRIDES`: 4 epochs and stem 16 (1/8 of the benchmark's width) keep dozens of
trainings within minutes on a CPU, and at that width and budget the learning rate 1e-2 learns
where lower ones do not yet (Adam 1e-3 reached 0.37 validation accuracy on the benchmark's
example cell, 1e-2 reached 0.82). NAS-Bench-101 cells train as the child's network
(`train_and_evaluate`); cells holding useless ops have none and train as their fixed-width
network through the same protocol (`train_model`). The reduced CIFAR-10 assessment takes the
child's "cpu" preset instead (`ASSESSMENT_PRESETS` in `presets.py`).
"""

from __future__ import annotations

import torch

from predictor.child.channels import NetworkShape
from predictor.child.cifar import DeviceCifar
from predictor.child.training import ExecutionOptions, TrainingProtocol, protocol_preset, train_model
from predictor.weight_sharing.architecture import Architecture
from predictor.weight_sharing.one_shot import FixedWidthNetwork

SMALL_SHAPE = NetworkShape(stem_channels=16)  # the benchmark's skeleton (3 stacks x 3 modules) at 1/8 of its width
SEARCH_SHAPE = NetworkShape(stem_channels=16, modules_per_stack=1)  # the one-shot proxy: 3 stacks of 1 module
ASSESSMENT_OVERRIDES = {"learning_rate": 1e-2, "epochs": 4, "shape": SMALL_SHAPE}


def standalone_protocol(preset: str = "small-data", **overrides) -> TrainingProtocol:
    """The child preset `preset` ("small-data": with `ASSESSMENT_OVERRIDES`), then `overrides` (`TrainingProtocol` fields)."""
    assessment = ASSESSMENT_OVERRIDES if preset == "small-data" else {}
    return protocol_preset(preset, **{**assessment, **overrides})


def train_fixed_width(architecture: Architecture, data: DeviceCifar, protocol: TrainingProtocol) -> dict:
    """The fixed-width network of `architecture` (any op set), initialized from `protocol.seed`, trained by it."""
    torch.manual_seed(protocol.seed)
    model = FixedWidthNetwork(architecture, protocol.shape).to(data.device)
    return train_model(model, data, protocol, ExecutionOptions(device=str(data.device)))
