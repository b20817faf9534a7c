"""Channel bookkeeping of the NAS-Bench-101 network, shared by the builder and the closed-form count.

The channel counts decide the parameter count, so they follow the official
`model_builder.compute_vertex_channels` rule by rule: the module's output channels
are split over the vertices that feed the output (the remainder going one by one to
the first of them), every other interior vertex takes the largest count among its
interior successors, and the input keeps its own count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NetworkShape:
    """The macro skeleton around the cell; the defaults are the ones of the benchmark."""

    stem_channels: int = 128
    num_stacks: int = 3
    modules_per_stack: int = 3
    num_labels: int = 10
    image_channels: int = 3

    def module_channels(self) -> list[tuple[int, int]]:
        """(input channels, output channels) of every module, in network order.

        Each stack after the first starts with a 2x2 max-pool and doubles the channels,
        so the first module of such a stack widens its input.
        """
        plan = []
        channels = self.stem_channels
        for stack in range(self.num_stacks):
            input_channels = channels
            if stack > 0:
                channels *= 2
            for _ in range(self.modules_per_stack):
                plan.append((input_channels, channels))
                input_channels = channels
        return plan

    @property
    def final_channels(self) -> int:
        return self.stem_channels * 2 ** (self.num_stacks - 1)


def compute_vertex_channels(
    input_channels: int, output_channels: int, matrix: Sequence[Sequence[int]] | np.ndarray
) -> list[int]:
    """Channels of every vertex of a pruned cell, by the official rule (see the module docstring).

    Raises ValueError when the matrix is not a pruned cell (a vertex ends up with no
    channels) or when the rule's own invariants fail.
    """
    matrix = np.asarray(matrix)
    num_vertices = len(matrix)
    output = num_vertices - 1
    channels = [0] * num_vertices
    channels[0] = input_channels
    channels[output] = output_channels
    if num_vertices == 2:
        return channels

    feeds_output = [bool(matrix[v, output]) for v in range(num_vertices)]
    fan_in = sum(feeds_output[1:output])  # the input's edge to the output is not counted
    if fan_in == 0:
        raise ValueError("no interior vertex feeds the output: the matrix is not a pruned cell")
    share, remainder = divmod(output_channels, fan_in)
    for v in range(1, output):
        if feeds_output[v]:
            channels[v] = share
            if remainder:
                channels[v] += 1
                remainder -= 1

    # Backwards, so that successors are settled first; vertex V-2 can only feed the output.
    for v in range(num_vertices - 3, 0, -1):
        if not feeds_output[v]:
            for dst in range(v + 1, output):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
        if channels[v] <= 0:
            raise ValueError(f"vertex {v} gets no channels: the matrix is not a pruned cell")

    for v in range(1, output):
        for dst in range(v + 1, output):
            if matrix[v, dst] and channels[v] < channels[dst]:
                raise ValueError(f"channels increase along edge {v} -> {dst}")
    if sum(channels[v] for v in range(1, output) if feeds_output[v]) != output_channels:
        raise ValueError("the output's fan-in does not add up to its channels")
    return channels
