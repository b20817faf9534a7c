"""Synthetic files in the official tfrecord format, for tests and size/speed benchmarks.

The graphs are real (from the enumeration or a dataset); the metrics are random and
every evaluation point carries `checkpoint_path = "synthetic"`, so such a file can
never be mistaken for real accuracies.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from predictor.data.atomic import atomic_output
from predictor.data.cell import OP_NAMES
from predictor.data.model_metrics import ModelMetrics
from predictor.data.records import frame

SYNTHETIC_MARK = "synthetic"


def _metrics_payload(rng: np.random.Generator, epochs: int, parameters: int) -> str:
    metrics = ModelMetrics(trainable_parameters=parameters, total_time=float(rng.uniform(100, 5000)))
    metrics.evaluation_data.add(current_epoch=0.0, checkpoint_path=SYNTHETIC_MARK)
    for fraction in (0.5, 1.0):
        accuracy = float(rng.uniform(0.1, 0.95))
        metrics.evaluation_data.add(
            current_epoch=epochs * fraction,
            training_time=float(rng.uniform(10, 40) * epochs * fraction),
            train_accuracy=min(1.0, accuracy + 0.05),
            validation_accuracy=accuracy,
            test_accuracy=accuracy - 0.005,
            checkpoint_path=SYNTHETIC_MARK,
        )
    return base64.b64encode(metrics.SerializeToString()).decode()


def record_data(module_hash: str, epochs: int, adjacency: np.ndarray, ops: Sequence[str], raw_metrics: str) -> bytes:
    """The JSON payload of one record, formatted like the official file."""
    raw_adjacency = "".join(str(int(x)) for x in np.asarray(adjacency).ravel())
    return json.dumps([module_hash, epochs, raw_adjacency, ",".join(ops), raw_metrics], allow_nan=False).encode()


def write_synthetic_tfrecord(
    path: str | Path,
    hashes: np.ndarray,
    adjacency: np.ndarray,
    operations: np.ndarray,
    num_vertices: np.ndarray,
    *,
    budgets: Sequence[int] = (4, 12, 36, 108),
    repeats: int = 3,
    seed: int = 0,
    progress: bool = True,
    force: bool = False,
) -> int:
    """Write one record per (module, budget, repeat) in the official order; returns the record count.

    Arrays use the HDF5 layout (padded 7x7 adjacency, op codes). Written atomically.
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    count = 0
    with atomic_output(path, force=force) as temporary:
        with open(temporary, "wb") as file:
            for row in tqdm(range(len(hashes)), desc="writing synthetic records", disable=not progress):
                n = int(num_vertices[row])
                ops = [OP_NAMES[int(code)] for code in operations[row, :n]]
                module_hash = hashes[row].decode() if isinstance(hashes[row], bytes) else str(hashes[row])
                parameters = int(rng.integers(200_000, 50_000_000))
                for epochs in budgets:
                    for _ in range(repeats):
                        payload = _metrics_payload(rng, epochs, parameters)
                        file.write(frame(record_data(module_hash, epochs, adjacency[row, :n, :n], ops, payload)))
                        count += 1
    return count
