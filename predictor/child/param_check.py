"""Check the network's parameter count against a dataset's `trainable_parameters`, module by module.

An exact match over every module is the evidence that the PyTorch network is the
benchmark's network. Reads the converted HDF5 file (with h5py only) or an official-format
tfrecord (every record is checked; a module appears in up to 12 of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from predictor.child.param_count import count_parameters
from predictor.data.records import read_records

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass
class ParamCheckReport:
    """Rows checked (HDF5 rows or tfrecord records), modules among them, and the rows whose count
    differs as (hash, expected, computed count or error text)."""

    checked: int = 0
    mismatches: list[tuple[str, int, int | str]] = field(default_factory=list)
    _counts: dict[str, int | str] = field(default_factory=dict, repr=False)

    @property
    def modules(self) -> int:
        return len(self._counts)

    def add(self, module_hash: str, expected: int, matrix: np.ndarray, ops) -> None:
        self.checked += 1
        computed = self._counts.get(module_hash)
        if computed is None:
            try:
                computed = count_parameters(matrix, ops)
            except (ValueError, KeyError, IndexError) as error:
                computed = f"{type(error).__name__}: {error}"
            self._counts[module_hash] = computed
        if computed != expected:
            self.mismatches.append((module_hash, int(expected), computed))


def _hdf5_rows(path: Path) -> Iterator[tuple[str, int, np.ndarray, np.ndarray]]:
    with h5py.File(path, "r") as file:
        hashes = file["hash"][:]
        sizes = file["num_vertices"][:]
        adjacency = file["adjacency"][:]
        operations = file["operations"][:]
        expected = file["trainable_parameters"][:]
    for i in range(len(hashes)):
        n = int(sizes[i])
        yield hashes[i].decode(), int(expected[i]), adjacency[i, :n, :n], operations[i, :n].tolist()


def _tfrecord_rows(path: Path) -> Iterator[tuple[str, int, np.ndarray, list[str]]]:
    for record in read_records(path):
        matrix, ops = record.graph()
        yield record.module_hash, record.metrics.trainable_parameters, matrix, ops


def is_hdf5(path: str | Path) -> bool:
    with open(path, "rb") as file:
        return file.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE


def check_parameter_counts(path: str | Path, progress: bool = False) -> ParamCheckReport:
    """Compare every module (HDF5 row or tfrecord record) of `path` with the closed-form count."""
    path = Path(path)
    rows = _hdf5_rows(path) if is_hdf5(path) else _tfrecord_rows(path)
    report = ParamCheckReport()
    for module_hash, expected, matrix, ops in tqdm(
        rows, desc="checking parameter counts", unit=" rows", disable=not progress
    ):
        report.add(module_hash, expected, matrix, ops)
    return report
