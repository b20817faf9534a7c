"""A trained predictor: the network's weights plus what is needed to read its outputs; predict, save, load.

Predictions are batched (any number of modules, CPU or GPU) and returned as float64 numpy:
predicted accuracy for a regressor, probability of being above the threshold for a classifier;
never NaN or inf (TrainingDivergedError instead). The checkpoint holds the plain module's
state_dict, whichever engine trained it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from predictor.data.atomic import atomic_output, write_error
from predictor.data.cell import Cell
from predictor.gcn.config import TrainConfig
from predictor.gcn.features import GraphTensors, cells_to_arrays, check_arrays, encode_graphs
from predictor.gcn.fused import ENGINES, FusedEngineError, FusedGCN, structure_problem
from predictor.gcn.network import GCN, scores
from predictor.gcn.runtime import resolve_device, torch_threads

CHECKPOINT_FORMAT = "nb101-gcn-predictor"
CHECKPOINT_VERSION = 2  # 2: the state is `network.GCN`'s state_dict
ENCODE_CHUNK = 65536  # modules encoded at a time when predicting (bounds memory for the whole space)


class TrainingDivergedError(ValueError):
    """The loss or the predictions of a model are not finite (NaN or inf)."""


@dataclass
class Predictor:
    """A fitted GCN (regressor or classifier): `network.GCN` and what is needed to read its outputs."""

    config: TrainConfig
    network: GCN
    history: list[float] = field(default_factory=list)  # mean training loss per epoch
    info: dict = field(default_factory=dict)  # seed, training-set size, seconds, engine, ...
    train_hashes: np.ndarray | None = None  # (n,) S32 module hashes of the training set, when known
    _fused: FusedGCN | bool | None = field(default=None, init=False, repr=False, compare=False)  # None: unchecked

    @property
    def device(self) -> torch.device:
        return self.network.fc1.device

    @property
    def is_classifier(self) -> bool:
        return self.config.task == "classification"

    @property
    def threshold(self) -> float | None:
        """The accuracy a classifier separates at (None for a regressor)."""
        return self.config.threshold if self.is_classifier else None

    def to(self, device: str | torch.device) -> Predictor:
        self.network.to(resolve_device(device))
        self._fused = None
        return self

    def _fused_passes(self, graphs: GraphTensors) -> FusedGCN | None:
        """The fused passes, when they compute this model (checked once, on a probe of the graphs to predict)."""
        if self._fused is None:
            probe = graphs.select(slice(0, 8))
            problem = structure_problem(self.network, self.config)
            fused = FusedGCN(self.network, self.config)
            if not problem:
                targets = torch.zeros(len(probe), device=self.device)
                masks = [torch.ones(s, device=self.device) for s in self.network.dropout_shapes(len(probe))]
                problem = fused.probe_problem(probe.nodes, probe.propagation, probe.pooling, targets, masks)
            self._fused = False if problem else fused
        return self._fused or None

    def _outputs_of(self, graphs: GraphTensors, batch_size: int, engine: str) -> torch.Tensor:
        """(n,) network outputs in evaluation mode, on the fused passes or the plain module (see `predict`)."""
        fused = self._fused_passes(graphs) if engine != "plain" and len(graphs) else None
        if engine == "fused" and fused is None and len(graphs):
            raise FusedEngineError("the fused engine does not compute this model; predict with engine='plain'")
        if fused is not None:
            return fused.predict(graphs.nodes, graphs.propagation, graphs.pooling, batch_size)
        self.network.eval()
        with torch.no_grad():
            parts = [
                self.network(part.nodes, part.propagation, part.pooling)
                for part in (graphs.select(slice(s, s + batch_size)) for s in range(0, len(graphs), batch_size))
            ]
        return torch.cat(parts) if parts else torch.zeros(0, device=self.device)

    def predict(
        self,
        adjacency: np.ndarray,
        operations: np.ndarray,
        num_vertices: np.ndarray,
        batch_size: int = 256,
        engine: str = "auto",
    ) -> np.ndarray:
        """(m,) float64: predicted accuracy (regressor) or probability of being above the threshold (classifier).

        engine: as for `fit` ("auto": the fused passes when they compute this model, else the plain module).
        """
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        adjacency, operations, num_vertices = check_arrays(adjacency, operations, num_vertices)
        parts = []
        with torch_threads(self.config.threads if self.device.type == "cpu" else None):
            for start in range(0, len(num_vertices), ENCODE_CHUNK):
                chunk = slice(start, start + ENCODE_CHUNK)
                graphs = encode_graphs(
                    adjacency[chunk],
                    operations[chunk],
                    num_vertices[chunk],
                    self.device,
                    self.config.readout,
                    self.config.num_op_types,
                )
                parts.append(self._outputs_of(graphs, batch_size, engine))
        outputs = torch.cat(parts) if parts else torch.zeros(0)
        bad = int((~torch.isfinite(outputs)).sum())
        if bad:
            raise TrainingDivergedError(
                f"{bad} of {len(outputs)} predictions are not finite: the model's weights diverged or are damaged; "
                "train it again (with a smaller learning rate)"
            )
        return scores(outputs, self.config)

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
            "state": {name: value.detach().cpu().clone() for name, value in self.network.state_dict().items()},
            "history": list(self.history),
            "info": json.dumps(self.info, allow_nan=False),
            "train_hashes": _hashes_to_tensor(self.train_hashes),
        }
        with atomic_output(path, force=True) as temporary:
            try:
                torch.save(payload, temporary)
            except RuntimeError as error:  # a full disk: torch says "basic_ios::clear" or "inline_container.cc"
                raise write_error(path, error) from None
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
        if payload.get("version") != CHECKPOINT_VERSION:
            raise ValueError(
                f"{path}: checkpoint version {payload.get('version', 'missing')}, this code reads version "
                f"{CHECKPOINT_VERSION}; train the model again with this version"
            )
        try:
            config = TrainConfig.from_dict(json.loads(payload["config"]))
            network = GCN(config)
            network.load_state_dict(payload["state"])
            info = json.loads(payload["info"])
            history = list(payload["history"])
        except (KeyError, TypeError, ValueError, RuntimeError) as error:  # missing entries, shapes, bad JSON
            lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
            reason = f"no {error}" if isinstance(error, KeyError) else lines[-1]  # torch: the mismatch, last
            raise ValueError(
                f"{path}: a damaged predictor checkpoint ({reason.rstrip(':. ')}); retrain with train.py"
            ) from None
        predictor = cls(config, network.eval(), history, info, _tensor_to_hashes(payload.get("train_hashes")))
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
