"""Attention over the cell: a transformer block whose vertices attend only along the DAG.

A vertex attends to itself, its ancestors and its descendants (reachability in either direction,
the mask PINAT and NN-Former build from the adjacency), never to a vertex on a parallel branch
or to padding. The mask is read off the propagation matrices the GCN already gets, so the
inputs stay those of `features.encode_graphs`. Pre-norm block: x + MHA(LN(x)), then
x + FFN(LN(x)); weights drawn from the network's seeded generator like every other layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from predictor.data.cell import MAX_VERTICES


def reachability(propagation: torch.Tensor) -> torch.Tensor:
    """(B, 7, 7) bool: j is i itself, an ancestor or a descendant of i. Padded slots reach only themselves."""
    step = propagation[:, 0] > 0  # A + I: the forward propagation has the adjacency's pattern
    reach = step
    for _ in range(MAX_VERTICES - 2):  # paths have at most 6 edges
        reach = (reach.float() @ step.float()) > 0
    return reach | reach.transpose(1, 2)


def _linear(in_features: int, out_features: int, generator: torch.Generator) -> nn.Parameter:
    bound = math.sqrt(6.0 / (in_features + out_features))  # Xavier-uniform, stored (in, out)
    return nn.Parameter((torch.rand((in_features, out_features), generator=generator) * 2 - 1) * bound)


class DagAttention(nn.Module):
    """One pre-norm transformer block over the 7 vertex slots, attention masked by reachability."""

    def __init__(self, features: int, heads: int, generator: torch.Generator):
        super().__init__()
        if features % heads:
            raise ValueError(f"attention width {features} is not divisible by {heads} heads")
        self.heads = heads
        self.norm_attention = nn.LayerNorm(features)
        self.qkv = _linear(features, 3 * features, generator)
        self.projection = _linear(features, features, generator)
        self.norm_feedforward = nn.LayerNorm(features)
        self.expand = _linear(features, 2 * features, generator)
        self.contract = _linear(2 * features, features, generator)

    def forward(self, x: torch.Tensor, propagation: torch.Tensor) -> torch.Tensor:
        batch, vertices, features = x.shape
        q, k, v = (self.norm_attention(x) @ self.qkv).split(features, dim=-1)
        q, k, v = (t.view(batch, vertices, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        mask = reachability(propagation).unsqueeze(1)  # (B, 1, 7, 7), broadcast over heads
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + attended.transpose(1, 2).reshape(batch, vertices, features) @ self.projection
        return x + F.relu(self.norm_feedforward(x) @ self.expand) @ self.contract
