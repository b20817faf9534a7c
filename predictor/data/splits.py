"""Train/eval splits: named sets of modules, stored as row indices plus module hashes.

Random splits of different sizes are prefixes of one seeded permutation, so the
172-module split is inside the 334 one, which is inside the 860 one. `denoise-T`
holds the modules whose 108-epoch final validation accuracy (repeat 0, blown-up runs
replaced as in `NASBench.accuracy`) is above T; `T-N` is the intersection of the two.
Hashes are stored so that a split can be re-applied to another conversion of the data.
A set of splits is written all or none, and replaces existing split files only when told.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from predictor.data.atomic import atomic_outputs
from predictor.data.dataset import NASBench

DEFAULT_SIZES = (172, 334, 860)
DEFAULT_THRESHOLDS = (0.91, 0.80)


class SplitMismatchError(ValueError):
    """A split that does not belong to the dataset it is applied to."""


@dataclass(frozen=True)
class Split:
    name: str
    rows: np.ndarray  # int64, sorted
    hashes: np.ndarray  # S32, same order as rows
    description: str = ""

    def __len__(self) -> int:
        return len(self.rows)


def threshold_name(threshold: float) -> str:
    return f"denoise-{round(threshold * 100)}"


def make_splits(
    bench: NASBench,
    sizes: Sequence[int] = DEFAULT_SIZES,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    seed: int = 0,
) -> dict[str, Split]:
    """All splits of a dataset: `all`, random `N`, `denoise-T` and their intersections `T-N`."""
    n = len(bench)
    _check_distinct_names(sizes, thresholds)
    if max(sizes, default=0) > n:
        raise ValueError(f"split size {max(sizes)} is larger than the dataset ({n} modules)")

    def split(name: str, rows: np.ndarray, description: str) -> Split:
        rows = np.sort(rows).astype(np.int64)
        return Split(name, rows, bench.hashes[rows], description)

    splits = {"all": split("all", np.arange(n), "every module of the file")}
    permutation = np.random.default_rng(seed).permutation(n)
    for size in sizes:
        splits[str(size)] = split(str(size), permutation[:size], f"{size} modules drawn at random (seed {seed})")
    accuracy = bench.accuracy(108, "validation_accuracy", repeat=0)
    for threshold in thresholds:
        good = np.flatnonzero(accuracy > threshold)
        name = threshold_name(threshold)
        splits[name] = split(name, good, f"108-epoch final validation accuracy (repeat 0) > {threshold}")
        prefix = name.removeprefix("denoise-")
        for size in sizes:
            rows = np.intersect1d(splits[str(size)].rows, good)
            splits[f"{prefix}-{size}"] = split(f"{prefix}-{size}", rows, f"split {size} within {name}")
    return splits


def _check_distinct_names(sizes: Sequence[int], thresholds: Sequence[float]) -> None:
    """Two sizes or two thresholds that name the same split file would lose one of the splits."""
    if len(set(sizes)) < len(sizes):
        raise ValueError(f"split sizes {list(sizes)} repeat a size; give each size once")
    by_name: dict[str, float] = {}
    for threshold in thresholds:
        name = threshold_name(threshold)
        if name in by_name:
            raise ValueError(
                f"thresholds {by_name[name]:g} and {threshold:g} both make split {name}; "
                "give thresholds that differ by at least 0.01"
            )
        by_name[name] = threshold


def save_splits(splits: Sequence[Split], directory: str | Path, source: dict, *, force: bool = False) -> list[Path]:
    """Write `directory/NAME.npz` for every split, all or none; existing files are replaced only with `force`.

    `source` records which file the rows index.
    """
    directory = Path(directory)
    paths = [directory / f"{split.name}.npz" for split in splits]
    with atomic_outputs(paths, force=force) as temporaries:
        for split, temporary in zip(splits, temporaries):
            with open(temporary, "wb") as file:
                np.savez(
                    file,
                    rows=split.rows,
                    hashes=split.hashes,
                    meta=np.array(
                        json.dumps({"name": split.name, "description": split.description, **source}, allow_nan=False)
                    ),
                )
    return paths


def split_path(name_or_path: str | Path, directory: str | Path = "splits") -> Path:
    """A split given by name (`172`) or by path (`splits/172.npz`)."""
    path = Path(name_or_path)
    return path if path.suffix == ".npz" else Path(directory) / f"{name_or_path}.npz"


def load_split(name_or_path: str | Path, bench: NASBench, directory: str | Path = "splits") -> Split:
    """Load a split and check it against `bench`; rows are re-derived from hashes if the file order differs."""
    path = split_path(name_or_path, directory)
    if not path.is_file():
        available = sorted(p.stem for p in Path(directory).glob("*.npz")) if Path(directory).is_dir() else []
        raise FileNotFoundError(
            f"split {str(name_or_path)!r} not found at {path}; available: {available or 'none'} "
            "(make them with: python tools/split_train_val.py)"
        )
    rows, hashes, meta = _read_split(path)
    if len(rows) and rows.max() < len(bench) and np.array_equal(bench.hashes[rows], hashes):
        return Split(meta["name"], rows, hashes, meta.get("description", ""))
    try:
        rows = np.sort(bench.rows(hashes.tolist()))
    except KeyError as error:
        raise SplitMismatchError(
            f"split {path} does not belong to {bench.path}: {error} (it was made from "
            f"{meta.get('source_name', '?')}, crc32c {meta.get('source_crc32c', '?')}); "
            "remake the splits for this file with tools/split_train_val.py"
        ) from None
    return Split(meta["name"], rows, bench.hashes[rows], meta.get("description", ""))


def _read_split(path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(rows, hashes, meta) of a split file; ValueError naming the file when it is not a whole split file."""
    try:
        with np.load(path) as stored:
            rows, hashes, meta = stored["rows"], stored["hashes"], json.loads(str(stored["meta"]))
        if not isinstance(meta, dict) or rows.ndim != 1 or rows.shape != hashes.shape:
            raise ValueError("unexpected contents")
        return rows.astype(np.int64), hashes.astype("S32"), meta
    except (EOFError, zipfile.BadZipFile, KeyError, ValueError, AttributeError, TypeError) as error:
        reason = "a required array is missing" if isinstance(error, KeyError) else "truncated or damaged"
        raise ValueError(
            f"{path}: not a readable split file ({reason}); "
            "remake the splits with: python tools/split_train_val.py --force"
        ) from None
