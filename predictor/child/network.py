"""The NAS-Bench-101 network in PyTorch, layer for layer the official TensorFlow builder.

stem 3x3 conv-BN-ReLU (128 channels) -> 3 stacks of 3 modules (a 2x2 stride-2
max-pool and doubled channels before stacks 2 and 3) -> global average pool ->
dense to 10 classes. Inside a module, edges from the input go through a 1x1
conv-BN-ReLU projection, edges between interior vertices drop surplus channels,
a vertex sums its inputs and applies its op, and the output concatenates the
vertices feeding it (adding the projected input when input -> output is an edge).

Batch norm uses TensorFlow's momentum 0.997 (PyTorch momentum 0.003) and eps 1e-5,
with gamma and beta trainable as in `tf.layers.batch_normalization`'s defaults.
Conv kernels are initialized like `tf.variance_scaling_initializer()` (truncated
normal, fan-in, scale 1) and the dense layer like TF's glorot-uniform default.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import skip_init

from predictor.child.channels import NetworkShape, compute_vertex_channels
from predictor.data.cell import CONV1X1, CONV3X3, MAXPOOL3X3, Cell

BN_MOMENTUM = 1.0 - 0.997  # TF keeps 0.997 of the old moving average, PyTorch takes `momentum` of the new value
BN_EPSILON = 1e-5
_TRUNCATED_NORMAL_STDDEV_FACTOR = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def truncated_normal_(tensor: torch.Tensor, stddev: float) -> torch.Tensor:
    """Normal samples beyond two standard deviations drawn again, as TF's `truncated_normal`.

    Only the ~4.6% rejected samples are redrawn (from a small pool), which is several
    times faster than inverse-CDF sampling when hundreds of networks are built.
    """
    if tensor.is_meta:  # shapes only (e.g. counting parameters without memory)
        return tensor
    with torch.no_grad():
        flat = tensor.view(-1).normal_()
        outside = flat.abs() > 2.0
        missing = int(torch.count_nonzero(outside))
        accepted = flat.new_empty(0)
        while accepted.numel() < missing:
            pool = torch.randn(missing + missing // 8 + 16, dtype=flat.dtype, device=flat.device)
            accepted = torch.cat([accepted, pool[pool.abs() <= 2.0]])
        if missing:
            flat[outside] = accepted[:missing]
        return tensor.mul_(stddev)


def variance_scaling_(weight: torch.Tensor) -> torch.Tensor:
    """TF's `variance_scaling_initializer()` default: truncated normal with variance 1 / fan_in."""
    fan_in = weight[0].numel()  # in_channels * kh * kw
    return truncated_normal_(weight, math.sqrt(1.0 / fan_in) / _TRUNCATED_NORMAL_STDDEV_FACTOR)


class ConvBnRelu(nn.Sequential):
    """conv (no bias, 'same' padding) -> batch norm -> ReLU, as the official `conv_bn_relu`."""

    def __init__(self, input_channels: int, output_channels: int, kernel_size: int, device: torch.device | None = None):
        device = torch.empty(0, device=device).device  # None -> the current default device
        conv = skip_init(
            nn.Conv2d, input_channels, output_channels, kernel_size, padding=kernel_size // 2, bias=False, device=device
        )
        variance_scaling_(conv.weight)
        bn = nn.BatchNorm2d(output_channels, eps=BN_EPSILON, momentum=BN_MOMENTUM, device=device)
        super().__init__(conv, bn, nn.ReLU(inplace=True))


def build_op(op: str, channels: int, device: torch.device | None = None) -> nn.Module:
    """The module computing a vertex's op on an input that already has `channels` channels."""
    if op == CONV3X3:
        return ConvBnRelu(channels, channels, 3, device)
    if op == CONV1X1:
        return ConvBnRelu(channels, channels, 1, device)
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)  # pads with -inf, as TF's 'same' pooling
    raise ValueError(f"unknown interior op {op!r}")


class CellModule(nn.Module):
    """One instance of the cell (the paper's "module"), mapping input_channels to output_channels."""

    def __init__(self, cell: Cell, input_channels: int, output_channels: int, device: torch.device | None = None):
        super().__init__()
        matrix = cell.matrix
        self.num_vertices = n = cell.num_vertices
        output = n - 1
        self.vertex_channels = compute_vertex_channels(input_channels, output_channels, matrix)
        self.projections = nn.ModuleDict()  # key: destination vertex ('output' for the output)
        self.ops = nn.ModuleDict()
        self.interior_sources: list[list[int]] = [[] for _ in range(n)]
        self.output_sources = [v for v in range(1, output) if matrix[v, output]]
        for v in range(1, output):
            self.interior_sources[v] = [src for src in range(1, v) if matrix[src, v]]
            for src in self.interior_sources[v]:
                if self.vertex_channels[src] < self.vertex_channels[v]:
                    raise ValueError(f"vertex {src} has fewer channels than its successor {v}")
            if matrix[0, v]:
                self.projections[str(v)] = ConvBnRelu(input_channels, self.vertex_channels[v], 1, device)
            self.ops[str(v)] = build_op(cell.ops[v], self.vertex_channels[v], device)
        if matrix[0, output]:
            self.projections["output"] = ConvBnRelu(input_channels, output_channels, 1, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tensors = [x]
        for v in range(1, self.num_vertices - 1):
            channels = self.vertex_channels[v]
            inputs = [tensors[src][:, :channels] for src in self.interior_sources[v]]
            if str(v) in self.projections:
                inputs.append(self.projections[str(v)](x))
            total = inputs[0]
            for extra in inputs[1:]:
                total = total + extra
            tensors.append(self.ops[str(v)](total))
        if not self.output_sources:  # only the input -> output edge
            return self.projections["output"](x)
        out = (
            tensors[self.output_sources[0]]
            if len(self.output_sources) == 1
            else torch.cat([tensors[v] for v in self.output_sources], dim=1)
        )
        if "output" in self.projections:
            out = out + self.projections["output"](x)
        return out


class NasBench101Network(nn.Module):
    """The whole image classifier built around one cell."""

    def __init__(self, cell: Cell, shape: NetworkShape = NetworkShape(), device: torch.device | str | None = None):
        super().__init__()
        self.cell = cell
        self.shape = shape
        self.stem = ConvBnRelu(shape.image_channels, shape.stem_channels, 3, device)
        layers: list[nn.Module] = []
        plan = shape.module_channels()
        for index, (input_channels, output_channels) in enumerate(plan):
            if index > 0 and index % shape.modules_per_stack == 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))  # TF 'same': odd sizes round up
            layers.append(CellModule(cell, input_channels, output_channels, device))
        self.stacks = nn.Sequential(*layers)
        self.classifier = nn.Linear(shape.final_channels, shape.num_labels, device=device)
        nn.init.xavier_uniform_(self.classifier.weight)  # tf.layers.dense default: glorot uniform, zero bias
        nn.init.zeros_(self.classifier.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.stacks(self.stem(images))
        return self.classifier(features.mean(dim=(2, 3)))


def build_network(
    cell: Cell, shape: NetworkShape = NetworkShape(), device: torch.device | str | None = None
) -> NasBench101Network:
    """The network for a cell, freshly initialized like the official code, allocated on `device`.

    device='meta' allocates nothing: parameter shapes and forward shapes only, in milliseconds.
    """
    return NasBench101Network(cell, shape, device)


def trainable_parameters(model: nn.Module) -> int:
    """What TensorFlow reports as `trainable_parameters`: every parameter that receives gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
