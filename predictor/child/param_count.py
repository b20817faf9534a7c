"""Trainable-parameter count of the NAS-Bench-101 network in closed form, without building it.

Counting this way takes microseconds per cell, so the count can be checked against
the dataset's `trainable_parameters` for every module of the space. The terms are
those TensorFlow counts as trainable: conv kernels (no bias), batch-norm beta and
gamma (the official `tf.layers.batch_normalization` keeps its default scale=True),
the dense kernel and bias.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from predictor.child.channels import NetworkShape, compute_vertex_channels
from predictor.data.cell import CONV1X1, CONV3X3, MAXPOOL3X3, OP_NAMES

KERNEL_SIZES = {CONV3X3: 3, CONV1X1: 1, MAXPOOL3X3: 0}  # 0: no parameters


def conv_bn_parameters(input_channels: int, output_channels: int, kernel_size: int) -> int:
    """Conv kernel (no bias) plus batch-norm gamma and beta."""
    return kernel_size * kernel_size * input_channels * output_channels + 2 * output_channels


def op_names(ops: Sequence[str | int]) -> list[str]:
    """Op names from names or the dataset's integer codes (-1 input, -2 output, 0/1/2 interior)."""
    return [OP_NAMES[int(op)] if isinstance(op, (int, np.integer)) else op for op in ops]


def module_parameters(matrix: np.ndarray, ops: Sequence[str], input_channels: int, output_channels: int) -> int:
    """Parameters of one module (cell instance) mapping `input_channels` to `output_channels`."""
    matrix = np.asarray(matrix)
    output = len(matrix) - 1
    channels = compute_vertex_channels(input_channels, output_channels, matrix)
    total = 0
    for v in range(1, output):
        if matrix[0, v]:
            total += conv_bn_parameters(input_channels, channels[v], 1)  # projection of the input
        kernel = KERNEL_SIZES[ops[v]]
        if kernel:
            total += conv_bn_parameters(channels[v], channels[v], kernel)
    if matrix[0, output]:
        total += conv_bn_parameters(input_channels, output_channels, 1)
    return total


def count_parameters(
    matrix: Sequence[Sequence[int]] | np.ndarray, ops: Sequence[str | int], shape: NetworkShape = NetworkShape()
) -> int:
    """Trainable parameters of the whole network built on a pruned cell."""
    matrix = np.asarray(matrix)
    names = op_names(ops)
    total = conv_bn_parameters(shape.image_channels, shape.stem_channels, 3)
    per_pair: dict[tuple[int, int], int] = {}
    for pair in shape.module_channels():
        if pair not in per_pair:
            per_pair[pair] = module_parameters(matrix, names, *pair)
        total += per_pair[pair]
    return total + shape.final_channels * shape.num_labels + shape.num_labels
