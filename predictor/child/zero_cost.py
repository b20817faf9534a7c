"""Zero-cost signals: how promising a cell looks at initialisation, from one fixed batch of real images.

Each signal is one forward and backward pass of a reduced-width network (`ZERO_COST_SHAPE`,
stem 16), freshly initialised with a fixed seed, so a cell's score is a deterministic
function of the cell, the seed and the batch: computed once per cell and cached. The tensors
are small: run it with one torch thread (more only wait on each other, and collapse on a busy machine).

- synflow    (Tanaka et al. 2020, as a proxy: Abdelfattah et al. 2021): sum |theta * dR/dtheta|,
             R the sum of the outputs of the network with |theta| on an all-ones image, batch
             norm in inference mode; data-free, in float64 (it overflows float32), reported as log10.
- grad_norm  sum over the weight tensors of ||dL/dtheta||, L the cross-entropy on the batch.
- jacob_cov  (Mellor et al. 2021): -sum(log(e + k) + 1 / (e + k)) over the eigenvalues e of the
             correlation between the images' input gradients; high when the network tells the
             images of the batch apart.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from predictor.child.channels import NetworkShape
from predictor.child.cifar import RGB_MEAN, RGB_STD, CifarSplits
from predictor.child.network import build_network
from predictor.data.cell import Cell
from predictor.data.json_lines import append_record, drop_torn_tail, sole_writer

ZERO_COST_SHAPE = NetworkShape(stem_channels=16)
BATCH_SIZE = 64
JACOB_COV_K = 1e-5


@dataclass(frozen=True)
class ProbeBatch:
    """The fixed batch every cell is scored on: normalized images (B, 3, 32, 32) and their labels."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str  # where the images come from, recorded beside every cached score

    @classmethod
    def from_cifar(cls, splits: CifarSplits, size: int = BATCH_SIZE, seed: int = 0) -> ProbeBatch:
        """`size` training images drawn with default_rng(seed), normalized with the official mean/std."""
        if not 2 <= size <= len(splits.train):
            raise ValueError(f"probe batch size must be in [2, {len(splits.train)}], got {size}")
        index = np.sort(np.random.default_rng(seed).choice(len(splits.train), size, replace=False))
        images = torch.as_tensor(np.asarray(splits.train.images)[index], dtype=torch.float32)
        mean = torch.tensor(RGB_MEAN).view(1, -1, 1, 1)
        std = torch.tensor(RGB_STD).view(1, -1, 1, 1)
        labels = torch.as_tensor(np.asarray(splits.train.labels)[index], dtype=torch.int64)
        return cls((images - mean) / std, labels, f"CIFAR-10 training images, {size} drawn with seed {seed}")


def _weights(model: nn.Module) -> list[torch.Tensor]:
    """Conv kernels and the dense layer's weight: what the signals are summed over (not BN, not biases)."""
    return [p for p in model.parameters() if p.dim() > 1]


def synflow(model: nn.Module, batch: ProbeBatch) -> float:
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    ones = torch.ones((1, *batch.images.shape[1:]), dtype=torch.float64)
    model(ones).sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in _weights(model))
    return math.log10(total) if total > 0 else -math.inf


def grad_norm(model: nn.Module, batch: ProbeBatch) -> float:
    model.train()
    F.cross_entropy(model(batch.images), batch.labels).backward()
    return float(sum(p.grad.norm() for p in _weights(model)))


def jacob_cov(model: nn.Module, batch: ProbeBatch) -> float:
    model.train()
    images = batch.images.clone().requires_grad_(True)
    model(images).sum().backward()
    jacobian = images.grad.reshape(len(images), -1).double()
    eigenvalues = torch.linalg.eigvalsh(torch.corrcoef(jacobian))
    return float(-(torch.log(eigenvalues + JACOB_COV_K) + 1.0 / (eigenvalues + JACOB_COV_K)).sum())


SIGNALS: dict[str, Callable[[nn.Module, ProbeBatch], float]] = {
    "synflow": synflow,
    "grad_norm": grad_norm,
    "jacob_cov": jacob_cov,
}


def score_cell(
    cell: Cell, batch: ProbeBatch, signals: Iterable[str] = tuple(SIGNALS), seed: int = 0
) -> dict[str, float]:
    """Each signal of one cell and the seconds it took (`<signal>_seconds`), on a network
    initialised from `seed` afresh for every signal (synflow rewrites its weights)."""
    values = {}
    for name in signals:
        if name not in SIGNALS:
            raise ValueError(f"unknown zero-cost signal {name!r}; choose from {', '.join(SIGNALS)}")
        start = time.perf_counter()
        torch.manual_seed(seed)
        value = SIGNALS[name](build_network(cell, ZERO_COST_SHAPE), batch)
        if not math.isfinite(value):
            raise ValueError(
                f"zero-cost signal {name} is {value} for cell {cell.hash}, not a score; "
                "check the probe batch's images (a constant batch gives no correlation)"
            )
        values[name], values[f"{name}_seconds"] = value, time.perf_counter() - start
    return values


def read_cache(cache: Path, seed: int, batch: ProbeBatch) -> dict[str, dict]:
    """The cached records of this seed and batch, by module hash. Every whole line must be a record
    (a last line without its newline is what an interrupted run leaves, and is dropped): a file
    that is something else is refused before anything touches it."""
    if not cache.exists():
        return {}
    try:
        lines = cache.read_bytes().decode().split("\n")[:-1]  # whole lines only
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{cache}: not a zero-cost cache ({error}); pass another cache path") from None
    known = {}
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            if (record["seed"], record["batch"]) == (seed, batch.name):
                known[record["hash"]] = record
        except (json.JSONDecodeError, TypeError, KeyError) as error:
            raise ValueError(
                f"{cache}, line {number}: not a zero-cost record ({error}); pass another cache path"
            ) from None
    drop_torn_tail(cache)
    return known


def cached_scores(
    cells: Sequence[Cell], batch: ProbeBatch, cache: str | Path, seed: int = 0, progress: bool = False
) -> list[dict[str, float]]:
    """`score_cell` of every cell, read from the JSON-lines `cache` where it holds the cell (same
    seed and batch), computed and appended there otherwise: an interrupted run resumes where it stopped.
    A second run on the same cache while one is scoring is refused."""
    cache = Path(cache)
    busy = f"{cache}: another run is scoring into it right now; wait for it or pass another cache path"
    with sole_writer(cache, busy, ValueError):  # one run at a time: a second would cut the line the first one writes
        known = read_cache(cache, seed, batch)
        missing = [cell for cell in dict.fromkeys(cells) if cell.hash not in known]
        for cell in tqdm(missing, desc="zero-cost signals", unit="cell", disable=not progress):
            record = {"hash": cell.hash, "seed": seed, "batch": batch.name, **score_cell(cell, batch, seed=seed)}
            known[cell.hash] = record
            append_record(cache, record)
    return [known[cell.hash] for cell in cells]
