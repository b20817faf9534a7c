"""Ranking the whole space with a trained predictor: the modules worth training for real.

Every one of the 423,624 modules is scored (not only those a file holds); the recorded
accuracy of a top module is looked up in a dataset where it has one. The JSON written
here is what child training reads: per module its hash, pruned adjacency, op names,
score and recorded validation accuracy (null when not recorded).

The score is the predictor's output, good for ranking only: a setting trained with a
ranking loss or a label floor is not calibrated, and its outputs can lie above the best
accuracy of the whole benchmark, so it is never presented as an accuracy. A model that
gives a non-finite score (a diverged training) is refused instead of ranked.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predictor.data.atomic import atomic_output, write_json
from predictor.search.surrogate import Model

PREDICT_BATCH = 65_536  # modules handed to the model at a time (bounds the memory of one call)


@dataclass(frozen=True)
class RankedModule:
    rank: int
    hash: str
    adjacency: list[list[int]]  # pruned V x V
    ops: list[str]
    score: float  # the predictor's output: higher is better, not a calibrated accuracy
    recorded_validation_accuracy: float | None  # mean 108-epoch final validation accuracy in --data
    recorded_test_accuracy: float | None


def load_predictor(path: str | Path) -> Model:
    """A trained predictor from a checkpoint file (`predictor.gcn.fitted.load`)."""
    from predictor.gcn.fitted import load

    return load(path)


class NonFiniteScoresError(ValueError):
    """The model scored some modules NaN or infinite: its ranking means nothing."""


def score_space(model: Model, space: Any, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """The model's score of every module of `space` (arrays in the HDF5 layout), in chunks; all finite.

    The model picks its own forward batch size and CPU threads (the GCN's defaults, one
    thread and small batches, are the fastest for its 7-vertex graphs).
    """
    scores = np.empty(len(space.hashes), dtype=np.float64)
    for start in range(0, len(scores), batch_size):
        chunk = slice(start, start + batch_size)
        scores[chunk] = np.asarray(
            model.predict(space.adjacency[chunk], space.operations[chunk], space.num_vertices[chunk])
        ).ravel()
    bad = np.flatnonzero(~np.isfinite(scores))
    if len(bad):
        raise NonFiniteScoresError(
            f"the predictor scores {len(bad):,} of {len(scores):,} modules NaN or infinite "
            f"(first: {space.hashes[bad[0]].decode()}); its training diverged: retrain it (e.g. with a lower --lr)"
        )
    return scores


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first (ties by index)."""
    k = min(k, len(scores))
    candidates = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return candidates[np.lexsort((candidates, -scores[candidates]))]


def recorded_accuracies(
    data_path: str | Path | None, hashes: list[str]
) -> dict[str, tuple[float | None, float | None]]:
    """hash -> (mean validation, mean test accuracy) for the hashes the dataset holds."""
    if data_path is None or not Path(data_path).is_file():
        return {}
    from predictor.data.dataset import ModuleNotInDatasetError, NASBench

    found = {}
    with NASBench(data_path) as bench:
        validation = bench.accuracy(108, "validation_accuracy", repeat="mean")
        test = bench.accuracy(108, "test_accuracy", repeat="mean")
        for module_hash in hashes:
            try:
                row = bench.row(module_hash)
            except ModuleNotInDatasetError:
                continue
            found[module_hash] = tuple(None if np.isnan(v) else float(v) for v in (validation[row], test[row]))
    return found


def rank_top_k(
    model: Model, space: Any, k: int, data_path: str | Path | None = None
) -> tuple[list[RankedModule], float]:
    """(the k best modules of the space by score, seconds spent scoring)."""
    start = time.perf_counter()
    scores = score_space(model, space)
    best = top_indices(scores, k)
    seconds = time.perf_counter() - start
    hashes = [space.hashes[i].decode() for i in best]
    recorded = recorded_accuracies(data_path, hashes)
    ranked = []
    for rank, (index, module_hash) in enumerate(zip(best, hashes), start=1):
        cell = space.cell(int(index))
        validation, test = recorded.get(module_hash, (None, None))
        ranked.append(
            RankedModule(
                rank,
                module_hash,
                cell.matrix.astype(int).tolist(),
                list(cell.ops),
                float(scores[index]),
                validation,
                test,
            )
        )
    return ranked, seconds


SCORE_NOTE = (
    "score: the predictor's output x 100, for ranking only (not a calibrated accuracy); "
    "recorded: mean 108-epoch validation accuracy in the data file (%)"
)


def format_table(modules: list[RankedModule], note: str = SCORE_NOTE) -> str:
    lines = [f"{'rank':>4}  {'hash':32}  {'score':>9}  {'recorded':>8}  adjacency rows / interior ops"]
    short = {"conv3x3-bn-relu": "3x3", "conv1x1-bn-relu": "1x1", "maxpool3x3": "mp"}
    for m in modules:
        recorded = "-" if m.recorded_validation_accuracy is None else f"{m.recorded_validation_accuracy * 100:.2f}"
        rows = " ".join("".join(map(str, row)) for row in m.adjacency)
        ops = ",".join(short.get(op, op) for op in m.ops[1:-1])
        lines.append(f"{m.rank:>4}  {m.hash}  {m.score * 100:>9.2f}  {recorded:>8}  {rows}  [{ops}]")
    lines.append(note)
    return "\n".join(lines)


def write_top_k(path: str | Path, modules: list[RankedModule], force: bool = False) -> None:
    """JSON list of objects (or CSV when the name ends in .csv, adjacency and ops as JSON strings).

    Refuses to replace an existing file unless `force`.
    """
    path = Path(path)
    records = [asdict(m) for m in modules]
    if path.suffix != ".csv":
        write_json(records, path, force=force)
        return
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(records[0]) if records else ["hash"])
    writer.writeheader()
    for record in records:
        writer.writerow(
            {
                key: json.dumps(value, allow_nan=False) if isinstance(value, list) else value
                for key, value in record.items()
            }
        )
    with atomic_output(path, force=force) as temporary:
        temporary.write_text(text.getvalue(), newline="")
