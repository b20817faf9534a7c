"""The encoder RNN of PNAS (Liu et al. 2018) as a surrogate: an LSTM reading a cell as a token sequence.

PNAS ranks candidate cells with an LSTM that reads the cell's blocks one token at a time.
Here a NAS-Bench-101 cell (HDF5 layout: vertices in topological order, output last) is read
one vertex after the input per step: the token is the vertex's op, one-hot among output,
input and the 3 + K interior ops, beside its incoming edges from the seven slots. The LSTM's
state after the output vertex goes through a linear head to a score. Trained on the queried
cells' accuracies (standardized) with mean squared error and Adam, a fixed number of steps
per fit, seeded: the same signature as the GCN's `fit`, so `Surrogate` uses either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from predictor.data.encodings import NUM_REAL_OPS

SPECIAL_TOKENS = 2  # output, input (op code + 2 indexes the one-hot, as in the GCN)


def token_sequences(adjacency: np.ndarray, operations: np.ndarray, num_ops: int) -> np.ndarray:
    """(n, 6, 2 + num_ops + 7) float32: for vertices 1..6, the one-hot op and the incoming edge bits."""
    operations = np.asarray(operations, dtype=np.int64)[:, 1:]
    width = SPECIAL_TOKENS + num_ops
    ops = np.eye(width, dtype=np.float32)[np.clip(operations + SPECIAL_TOKENS, 0, width - 1)]
    incoming = np.swapaxes(np.asarray(adjacency, dtype=np.float32), 1, 2)[:, 1:, :]
    return np.concatenate([ops, incoming], axis=2)


class SequenceEncoder(nn.Module):
    def __init__(self, token_width: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(token_width, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, tokens: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Scores (n,): the state after step `last` (the output vertex) of each sequence."""
        states, _ = self.lstm(tokens)
        return self.head(states[torch.arange(len(tokens)), last])[:, 0]


@dataclass(frozen=True)
class SequenceModel:
    network: SequenceEncoder
    num_ops: int
    label_mean: float
    label_std: float

    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        if len(adjacency) == 0:
            return np.zeros(0)
        tokens = torch.from_numpy(token_sequences(adjacency, operations, self.num_ops))
        last = torch.from_numpy(np.asarray(num_vertices, dtype=np.int64) - 2)
        with torch.no_grad():
            scores = self.network(tokens, last).numpy().astype(np.float64)
        return scores * self.label_std + self.label_mean


@dataclass(frozen=True)
class SequenceFit:
    """`fit(adjacency, operations, num_vertices, labels, seed=...)` for an LSTM over `num_ops` interior ops."""

    num_ops: int = NUM_REAL_OPS
    hidden: int = 64
    steps: int = 300
    batch_size: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4

    def __call__(self, adjacency, operations, num_vertices, labels, config=None, seed: int = 0) -> SequenceModel:
        labels = np.asarray(labels, dtype=np.float64)
        if len(labels) < 2 or not np.isfinite(labels).all():
            raise ValueError(f"need at least 2 finite labels, got {len(labels)}")
        num_ops = self.num_ops
        mean, std = float(labels.mean()), float(labels.std()) or 1.0
        tokens = torch.from_numpy(token_sequences(adjacency, operations, num_ops))
        last = torch.from_numpy(np.asarray(num_vertices, dtype=np.int64) - 2)
        targets = torch.from_numpy(((labels - mean) / std).astype(np.float32))
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        network = SequenceEncoder(tokens.shape[2], self.hidden)
        optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        batch = min(self.batch_size, len(labels))
        for _ in range(self.steps):
            index = torch.randperm(len(labels), generator=generator)[:batch]
            loss = torch.mean((network(tokens[index], last[index]) - targets[index]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        network.eval()
        return SequenceModel(network, num_ops, mean, std)
