"""Layer details of the network that the parameter count alone cannot see."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from predictor.child.network import CellModule, ConvBnRelu, build_network
from predictor.data.cell import Cell

KNOWN = Cell.from_spec(
    [
        [0, 1, 0, 0, 1, 1, 0],
        [0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 1],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"],
)


def test_batch_norm_matches_tf_settings():
    bn = ConvBnRelu(4, 8, 3)[1]
    assert bn.momentum == pytest.approx(1 - 0.997) and bn.eps == 1e-5
    assert bn.weight.requires_grad and bn.bias.requires_grad  # TF's default scale=True: gamma is trained
    assert torch.equal(bn.weight, torch.ones(8)) and torch.equal(bn.bias, torch.zeros(8))


def test_conv_init_is_tf_variance_scaling():
    torch.manual_seed(0)
    conv = ConvBnRelu(256, 256, 3)[0]
    fan_in = 256 * 9
    stddev = math.sqrt(1 / fan_in) / 0.87962566103423978  # TF: the pre-truncation stddev
    weights = conv.weight.detach()
    assert conv.bias is None
    assert weights.std().item() == pytest.approx(math.sqrt(1 / fan_in), rel=0.01)  # variance 1/fan_in after truncation
    assert weights.abs().max().item() <= 2 * stddev + 1e-7
    assert weights.abs().max().item() > 1.9 * stddev


def test_dense_init_is_glorot_uniform_with_zero_bias():
    torch.manual_seed(0)
    classifier = build_network(KNOWN, device="cpu").classifier
    bound = math.sqrt(6 / (512 + 10))
    assert classifier.weight.abs().max().item() <= bound and classifier.weight.abs().max().item() > 0.9 * bound
    assert torch.equal(classifier.bias.detach(), torch.zeros(10))


def test_stack_layout():
    model = build_network(KNOWN, device="meta")
    kinds = [type(layer).__name__ for layer in model.stacks]
    assert kinds == ["CellModule"] * 3 + ["MaxPool2d"] + ["CellModule"] * 3 + ["MaxPool2d"] + ["CellModule"] * 3
    assert model.stem[0].kernel_size == (3, 3) and model.stem[0].out_channels == 128


def test_module_wiring_of_the_known_cell():
    module = CellModule(KNOWN, 128, 128, device="meta")
    # vertices 2, 5 feed the output: 64 channels each; 1 -> 2 and 3 -> 5, 4 -> 5 take their successors' 64
    assert module.vertex_channels == [128, 64, 64, 64, 64, 64, 128]
    assert sorted(module.projections) == ["1", "4", "5"]  # edges from the input, no input -> output edge
    assert module.output_sources == [2, 5]


def test_max_pool_pads_with_minus_infinity():
    """TF 'same' pooling ignores the padding: an all-negative map must stay negative at the border."""
    cell = Cell.from_spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"])
    module = CellModule(cell, 4, 4)
    pool = module.ops["1"]
    x = -torch.rand(1, 4, 5, 5) - 1.0
    assert (pool(x) < 0).all()


def test_input_to_output_only_cell_is_a_projection():
    cell = Cell.from_spec([[0, 1], [0, 0]], ["input", "output"])
    module = CellModule(cell, 16, 32)
    assert list(module.projections) == ["output"]
    assert module(torch.randn(2, 16, 4, 4)).shape == (2, 32, 4, 4)


def test_odd_spatial_size_rounds_up_like_tf_same_pooling():
    model = build_network(Cell.from_spec([[0, 1], [0, 0]], ["input", "output"]))
    pools = [layer for layer in model.stacks if isinstance(layer, nn.MaxPool2d)]
    assert pools[0](torch.randn(1, 1, 5, 5)).shape[-1] == 3
