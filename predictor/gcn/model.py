"""A trained predictor: the network's weights plus what is needed to read its outputs; predict, save, load.

Predictions are batched (any number of modules, CPU or GPU) and returned as float64 numpy:
predicted accuracy for a regressor, probability of being above the threshold for a classifier.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from predictor.data.atomic import atomic_output
from predictor.data.cell import Cell
from predictor.gcn.config import TrainConfig
from predictor.gcn.features import cells_to_arrays, check_arrays, encode_graphs
from predictor.gcn.fused import Architecture, GCNEnsemble
from predictor.gcn.runtime import resolve_device, torch_threads

CHECKPOINT_FORMAT = "nb101-gcn-predictor"
CHECKPOINT_VERSION = 1
ENCODE_CHUNK = 65536  # modules encoded at a time when predicting (bounds memory for the whole space)


@dataclass
class Predictor:
    """A fitted GCN ensemble (regressor or classifier)."""

    config: TrainConfig
    network: GCNEnsemble
    threshold: float | None = None  # classifier only: the accuracy it separates at
    auxiliary_mean: list[float] = field(default_factory=list)
    auxiliary_std: list[float] = field(default_factory=list)
    history: list[float] = field(default_factory=list)  # mean training loss per epoch
    info: dict = field(default_factory=dict)  # seed, training-set size, seconds, ...
    train_hashes: np.ndarray | None = None  # (n,) S32 module hashes of the training set, when known

    @property
    def device(self) -> torch.device:
        return self.network.fc1_weight.device

    @property
    def is_classifier(self) -> bool:
        return self.config.task == "classification"

    def to(self, device: str | torch.device) -> Predictor:
        self.network.to(resolve_device(device))
        return self

    def raw_outputs(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, batch_size: int = 256
    ) -> torch.Tensor:
        """(members, m, outputs) network outputs on the predictor's device (normalised units / logits)."""
        adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
        self.network.eval()
        parts = []
        with torch_threads(self.config.threads if self.device.type == "cpu" else None):
            for start in range(0, len(num_vertices), ENCODE_CHUNK):
                chunk = slice(start, start + ENCODE_CHUNK)
                graphs = encode_graphs(
                    adjacency[chunk],
                    operations[chunk],
                    num_vertices[chunk],
                    self.device,
                    self.network.architecture.readout,
                )
                parts.append(self.network.predict(graphs, batch_size))
        if not parts:
            return torch.zeros(self.network.architecture.members, 0, self.network.architecture.outputs)
        return torch.cat(parts, dim=1)

    def predict_members(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, batch_size: int = 256
    ) -> np.ndarray:
        """(members, m) float64: each ensemble member's prediction (accuracy, or probability for a classifier)."""
        main = self.raw_outputs(adjacency, operations, num_vertices, batch_size)[..., 0].double()
        if self.is_classifier:
            return torch.sigmoid(main).cpu().numpy()
        return (main * self.config.label_std + self.config.label_mean).cpu().numpy()

    def predict(
        self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray, batch_size: int = 256
    ) -> np.ndarray:
        """(m,) float64: predicted accuracy (regressor) or probability of being above the threshold (classifier)."""
        return self.predict_members(adjacency, operations, num_vertices, batch_size).mean(axis=0)

    def predict_cells(self, cells: Sequence[Cell], batch_size: int = 256) -> np.ndarray:
        """Like `predict`, for `Cell` objects."""
        return self.predict(*cells_to_arrays(list(cells)), batch_size=batch_size)

    # --- checkpoints ------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a checkpoint (plain tensors and JSON-able values: loads with weights_only=True)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": json.dumps(self.config.to_dict(), allow_nan=False),
            "architecture": json.dumps(self.network.architecture.to_dict(), allow_nan=False),
            "state": {name: value.detach().cpu() for name, value in self.network.state_dict().items()},
            "threshold": self.threshold,
            "auxiliary_mean": list(self.auxiliary_mean),
            "auxiliary_std": list(self.auxiliary_std),
            "history": list(self.history),
            "info": json.dumps(self.info, allow_nan=False),
            "train_hashes": _hashes_to_tensor(self.train_hashes),
        }
        with atomic_output(path, force=True) as temporary:
            torch.save(payload, temporary)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device | None = "auto") -> Predictor:
        """Read a checkpoint written by `save`; device "auto" = cuda if available, else cpu."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such checkpoint (train one with: python train.py --split 172)")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except OSError:
            raise
        except Exception:  # a damaged file raises anything from IndexError to RuntimeError("...file an issue")
            payload = None
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"{path}: not a readable predictor checkpoint (truncated or damaged?); retrain with train.py"
            )
        if payload["version"] > CHECKPOINT_VERSION:
            raise ValueError(f"{path}: checkpoint version {payload['version']} is newer than this code reads")
        config = TrainConfig.from_dict(json.loads(payload["config"]))
        network = GCNEnsemble(Architecture(**json.loads(payload["architecture"])))
        network.load_state_dict(payload["state"])
        predictor = cls(
            config,
            network,
            payload["threshold"],
            payload["auxiliary_mean"],
            payload["auxiliary_std"],
            payload["history"],
            json.loads(payload["info"]),
            _tensor_to_hashes(payload.get("train_hashes")),
        )
        return predictor.to(resolve_device(device))


def _hashes_to_tensor(hashes: np.ndarray | None) -> torch.Tensor | None:
    if hashes is None:
        return None
    return torch.from_numpy(
        np.frombuffer(np.asarray(hashes, dtype="S32").tobytes(), dtype=np.uint8).reshape(-1, 32).copy()
    )


def _tensor_to_hashes(tensor: torch.Tensor | None) -> np.ndarray | None:
    if tensor is None:
        return None
    return np.frombuffer(tensor.numpy().tobytes(), dtype="S32").copy()


def load(path: str | Path, device: str | torch.device | None = "auto") -> Predictor:
    """Load a checkpoint (same as `Predictor.load`)."""
    return Predictor.load(path, device)
