"""The network as a plain PyTorch module, written like the public reference implementation.

Kept as the yardstick: tests check that the fused `GCNEnsemble` computes the same outputs
and gradients, and the speed benchmark times a plain training loop with it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from predictor.gcn.fused import GCNEnsemble


def normalize_rows(adjacency: torch.Tensor) -> torch.Tensor:
    return adjacency / adjacency.sum(-1, keepdim=True)


class DirectedGraphConvolution(nn.Module):
    def __init__(self, in_features: int, out_features: int, dropout: float = 0.1):
        super().__init__()
        self.weight_forward = nn.Parameter(torch.empty(in_features, out_features))
        self.weight_backward = nn.Parameter(torch.empty(in_features, out_features))
        nn.init.xavier_uniform_(self.weight_forward)
        nn.init.xavier_uniform_(self.weight_backward)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        along = F.relu(normalize_rows(adjacency) @ (x @ self.weight_forward))
        against = F.relu(normalize_rows(adjacency.transpose(1, 2)) @ (x @ self.weight_backward))
        out = (along + against) / 2
        return out * mask if mask is not None else self.dropout(out)


class ReferenceGCN(nn.Module):
    """One directed-GCN regressor: node one-hots (B,7,5), 0/1 adjacency (B,7,7), vertex counts (B,)."""

    def __init__(self, hidden: int = 144, layers: int = 3, readout_hidden: int = 128, dropout: float = 0.1):
        super().__init__()
        widths = [5] + [hidden] * layers
        self.gcn = nn.ModuleList(DirectedGraphConvolution(i, o, dropout) for i, o in zip(widths[:-1], widths[1:]))
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(hidden, readout_hidden, bias=False)
        self.fc2 = nn.Linear(readout_hidden, 1, bias=False)

    def forward(
        self,
        nodes: torch.Tensor,
        adjacency: torch.Tensor,
        num_vertices: torch.Tensor,
        masks: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """masks: optional explicit dropout masks (0 or 1/(1-p)), one per layer and one for the readout."""
        size = adjacency.shape[-1]
        adjacency = normalize_rows(adjacency.float() + torch.eye(size, device=adjacency.device))
        x = nodes
        for i, layer in enumerate(self.gcn):
            x = layer(x, adjacency, masks[i] if masks is not None else None)
        x = x.sum(1) / num_vertices.unsqueeze(-1).float()
        x = self.fc1(x)
        x = x * masks[-1] if masks is not None else self.dropout(x)
        return self.fc2(x).view(-1)

    @torch.no_grad()
    def copy_from(self, ensemble: GCNEnsemble, member: int = 0) -> ReferenceGCN:
        """Take the weights of one member of a fused ensemble (same architecture, no biases)."""
        for layer, weight in zip(self.gcn, ensemble.graph_weights):
            hidden = weight.shape[-1] // 2
            layer.weight_forward.copy_(weight[member, :, :hidden])
            layer.weight_backward.copy_(weight[member, :, hidden:])
        self.fc1.weight.copy_(ensemble.fc1_weight[member].t())
        self.fc2.weight.copy_(ensemble.fc2_weight[member].t())
        return self
