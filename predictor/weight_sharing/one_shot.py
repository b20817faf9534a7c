"""The one-shot network over the NAS-Bench-101 cell space, and the fixed-width network of one architecture.

The skeleton is NAS-Bench-101's (stem, 3 stacks of 3 modules with a 2x2 max-pool between
stacks, global pooling, dense layer). In the one-shot network every module holds, for each
interior slot, one module per op of the op set and a 1x1 projection of the module input;
an architecture picks one op per active slot and routes tensors along its edges, so any
cell runs as a sub-network and trains only the weights it uses.

Relaxation of the channel rule: NAS-Bench-101 splits a module's output channels over the
vertices feeding the output and concatenates them, so a vertex's width depends on the
whole cell and cannot be one shared tensor. As in the one-shot studies of this space
(NAS-Bench-1Shot1), every vertex here has the module's full width and the output is the
*mean* of the tensors feeding it (the vertices, and the projected input when input -> output
is an edge): a sum would change the output's scale from one sampled cell to the next, and
on digits a one-shot network with summed outputs did not learn at all from uniformly sampled
cells within 20 epochs (loss at chance). A vertex still sums its inputs, as in the benchmark.
For a cell whose output has a single incoming edge from an interior vertex both rules give
the same network.

Batch norm in the one-shot network always normalizes with the batch's statistics: running
statistics would mix every sampled architecture.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from predictor.child.channels import NetworkShape
from predictor.child.network import ConvBnRelu, build_op
from predictor.data.cell import INTERIOR_OPS
from predictor.weight_sharing.architecture import (
    CONSTANT,
    INTERIOR_SLOTS,
    NOISE,
    NUM_SLOTS,
    SHUFFLE,
    ZERO,
    Architecture,
)

OUTPUT_SLOT = NUM_SLOTS - 1


class UselessOp(nn.Module):
    """An op that carries no information about its own image: zeros, noise, ones, or another image's features."""

    def __init__(self, kind: str):
        super().__init__()
        if kind not in (ZERO, NOISE, CONSTANT, SHUFFLE):
            raise ValueError(f"unknown useless op {kind!r}")
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == ZERO:
            return torch.zeros_like(x)
        if self.kind == NOISE:
            return torch.randn_like(x)
        if self.kind == CONSTANT:
            return torch.ones_like(x)
        return x[torch.randperm(len(x), device=x.device)]

    def extra_repr(self) -> str:
        return self.kind


def vertex_op(op: str, channels: int) -> nn.Module:
    """The module computing `op` on a `channels`-wide input (real ops exactly as the child network builds them)."""
    return build_op(op, channels) if op in INTERIOR_OPS else UselessOp(op)


def batch_statistics_only(module: nn.Module) -> nn.Module:
    """Make every batch norm inside `module` normalize with batch statistics, in training and inference."""
    for bn in module.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.track_running_stats = False
            bn.running_mean = bn.running_var = bn.num_batches_tracked = None
    return module


def _sum(tensors: list[torch.Tensor]) -> torch.Tensor:
    total = tensors[0]
    for extra in tensors[1:]:
        total = total + extra
    return total


class OneShotModule(nn.Module):
    """One module of the one-shot network: every op at every interior slot, a projection per destination slot.

    Parameter names follow the child network's `CellModule` with slots for vertices
    (`projections.<slot>`, `projections.output`, `ops.<slot>.<op>`), so weights map across.
    """

    def __init__(self, ops: tuple[str, ...], input_channels: int, channels: int):
        super().__init__()
        self.projections = nn.ModuleDict(
            {str(s): ConvBnRelu(input_channels, channels, 1) for s in INTERIOR_SLOTS}
            | {"output": ConvBnRelu(input_channels, channels, 1)}
        )
        self.ops = nn.ModuleDict(
            {str(s): nn.ModuleDict({op: vertex_op(op, channels) for op in ops}) for s in INTERIOR_SLOTS}
        )

    def forward(self, x: torch.Tensor, architecture: Architecture) -> torch.Tensor:
        matrix, tensors = architecture.matrix, {}
        for slot in INTERIOR_SLOTS:
            if not architecture.active[slot]:
                continue
            inputs = [tensors[src] for src in range(1, slot) if matrix[src, slot]]
            if matrix[0, slot]:
                inputs.append(self.projections[str(slot)](x))
            tensors[slot] = self.ops[str(slot)][architecture.ops[slot]](_sum(inputs))
        outputs = [tensors[src] for src in INTERIOR_SLOTS if matrix[src, OUTPUT_SLOT]]
        if matrix[0, OUTPUT_SLOT]:
            outputs.append(self.projections["output"](x))
        return _sum(outputs) / len(outputs)


class _Skeleton(nn.Module):
    """NAS-Bench-101's macro skeleton around modules made by `make_module(input channels, output channels)`."""

    def __init__(self, shape: NetworkShape, make_module):
        super().__init__()
        self.shape = shape
        self.stem = ConvBnRelu(shape.image_channels, shape.stem_channels, 3)
        layers: list[nn.Module] = []
        for index, (input_channels, output_channels) in enumerate(shape.module_channels()):
            if index > 0 and index % shape.modules_per_stack == 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
            layers.append(make_module(input_channels, output_channels))
        self.stacks = nn.ModuleList(layers)
        self.classifier = nn.Linear(shape.final_channels, shape.num_labels)
        nn.init.xavier_uniform_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def _run(self, images: torch.Tensor, *module_args) -> torch.Tensor:
        x = self.stem(images)
        for layer in self.stacks:
            x = layer(x) if isinstance(layer, nn.MaxPool2d) else layer(x, *module_args)
        return self.classifier(x.mean(dim=(2, 3)))


class OneShotNetwork(_Skeleton):
    """All architectures over the op set `ops` in one network; `forward(images, architecture)` runs one of them."""

    def __init__(self, ops: tuple[str, ...] = INTERIOR_OPS, shape: NetworkShape = NetworkShape()):
        self.op_names = tuple(ops)
        super().__init__(shape, lambda cin, cout: OneShotModule(self.op_names, cin, cout))
        batch_statistics_only(self)

    def forward(self, images: torch.Tensor, architecture: Architecture) -> torch.Tensor:
        unknown = set(architecture.active_ops) - set(self.op_names)
        if unknown:
            raise ValueError(f"ops {sorted(unknown)} are not in this one-shot network's op set {self.op_names}")
        return self._run(images, architecture)


class FixedWidthModule(nn.Module):
    """One module of a single architecture under the fixed-width rule, its vertices numbered after pruning."""

    def __init__(self, architecture: Architecture, input_channels: int, channels: int):
        super().__init__()
        self.slots = [s for s in range(NUM_SLOTS) if architecture.active[s]]  # vertex -> slot
        self.matrix = architecture.matrix[np.ix_(self.slots, self.slots)].tolist()
        self.output = len(self.slots) - 1
        self.projections = nn.ModuleDict()
        self.ops = nn.ModuleDict()
        for vertex in range(1, self.output):
            if self.matrix[0][vertex]:
                self.projections[str(vertex)] = ConvBnRelu(input_channels, channels, 1)
            self.ops[str(vertex)] = vertex_op(architecture.ops[self.slots[vertex]], channels)
        if self.matrix[0][self.output]:
            self.projections["output"] = ConvBnRelu(input_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tensors = [x]
        for vertex in range(1, self.output):
            inputs = [tensors[src] for src in range(1, vertex) if self.matrix[src][vertex]]
            if str(vertex) in self.projections:
                inputs.append(self.projections[str(vertex)](x))
            tensors.append(self.ops[str(vertex)](_sum(inputs)))
        outputs = [tensors[v] for v in range(1, self.output) if self.matrix[v][self.output]]
        if "output" in self.projections:
            outputs.append(self.projections["output"](x))
        return _sum(outputs) / len(outputs)


class FixedWidthNetwork(_Skeleton):
    """The network of one architecture under the one-shot relaxation, for stand-alone training of any op set."""

    def __init__(self, architecture: Architecture, shape: NetworkShape = NetworkShape()):
        self.architecture = architecture
        super().__init__(shape, lambda cin, cout: FixedWidthModule(architecture, cin, cout))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self._run(images)


def inherit_weights(target: nn.Module, one_shot: OneShotNetwork, architecture: Architecture) -> nn.Module:
    """Copy the one-shot weights `architecture` uses into `target`, a network of that architecture.

    `target` is a `FixedWidthNetwork` or a child `NasBench101Network` (vertices numbered
    after pruning); batch-norm running statistics are not copied (the one-shot network has none).
    """
    slots = [s for s in range(NUM_SLOTS) if architecture.active[s]]
    source = dict(one_shot.named_parameters())
    with torch.no_grad():
        for name, parameter in target.named_parameters():
            parts = name.split(".")
            if parts[0] == "stacks":
                kind, vertex = parts[2], parts[3]
                slot = "output" if vertex == "output" else str(slots[int(vertex)])
                if kind == "ops":
                    slot = f"{slot}.{architecture.ops[int(slot)]}"
                name = ".".join([*parts[:3], slot, *parts[4:]])
            if name not in source or source[name].shape != parameter.shape:
                raise ValueError(f"no one-shot weight of shape {tuple(parameter.shape)} for {'.'.join(parts)}")
            parameter.copy_(source[name])
    return target
