"""Train a list of chosen cells for real and file one result line per cell.

Every cell goes through `train_cell`, which never raises for a bad cell: a spec error,
a diverged or out-of-memory run is filed as a record with its error, and the other
cells go on. Cells already filed as successful for the same budget are skipped, so
an interrupted run is resumed by running the same command again.

With Ray (`pip install .[ray]`), each cell is one Ray task running `train_cell`
(one GPU per task when the cluster has GPUs); results still come back to this
process, which alone writes the results file.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from predictor.child.cell_lists import CellEntry
from predictor.child.cifar import DeviceCifar
from predictor.child.datasets import check_dataset, load_device_data
from predictor.child.results_log import ResultsLog, check_results_log
from predictor.child.training import ExecutionOptions, TrainingProtocol, train_and_evaluate
from predictor.common.ray_support import import_ray


@dataclass(frozen=True)
class VerifySettings:
    """Everything a worker needs to train one cell (picklable, so it can travel to Ray workers)."""

    cifar_path: str
    protocol: TrainingProtocol = field(default_factory=TrainingProtocol)
    options: ExecutionOptions = field(default_factory=ExecutionOptions)
    dataset: str = "cifar10"  # or "digits" (see predictor.child.datasets)


@dataclass
class VerifySummary:
    trained: int = 0
    failed: int = 0
    skipped: int = 0
    records: dict[str, dict] = field(default_factory=dict)  # cell key -> its line (this run's, or the earlier one)


def run_identity(settings: VerifySettings) -> dict:
    """The settings a result line must match to count for this run, as they appear in the line."""
    identity = {"dataset": settings.dataset, "epochs": settings.protocol.epochs, "protocol": asdict(settings.protocol)}
    return json.loads(json.dumps(identity, allow_nan=False))


@functools.lru_cache(maxsize=1)
def _device_data(dataset: str, cifar_path: str, device: str) -> DeviceCifar:
    """The images on the device, loaded once per process and reused for every cell."""
    return load_device_data(dataset, cifar_path, device)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def train_cell(entry: CellEntry, settings: VerifySettings, on_step: Callable[[int, int], None] | None = None) -> dict:
    """Train one listed cell; the returned record has status 'ok' with the metrics, or 'error' with the error."""
    record = {**entry.as_json(), "epochs": settings.protocol.epochs, "dataset": settings.dataset}
    try:
        cell = entry.cell()
        options = settings.options.resolved()
        data = _device_data(settings.dataset, settings.cifar_path, options.device)
        metrics = train_and_evaluate(cell, data, settings.protocol, options, on_step)
        record.update(status="ok", **metrics)
    except Exception as error:  # a bad cell must not stop the others; KeyboardInterrupt still does
        record.update(status="error", error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    record.update(finished_at=_now(), worker=f"{socket.gethostname()}:{os.getpid()}")
    return record


def _train_sequentially(
    pending: Sequence[CellEntry], settings: VerifySettings, log: ResultsLog, summary: VerifySummary, progress: bool
) -> None:
    with tqdm(total=len(pending), desc="cells", unit=" cell", disable=not progress) as cells:
        for entry in pending:
            with tqdm(desc=entry.key[:12], unit=" step", leave=False, disable=not progress) as steps:

                def on_step(done: int, total: int) -> None:
                    if steps.total != total:
                        steps.total = total
                    steps.update(1)

                record = train_cell(entry, settings, on_step)
            _file(record, log, summary, cells)


def _file(record: dict, log: ResultsLog, summary: VerifySummary, cells: tqdm) -> None:
    log.append(record)
    summary.records[record["hash"]] = record
    if record["status"] == "ok":
        summary.trained += 1
        cells.set_postfix(last=f"{record['hash'][:8]} val={record['final_validation_accuracy']:.4f}")
    else:
        summary.failed += 1
        cells.write(f"{record['hash']}: {record['error']}", file=sys.stderr)
    cells.update(1)


def _train_with_ray(
    pending: Sequence[CellEntry],
    settings: VerifySettings,
    log: ResultsLog,
    summary: VerifySummary,
    progress: bool,
    address: str | None,
) -> None:
    """One Ray task per cell, each a call of `train_cell`; results are filed as they complete."""
    ray = import_ray()
    ray.init(address=address, ignore_reinit_error=True)
    gpus = ray.cluster_resources().get("GPU", 0)
    remote_train = ray.remote(num_gpus=1 if gpus else 0)(train_cell)
    running = {remote_train.remote(entry, settings): entry for entry in pending}
    with tqdm(total=len(pending), desc=f"cells (ray, {int(gpus)} GPUs)", unit=" cell", disable=not progress) as cells:
        while running:
            (done,), _ = ray.wait(list(running), num_returns=1)
            entry = running.pop(done)
            try:
                record = ray.get(done)
            except Exception as error:  # the worker itself died (e.g. killed for memory)
                record = {
                    **entry.as_json(),
                    "epochs": settings.protocol.epochs,
                    "dataset": settings.dataset,
                    "status": "error",
                    "error": f"{type(error).__name__}: {error}",
                    "finished_at": _now(),
                }
            _file(record, log, summary, cells)


def verify_cells(
    entries: Sequence[CellEntry],
    settings: VerifySettings,
    out_path: str | Path,
    use_ray: bool = False,
    ray_address: str | None = None,
    progress: bool = True,
) -> VerifySummary:
    """Train every listed cell not yet in `out_path` (with these settings) and append its record there.

    Before anything is written it raises CifarNotFoundError when the data is missing,
    NotAResultsLogError when `out_path` holds something else, SettingsMismatchError when it
    holds results trained otherwise, ResultsLogBusyError when another run is writing to it,
    and RayUnavailableError when Ray is asked for but not installed.
    """
    check_dataset(settings.dataset, settings.cifar_path)
    check_results_log(out_path)
    log = ResultsLog(out_path)
    identity = run_identity(settings)
    log.check_settings(identity)
    if use_ray or ray_address:
        import_ray()
    with log.locked():
        log.repair()
        return _train_pending(entries, settings, log, identity, use_ray, ray_address, progress)


def _train_pending(
    entries: Sequence[CellEntry],
    settings: VerifySettings,
    log: ResultsLog,
    identity: dict,
    use_ray: bool,
    ray_address: str | None,
    progress: bool,
) -> VerifySummary:
    finished = log.finished(identity)
    summary = VerifySummary()
    pending, seen = [], set()
    for entry in entries:
        key = entry.key
        if key in finished or key in seen:
            summary.skipped += 1
            if key in finished:
                summary.records[key] = finished[key]
        else:
            seen.add(key)
            pending.append(entry)
    if use_ray or ray_address:
        _train_with_ray(pending, settings, log, summary, progress, ray_address)
    else:
        _train_sequentially(pending, settings, log, summary, progress)
    return summary
