"""tfrecord -> HDF5: stream the official records into the project's one-file dataset.

Blocks of whole records are decoded in worker processes (JSON, base64, protobuf are
the cost); the parent only assigns rows and repeat indices and keeps compact numpy
arrays, never one Python object per record, so memory stays bounded on the 5-million
record release. The output is written to a temporary file and renamed at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import google_crc32c
import h5py
import numpy as np
from tqdm import tqdm

from predictor.data.atomic import atomic_output, check_output, write_error
from predictor.data.cell import MAX_VERTICES, OP_CODES
from predictor.data.records import (
    Block,
    RecordError,
    decode_fields,
    decode_metrics,
    frames,
    parse_graph,
    plain_fields,
    read_blocks,
)
from predictor.data.schema import BUDGETS, EVALUATION_POINTS, FORMAT_VERSION, METRIC_FIELDS, NUM_REPEATS
from predictor.data.workers import imap

_NAN = float("nan")
_BUDGET_INDEX = {budget: i for i, budget in enumerate(BUDGETS)}


@dataclass
class DecodedBlock:
    """What a worker sends back for a block: one compact row per record."""

    first_index: int
    hashes: np.ndarray  # (n,) S32
    offsets: np.ndarray  # (n,) int64, byte offset of each record (for error messages)
    epochs: np.ndarray  # (n,) int32
    values: np.ndarray  # (n, 2, 4) float32, NaN where the record holds no value
    parameters: np.ndarray  # (n,) int64, -1 where absent
    graph_records: np.ndarray  # (k,) int64: the first record of each module new to the worker, by position in the block
    adjacency: np.ndarray  # (k, 7, 7) int8: those modules' graphs
    operations: np.ndarray  # (k, 7) int8
    num_vertices: np.ndarray  # (k,) int8


_graphs_seen: dict[bytes, tuple[bytes, bytes]] = {}  # per process: first graph of every hash this process decoded


def _reset_worker() -> None:
    _graphs_seen.clear()


def _point_values(point) -> list[float]:
    """[training_time, train, validation, test accuracy] of an EvaluationData, NaN where unset.

    An unset proto2 double reads as 0.0, and a real value is never exactly 0.0 in
    practice, so presence is only asked for (a slower call) when a value reads 0.0.
    """
    values = [point.training_time, point.train_accuracy, point.validation_accuracy, point.test_accuracy]
    if not all(values):
        for slot, name in enumerate(METRIC_FIELDS):
            if values[slot] == 0.0 and not point.HasField(name):
                values[slot] = _NAN
    return values


def _fields(data: bytes) -> tuple[bytes, int, bytes, bytes, bytes]:
    """A record's JSON fields as bytes: the plain official layout directly, else via the JSON parser."""
    plain = plain_fields(data)
    if plain:
        return plain
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = decode_fields(data)
    return module_hash.encode(), epochs, raw_adjacency.encode(), raw_operations.encode(), raw_metrics.encode()


def _padded_graph(raw_adjacency: bytes, raw_operations: bytes) -> tuple[np.ndarray, np.ndarray, int]:
    matrix, ops = parse_graph(raw_adjacency.decode(), raw_operations.decode())
    if len(ops) > MAX_VERTICES:
        raise ValueError(f"{len(ops)} vertices; at most {MAX_VERTICES} allowed")
    adjacency = np.zeros((MAX_VERTICES, MAX_VERTICES), np.int8)
    adjacency[: len(ops), : len(ops)] = matrix
    codes = np.zeros(MAX_VERTICES, np.int8)
    codes[: len(ops)] = [OP_CODES[op] for op in ops]
    return adjacency, codes, len(ops)


def decode_block(block: Block) -> DecodedBlock:
    """Decode every record of a block; checks CRCs, JSON, metrics and graph consistency.

    This is the converter's hot loop (5 million records): it stays flat on purpose.
    """
    hashes, epochs, offsets, parameters, flat_values = [], [], [], [], []
    graph_records, graphs = [], []
    for index, offset, data in frames(block):
        try:
            key, budget, raw_adjacency, raw_operations, raw_metrics = _fields(data)
            if len(key) != 32:
                raise ValueError(f"module hash {key.decode()!r} is not 32 hex characters")
            seen = _graphs_seen.get(key)
            if seen is None:
                graph_records.append(len(hashes))
                graphs.append(_padded_graph(raw_adjacency, raw_operations))
                _graphs_seen[key] = (raw_adjacency, raw_operations)
            elif seen[0] != raw_adjacency or seen[1] != raw_operations:
                raise ValueError(
                    f"module {key.decode()} appears with two different graphs: "
                    f"{seen[0].decode()},{seen[1].decode()} and {raw_adjacency.decode()},{raw_operations.decode()}"
                )
            metrics = decode_metrics(raw_metrics)
            points = metrics.evaluation_data
            if len(points) != 3:
                raise ValueError(f"expected 3 evaluation points (start, halfway, end), found {len(points)}")
        except ValueError as error:
            raise RecordError(block.path, index, offset, str(error)) from None
        flat_values += _point_values(points[1])
        flat_values += _point_values(points[2])
        hashes.append(key)
        epochs.append(budget)
        offsets.append(offset)
        parameters.append(metrics.trainable_parameters if metrics.HasField("trainable_parameters") else -1)
    return DecodedBlock(
        first_index=block.first_index,
        hashes=np.array(hashes, dtype="S32"),
        offsets=np.array(offsets, dtype=np.int64),
        epochs=np.array(epochs, dtype=np.int32),
        values=np.array(flat_values, dtype=np.float32).reshape(-1, 2, 4),
        parameters=np.array(parameters, dtype=np.int64),
        graph_records=np.array(graph_records, dtype=np.int64),
        adjacency=np.array([g[0] for g in graphs], dtype=np.int8).reshape(-1, MAX_VERTICES, MAX_VERTICES),
        operations=np.array([g[1] for g in graphs], dtype=np.int8).reshape(-1, MAX_VERTICES),
        num_vertices=np.array([g[2] for g in graphs], dtype=np.int8),
    )


class _Rows:
    """Module rows in order of first appearance, and the repeats seen per (row, budget)."""

    def __init__(self, path: str):
        self.path = path
        self.row_of: dict[bytes, int] = {}
        self.adjacency = np.zeros((1024, MAX_VERTICES, MAX_VERTICES), np.int8)
        self.operations = np.zeros((1024, MAX_VERTICES), np.int8)
        self.num_vertices = np.zeros(1024, np.int8)
        self.parameters = np.full(1024, -1, np.int64)
        self.repeats_seen = np.zeros((1024, len(BUDGETS)), np.int8)

    def __len__(self) -> int:
        return len(self.row_of)

    def _grow(self, size: int) -> None:
        capacity = len(self.num_vertices)
        if size <= capacity:
            return
        capacity = max(size, 2 * capacity)
        for name in ("adjacency", "operations", "num_vertices", "parameters", "repeats_seen"):
            old = getattr(self, name)
            new = (
                np.zeros((capacity, *old.shape[1:]), old.dtype)
                if name != "parameters"
                else np.full(capacity, -1, old.dtype)
            )
            new[: len(old)] = old
            setattr(self, name, new)

    def add(self, decoded: DecodedBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, budget index, repeat index) of every record of a decoded block."""
        # A module's records sit together, so look up each distinct hash once, in order of first appearance.
        distinct, first, inverse = np.unique(decoded.hashes, return_index=True, return_inverse=True)
        row_of_distinct = np.empty(len(distinct), np.int64)
        in_order = np.argsort(first)
        setdefault = self.row_of.setdefault
        row_of_distinct[in_order] = [setdefault(key, len(self.row_of)) for key in distinct[in_order].tolist()]
        rows = row_of_distinct[inverse.ravel()]
        self._grow(len(self.row_of))

        graph_rows = rows[decoded.graph_records]
        known = self.num_vertices[graph_rows] > 0  # seen in an earlier block (by another worker)
        fresh = graph_rows[~known]
        self.adjacency[fresh] = decoded.adjacency[~known]
        self.operations[fresh] = decoded.operations[~known]
        self.num_vertices[fresh] = decoded.num_vertices[~known]
        differs = known & (
            (self.num_vertices[graph_rows] != decoded.num_vertices)
            | (self.adjacency[graph_rows] != decoded.adjacency).any(axis=(1, 2))
            | (self.operations[graph_rows] != decoded.operations).any(axis=1)
        )
        if differs.any():
            bad = int(decoded.graph_records[np.flatnonzero(differs)[0]])
            raise RecordError(
                self.path,
                decoded.first_index + bad,
                int(decoded.offsets[bad]),
                f"module {decoded.hashes[bad].decode()} appears with two different graphs",
            )

        budgets = np.full(len(rows), -1, np.int64)
        for budget, budget_index in _BUDGET_INDEX.items():
            budgets[decoded.epochs == budget] = budget_index
        if (budgets < 0).any():
            bad = int(np.flatnonzero(budgets < 0)[0])
            raise RecordError(
                self.path,
                decoded.first_index + bad,
                int(decoded.offsets[bad]),
                f"epoch budget {int(decoded.epochs[bad])} is not one of {BUDGETS}",
            )
        # Repeat index = order of appearance for (row, budget): earlier blocks, then earlier in this block.
        keys = rows * len(BUDGETS) + budgets
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        group_start = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        rank = np.arange(len(keys)) - np.repeat(group_start, np.diff(np.r_[group_start, len(keys)]))
        repeats = np.empty(len(keys), np.int64)
        repeats[order] = rank
        repeats += self.repeats_seen[rows, budgets]
        if (repeats >= NUM_REPEATS).any():
            bad = int(np.flatnonzero(repeats >= NUM_REPEATS)[0])
            raise RecordError(
                self.path,
                decoded.first_index + bad,
                int(decoded.offsets[bad]),
                f"more than {NUM_REPEATS} repeats of module {decoded.hashes[bad].decode()} at {BUDGETS[budgets[bad]]} epochs",
            )
        np.maximum.at(self.repeats_seen, (rows, budgets), (repeats + 1).astype(np.int8))

        has_parameters = decoded.parameters >= 0
        first_parameters = self.parameters[rows[has_parameters]] < 0
        self.parameters[rows[has_parameters][first_parameters]] = decoded.parameters[has_parameters][first_parameters]
        return rows, budgets, repeats


def _decoded_blocks(path: str, workers: int) -> Iterator[tuple[Block, DecodedBlock]]:
    """Decoded blocks in file order, decoded by `workers` processes (or inline for 1)."""
    in_flight: list[Block] = []  # blocks handed to the workers, in order; answers come in the same order

    def handed_out(stream: Iterator[Block]) -> Iterator[Block]:
        for block in stream:
            in_flight.append(block)
            yield block

    for decoded in imap(decode_block, handed_out(read_blocks(path)), workers, initializer=_reset_worker):
        yield in_flight.pop(0), decoded


def convert(
    source: str | Path,
    output: str | Path,
    *,
    force: bool = False,
    workers: int | None = None,
    progress: bool = True,
    on_block: Callable[[int], None] | None = None,
) -> dict:
    """Convert a NAS-Bench-101 tfrecord to the HDF5 schema of the project; returns a summary.

    Refuses to overwrite `output` unless `force`, and an `output` that is `source` under any
    name; writes `output` atomically, so an interruption leaves nothing behind.
    """
    source, output = Path(source), Path(output)
    check_source(source)
    check_output(output, force=force)
    if output.exists() and os.path.samefile(source, output):
        raise ValueError(f"{output} is the input file {source}; choose another --output")
    workers = workers or min(2, os.cpu_count() or 1)
    started = time.perf_counter()
    rows = _Rows(str(source))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    checksum = 0
    num_records = 0
    with tqdm(total=source.stat().st_size, unit="B", unit_scale=True, desc="converting", disable=not progress) as bar:
        for block, decoded in _decoded_blocks(str(source), workers):
            checksum = google_crc32c.extend(checksum, block.data)
            parts.append((*rows.add(decoded), decoded.values))
            num_records += len(decoded.hashes)
            bar.update(len(block.data))
            bar.set_postfix(records_per_s=f"{num_records / (time.perf_counter() - started):,.0f}", refresh=False)
            if on_block:
                on_block(num_records)
    if num_records == 0:
        raise RecordError(source, 0, 0, "the file holds no records")

    n = len(rows)
    metrics = np.full((n, len(BUDGETS), NUM_REPEATS, len(EVALUATION_POINTS), len(METRIC_FIELDS)), np.nan, np.float32)
    for record_rows, budgets, repeats, values in parts:
        metrics[record_rows, budgets, repeats] = values
    del parts
    hashes = np.empty(n, dtype="S32")
    for key, row in rows.row_of.items():
        hashes[row] = key

    _write_hdf5(
        output,
        {
            "hash": hashes,
            "num_vertices": rows.num_vertices[:n],
            "trainable_parameters": rows.parameters[:n].astype(np.int32),
            "adjacency": rows.adjacency[:n],
            "operations": rows.operations[:n],
            "metrics": metrics,
        },
        {
            "source_name": source.name,
            "source_size": source.stat().st_size,
            "source_crc32c": f"{checksum:08x}",
            "num_records": num_records,
            "format_version": FORMAT_VERSION,
            "budgets": np.array(BUDGETS, np.int32),
            "metrics_axes": "module, budget (epochs 4/12/36/108), repeat, point (halfway/final), field",
            "metrics_fields": ",".join(METRIC_FIELDS),
        },
        force,
    )
    return {"modules": n, "records": num_records, "seconds": time.perf_counter() - started}


def check_source(source: Path) -> None:
    """Refuse an input that is not a readable file, saying what it is instead."""
    if source.is_dir():
        raise IsADirectoryError(f"{source} is a directory; give the tfrecord file inside it with --input")
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file; give an existing tfrecord with --input")


def _write_hdf5(output: Path, datasets: dict[str, np.ndarray], attributes: dict, force: bool) -> None:
    with atomic_output(output, force=force) as temporary:
        try:
            with h5py.File(temporary, "w") as file:
                for name, array in datasets.items():
                    file.create_dataset(name, data=array)
                file.attrs.update(attributes)
        except (OSError, RuntimeError) as error:  # h5py's messages span lines and name the temporary file
            raise write_error(output, error) from None
