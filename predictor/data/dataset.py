"""The dataset: the converted HDF5 file behind a small query API like the official `nasbench` one.

Opening reads only the hash column (for lookups); the metrics block is read once, on
first use. Metric names are the official ones (`final_validation_accuracy`, ...).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path

import h5py
import numpy as np

from predictor.data.cell import Cell
from predictor.data.graph import OUTPUT_LABEL, rows_by_hash
from predictor.data.schema import BUDGETS, DATASETS, EVALUATION_POINTS, METRIC_FIELDS, NUM_REPEATS, SHAPES

BLOWN_UP_ACCURACY = 0.2  # a final accuracy below this is a run that diverged (~10% = chance)


class ModuleNotInDatasetError(KeyError):
    """A valid cell that this file does not hold (the real sample holds 20,031 of 423,624)."""

    def __str__(self) -> str:
        return str(self.args[0])


class NASBench:
    """Read-only access to a converted NAS-Bench-101 HDF5 file."""

    def __init__(self, path: str | Path = "data/nasbench.hdf5"):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"{self.path}: no such file. Convert the official tfrecord first: "
                "python tools/nasbench_tfrecord_converter.py --input PATH.tfrecord --output " + str(self.path)
            )
        with open(self.path, "rb"):  # a file that cannot be read says so (permission denied), not "not HDF5"
            pass
        try:
            self._file = h5py.File(self.path, "r")
        except OSError:
            raise ValueError(
                f"{self.path}: not an HDF5 file (truncated, or another format); "
                "make one with tools/nasbench_tfrecord_converter.py"
            ) from None
        missing = set(DATASETS) - set(self._file)
        if missing:
            raise ValueError(f"{self.path}: not a NAS-Bench-101 HDF5 file (missing datasets {sorted(missing)})")
        self._check_shapes()
        self.hashes: np.ndarray = self._file["hash"][:].astype("S32")
        self.attrs = dict(self._file.attrs)

    def _check_shapes(self) -> None:
        """Every dataset holds one row per module, in the schema's layout (else reads fail far from the cause)."""
        rows = self._file["hash"].shape[:1]
        for name, tail in SHAPES.items():
            shape = self._file[name].shape
            if shape != rows + tail:
                expected = ", ".join(map(str, rows + tail))
                raise ValueError(
                    f"{self.path}: dataset {name!r} has shape {shape}, expected ({expected}) "
                    "(damaged or another layout); convert the tfrecord again"
                )

    def __len__(self) -> int:
        return len(self.hashes)

    def __iter__(self) -> Iterator[str]:
        """Module hashes, in file order."""
        return (h.decode() for h in self.hashes)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> NASBench:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- whole columns, loaded once -------------------------------------------------
    @cached_property
    def num_vertices(self) -> np.ndarray:
        return self._file["num_vertices"][:]

    @cached_property
    def trainable_parameters(self) -> np.ndarray:
        return self._file["trainable_parameters"][:]

    @cached_property
    def adjacency(self) -> np.ndarray:
        return self._integers("adjacency", lambda a: (a == 0) | (a == 1), "0 or 1")

    @cached_property
    def operations(self) -> np.ndarray:
        return self._integers("operations", lambda a: (a >= OUTPUT_LABEL) & (a < 64), "op codes")

    def _integers(self, name: str, valid, meaning: str) -> np.ndarray:
        """A column of whole numbers as int8; a fraction (1.7) or a value out of range is an error, never rounded."""
        values = self._file[name][:]
        bad = ~valid(values) | (values != np.round(values))
        if bad.any():
            where = tuple(np.argwhere(bad)[0])
            raise ValueError(
                f"{self.path}: dataset {name!r} holds {values[where].item()!r} at row {where[0]}, "
                f"expected {meaning}; convert the tfrecord again"
            )
        return values.astype(np.int8)

    @cached_property
    def metrics(self) -> np.ndarray:
        """(N, budget, repeat, halfway/final, field) float32; NaN where the source holds nothing."""
        return self._file["metrics"][:]

    @cached_property
    def _row_of_hash(self) -> dict[bytes, int]:
        return rows_by_hash(self.hashes)

    @cached_property
    def budgets(self) -> tuple[int, ...]:
        """Budgets (epochs) for which this file holds at least one value."""
        present = ~np.isnan(self.metrics).all(axis=(0, 2, 3, 4))
        return tuple(b for b, p in zip(BUDGETS, present) if p)

    # --- lookups ------------------------------------------------------------------
    def row(self, module_hash: str | bytes) -> int:
        """Row index of a module hash; ModuleNotInDatasetError when the file does not hold it."""
        key = module_hash.encode() if isinstance(module_hash, str) else module_hash
        row = self._row_of_hash.get(key)
        if row is None:
            raise ModuleNotInDatasetError(f"module {key.decode()} is not in {self.path} ({len(self)} modules)")
        return row

    def rows(self, module_hashes: Sequence[str | bytes]) -> np.ndarray:
        return np.array([self.row(h) for h in module_hashes], dtype=np.int64)

    def cell(self, row: int) -> Cell:
        return Cell.from_padded(self.adjacency[row], self.operations[row], self.num_vertices[row])

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict[int, list[dict]]]:
        """(fixed metrics, {budget: [one dict per repeat]}), like the official API; NaN values left out."""
        row = self.row(module_hash)
        cell = self.cell(row)
        fixed = {
            "module_adjacency": cell.matrix.astype(int).tolist(),
            "module_operations": list(cell.ops),
            "trainable_parameters": int(self.trainable_parameters[row]),
        }
        computed = {}
        values = self._file["metrics"][row]
        for b, budget in enumerate(BUDGETS):
            runs = [_named(values[b, r]) for r in range(NUM_REPEATS) if not np.isnan(values[b, r]).all()]
            if runs:
                computed[budget] = runs
        return fixed, computed

    def query(
        self,
        cell: Cell,
        epochs: int = 108,
        repeat: int | str = "random",
        stop_halfway: bool = False,
        rng: np.random.Generator | None = None,
    ) -> dict:
        """Metrics of a cell at a budget, with the official key names.

        repeat: "random" (one stored repeat at random, like the official API), an index,
        or "mean" (per metric, the mean over the repeats that hold a value). A metric the
        file holds for no repeat (the sample has no test accuracy) is NaN.
        """
        _check_query(cell, epochs, repeat, stop_halfway)
        row = self.row(cell.hash)
        values = self._file["metrics"][row, BUDGETS.index(epochs), :, 0 if stop_halfway else 1]
        stored = [r for r in range(NUM_REPEATS) if not np.isnan(values[r]).all()]
        if not stored:
            raise ValueError(f"{self.path} holds no {epochs}-epoch run of module {cell.hash}")
        if repeat == "random":
            chosen = values[(rng or np.random.default_rng()).choice(stored)]
        elif repeat == "mean":
            chosen = _mean_of_present(values[stored])
        elif repeat in stored:
            chosen = values[repeat]
        else:
            raise ValueError(f"repeat {repeat} is not stored for module {cell.hash}; stored repeats: {stored}")
        return {
            "module_adjacency": cell.matrix.astype(int).tolist(),
            "module_operations": list(cell.ops),
            "trainable_parameters": int(self.trainable_parameters[row]),
            **{field: float(v) for field, v in zip(METRIC_FIELDS, chosen)},
        }

    def accuracy(
        self,
        budget: int = 108,
        field: str = "validation_accuracy",
        repeat: int | str = 0,
        point: str = "final",
    ) -> np.ndarray:
        """One value per module (N,): a given repeat, or "mean" over the stored repeats.

        Blown-up runs (accuracy < 0.2) are set aside: an integer repeat that is blown up
        or missing falls back to another sound repeat; "mean" averages the sound ones.
        A module with no sound run keeps the mean of what is stored; NaN only where
        nothing is stored.
        """
        values = self.metrics[:, BUDGETS.index(budget), :, EVALUATION_POINTS.index(point), METRIC_FIELDS.index(field)]
        blown = values < BLOWN_UP_ACCURACY if field.endswith("accuracy") else np.zeros(values.shape, bool)
        sound = np.where(blown, np.nan, values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no value, by design
            result = np.nanmean(sound, axis=1) if repeat == "mean" else sound[:, repeat].copy()
            for other in range(NUM_REPEATS):
                missing = np.isnan(result)
                result[missing] = sound[missing, other]
            missing = np.isnan(result)
            result[missing] = np.nanmean(values[missing], axis=1)
        return result


def _check_query(cell: Cell, epochs: int, repeat: int | str, stop_halfway: bool) -> None:
    """Say which argument of `query` is wrong, and how (a string "108" is not the budget 108)."""
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a Cell (Cell.from_spec(matrix, ops)), got {type(cell).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)):
        raise TypeError(f"epochs must be an int, one of {BUDGETS}; got {epochs!r} ({type(epochs).__name__})")
    if epochs not in BUDGETS:
        raise ValueError(f"budget {epochs} is not one of {BUDGETS} (epochs)")
    if isinstance(repeat, str):
        if repeat not in ("random", "mean"):
            raise ValueError(f"repeat must be 'random', 'mean' or an index 0-{NUM_REPEATS - 1}; got {repeat!r}")
    elif isinstance(repeat, bool) or not isinstance(repeat, (int, np.integer)):
        raise TypeError(
            f"repeat must be 'random', 'mean' or an int index 0-{NUM_REPEATS - 1}; got {repeat!r} ({type(repeat).__name__})"
        )
    elif not 0 <= repeat < NUM_REPEATS:
        raise ValueError(f"repeat must be an index 0-{NUM_REPEATS - 1}; got {repeat}")
    if not isinstance(stop_halfway, (bool, np.bool_)):
        raise TypeError(f"stop_halfway must be True or False; got {stop_halfway!r}")


def _mean_of_present(runs: np.ndarray) -> np.ndarray:
    """Per column, the mean of the values present; NaN (without a warning) where no run holds one."""
    present = ~np.isnan(runs)
    counts = present.sum(axis=0)
    totals = np.where(present, runs, 0.0).sum(axis=0, dtype=np.float64)
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def _named(values: np.ndarray) -> dict:
    """Official metric names for one run: halfway_* and final_* of each field; NaN left out."""
    named = {}
    for p, point in enumerate(EVALUATION_POINTS):
        for f, field in enumerate(METRIC_FIELDS):
            if not np.isnan(values[p, f]):
                named[f"{point}_{field}"] = float(values[p, f])
    return named
