"""A torch Dataset over rows of the HDF5 file: the cell arrays plus a label per module."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from predictor.dataset import NASBench


class ModuleDataset(Dataset):
    """Modules `rows` of `bench` with their `labels` (default: 108-epoch validation accuracy, repeat 0).

    Items are dicts of tensors: adjacency (7, 7), operations (7,), num_vertices, label.
    """

    def __init__(self, bench: NASBench, rows: np.ndarray | None = None, labels: np.ndarray | None = None):
        self.rows = np.arange(len(bench)) if rows is None else np.asarray(rows, dtype=np.int64)
        labels = bench.accuracy(108, "validation_accuracy", repeat=0) if labels is None else np.asarray(labels)
        if len(labels) == len(bench) and len(self.rows) != len(bench):
            labels = labels[self.rows]
        if len(labels) != len(self.rows):
            raise ValueError(f"{len(labels)} labels for {len(self.rows)} rows")
        self.adjacency = torch.from_numpy(bench.adjacency[self.rows].astype(np.float32))
        self.operations = torch.from_numpy(bench.operations[self.rows].astype(np.int64))
        self.num_vertices = torch.from_numpy(bench.num_vertices[self.rows].astype(np.int64))
        self.labels = torch.from_numpy(labels.astype(np.float32))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "adjacency": self.adjacency[i],
            "operations": self.operations[i],
            "num_vertices": self.num_vertices[i],
            "label": self.labels[i],
        }
