"""The predictor's network and objective, in plain PyTorch: this file defines the model.

Read it top to bottom: what the network sees, one directed graph convolution, the whole
network with its readout, then what it is trained on and against. Everything here is
ordinary autograd code; `fit(..., engine="plain")` trains exactly this.

The fused engine (`fused.py`) is a hand-written fast path for the networks and settings
it knows: before it trains or predicts, it checks that it computes what this file
computes (same outputs, loss and gradients on a probe batch) and refuses otherwise. So a
new layer, readout or loss is tried by editing this file alone: the plain engine runs
it, and the fused engine steps aside until someone teaches it the change.

Inputs, made once per graph by `features.encode_graphs` (7 vertex slots, padding after V):
    nodes        (B, 7, T)     one-hot vertex types: output, input, then the T-2 operations
    propagation  (B, 2, 7, 7)  P_fwd = rownorm(A + I) and P_bwd = rownorm(P_fwd^T)
    pooling      (B, P, 7)     how the readout pools vertices into P vectors (the mean; the output vertex)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from predictor.data.cell import MAX_VERTICES
from predictor.gcn.config import PAPER_LABEL_MEAN, PAPER_LABEL_STD, TrainConfig


def uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    """U(-bound, bound) from a seeded generator: a seed fixes the initial weights."""
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound


def dropout(x: torch.Tensor, mask: torch.Tensor | None, p: float, training: bool) -> torch.Tensor:
    """Dropout; the mask (0 or 1/(1-p)) may come from the training loop, which draws one per step
    so that every engine sees the same ones."""
    return x * mask if mask is not None else F.dropout(x, p, training)


class DirectedGraphConvolution(nn.Module):
    """X' = dropout((relu(P_fwd X W_fwd) + relu(P_bwd X W_bwd)) / 2): messages along and against the edges.

    Both directions' weights sit side by side in one matrix [W_fwd | W_bwd], each Xavier-uniform,
    so that one product gives both (as nanoGPT keeps q, k and v in one `c_attn`).
    """

    def __init__(self, in_features: int, out_features: int, p: float, generator: torch.Generator):
        super().__init__()
        self.out_features, self.p = out_features, p
        bound = math.sqrt(6.0 / (in_features + out_features))
        self.weight = nn.Parameter(uniform((in_features, 2 * out_features), bound, generator))

    def forward(self, x: torch.Tensor, propagation: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        along, against = (x @ self.weight).split(self.out_features, dim=-1)
        along = F.relu(propagation[:, 0] @ along)
        against = F.relu(propagation[:, 1] @ against)
        return dropout((along + against) / 2, mask, self.p, self.training)


class GCN(nn.Module):
    """Directed graph convolutions, a pooled readout, fc1 -> dropout -> fc2: one score per graph.

    The paper's network: 3 layers of 144, the mean over the real vertices, fc 144 -> 128 -> 1,
    no biases and no activation between fc1 and fc2. `readout="mean-output"` pools the output
    vertex's features beside the mean. fc weights are drawn like nn.Linear's, stored (in, out).
    """

    def __init__(self, config: TrainConfig, generator: torch.Generator | None = None):
        super().__init__()
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.p = config.dropout
        widths = [config.num_op_types + 2] + [config.hidden] * config.layers
        self.graph_layers = nn.ModuleList(
            DirectedGraphConvolution(f_in, f_out, config.dropout, generator) for f_in, f_out in zip(widths, widths[1:])
        )
        pooled = config.hidden * (2 if config.readout == "mean-output" else 1)
        self.fc1 = nn.Parameter(uniform((pooled, config.readout_hidden), pooled**-0.5, generator))
        self.fc2 = nn.Parameter(uniform((config.readout_hidden, 1), config.readout_hidden**-0.5, generator))

    def dropout_shapes(self, batch: int) -> list[tuple[int, ...]]:
        """Shapes of one step's dropout masks, in the order `forward` takes them."""
        graph = [(batch, MAX_VERTICES, layer.out_features) for layer in self.graph_layers]
        return graph + [(batch, self.fc1.shape[1])]

    def forward(
        self,
        nodes: torch.Tensor,
        propagation: torch.Tensor,
        pooling: torch.Tensor,
        masks: Sequence[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """(B,) scores: normalized accuracy (regression) or the logit of "good" (classification)."""
        masks = masks if masks is not None else [None] * (len(self.graph_layers) + 1)
        h = dropout(self.pooled(nodes, propagation, pooling, masks[:-1]) @ self.fc1, masks[-1], self.p, self.training)
        return (h @ self.fc2).squeeze(-1)

    def pooled(
        self,
        nodes: torch.Tensor,
        propagation: torch.Tensor,
        pooling: torch.Tensor,
        masks: Sequence[torch.Tensor | None] | None = None,
    ) -> torch.Tensor:
        """(B, P * hidden): the graph layers' vertex features pooled by the readout, what fc1 reads
        (and what pre-training on the space trains, `pretraining.py`)."""
        x = nodes
        for layer, mask in zip(self.graph_layers, masks if masks is not None else [None] * len(self.graph_layers)):
            x = layer(x, propagation, mask)
        return (pooling @ x).flatten(1)


# --- what the network is trained on -------------------------------------------------------------
def training_targets(labels: np.ndarray, config: TrainConfig) -> np.ndarray:
    """(n,) float32 targets from accuracies in [0, 1]: 0/1 above the threshold (classification), or
    labels normalized with the reference's mean and std, floored at `label_floor` when set."""
    if config.task == "classification":
        return (labels > config.threshold).astype(np.float32)
    targets = ((labels - PAPER_LABEL_MEAN) / PAPER_LABEL_STD).astype(np.float32)
    return targets if config.label_floor is None else np.maximum(targets, np.float32(config.label_floor))


def scores(outputs: torch.Tensor, config: TrainConfig) -> np.ndarray:
    """Network outputs -> float64 predicted accuracy, or probability of being above the threshold."""
    outputs = outputs.double()
    if config.task == "classification":
        return torch.sigmoid(outputs).cpu().numpy()
    return (outputs * PAPER_LABEL_STD + PAPER_LABEL_MEAN).cpu().numpy()


# --- and against what ---------------------------------------------------------------------------
def pairwise_logistic_loss(outputs: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean of log(1 + exp(-(s_i - s_j) / temperature)) over the pairs of a batch where module i is better."""
    gap = outputs.unsqueeze(1) - outputs.unsqueeze(0)  # (B, B): s_i - s_j
    better = (targets.unsqueeze(1) > targets.unsqueeze(0)).to(outputs.dtype)
    return (F.softplus(-gap / temperature) * better).sum() / better.sum().clamp_min(1)


def loss(outputs: torch.Tensor, targets: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """One batch's loss: BCE with logits (classification); weighted MSE plus the weighted ranking loss."""
    if config.task == "classification":
        return F.binary_cross_entropy_with_logits(outputs, targets)
    total = config.regression_weight * F.mse_loss(outputs, targets)
    if config.ranking_weight > 0:
        total = total + config.ranking_weight * pairwise_logistic_loss(outputs, targets, config.ranking_temperature)
    return total
