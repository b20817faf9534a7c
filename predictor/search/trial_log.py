"""Finished trials on disk as they come in, so a long comparison survives an interruption.

`OUT_DIR/trials.jsonl`: a first line naming the run (data file and a digest of its bytes,
budget, seed, settings), then one line per finished trial. `--resume` reruns only the trials
the file does not hold, and refuses a file written for another run (the same path holding
other data included) or a trial that does not fit the run. The file is touched only when a
trial has finished, so a run refused at the start leaves an earlier log as it was. One
comparison at a time writes a log: `log_lock` holds an exclusive lock on a file beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from predictor.data.atomic import atomic_output
from predictor.data.json_lines import append_record, drop_torn_tail, record_line, sole_writer
from predictor.search.runner import TrialResult


def run_identity(data: str | Path, pool_size: int, budget: int, seed: int, settings: object) -> dict:
    settings_dict = settings.to_dict() if hasattr(settings, "to_dict") else repr(settings)
    return {
        "data": str(Path(data).resolve()),
        "data_sha256": file_digest(data),
        "pool_size": pool_size,
        "budget": budget,
        "seed": seed,
        "settings": json.loads(json.dumps(settings_dict, default=str, allow_nan=False)),
    }


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes: the same path holding other data is another run (a second per GB)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@contextmanager
def log_lock(path: str | Path) -> Iterator[None]:
    """Hold the log's lock (a hidden file beside it) while the block runs; refuse if another run holds it."""
    path = Path(path)
    busy = (
        f"{path} is being written by another comparison right now; wait for it to finish, or choose another --out-dir"
    )
    with sole_writer(path.with_name(f".{path.name}.lock"), busy):
        yield


def read_trials(path: str | Path, identity: dict) -> dict[tuple[str, int], TrialResult]:
    """Trials recorded for this run; an empty dict when there is no file."""
    path = Path(path)
    if not path.is_file():
        return {}
    lines = path.read_text().splitlines()
    if not lines:
        return {}
    recorded = _parse(path, 1, lines[0])
    if not isinstance(recorded, dict):
        raise ValueError(f"{path} line 1: not a run's description; use another --out-dir, or --restart to discard it")
    if recorded != identity:
        differs = sorted(key for key in {**recorded, **identity} if recorded.get(key) != identity.get(key))
        raise ValueError(
            f"{path} records another run (its {', '.join(differs)} differ); "
            "use another --out-dir, or --restart to discard its trials"
        )
    trials = {}
    for number, line in enumerate(lines[1:], start=2):
        if number == len(lines) and not _ends_with_newline(path):
            continue  # a line cut short by the interruption
        result = _trial(_parse(path, number, line), identity)
        if isinstance(result, str):
            raise ValueError(
                f"{path} line {number}: {result}; not a trial of this run, so --resume cannot use the file "
                "(--restart discards its trials)"
            )
        trials[(result.strategy, result.trial)] = result
    return trials


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


def _parse(path: Path, number: int, line: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} line {number}: not JSON ({error.msg}, column {error.colno}); --restart discards the file's trials"
        ) from None


_TRIAL_FIELDS = ("strategy", "trial", "budget", "rows", "observed", "edit_distances", "seconds")


def _trial(item, identity: dict) -> TrialResult | str:
    """The trial a log line records, or what is wrong with it."""
    if not isinstance(item, dict):
        return f"expected a trial record, got {type(item).__name__}"
    missing = [name for name in _TRIAL_FIELDS if name not in item]
    if missing:
        return f"the trial record lacks {', '.join(missing)}"
    if item["budget"] != identity["budget"]:
        return f"a trial of budget {item['budget']}, this run's is {identity['budget']}"
    if not isinstance(item["strategy"], str) or not isinstance(item["trial"], int) or item["trial"] < 0:
        return "the strategy must be a name and the trial a number >= 0"
    try:
        result = TrialResult(
            item["strategy"],
            item["trial"],
            np.array(item["rows"], dtype=np.int64),
            np.array(item["observed"], dtype=np.float64),  # null: a query without a value
            np.array(item["edit_distances"], dtype=np.int64),
            float(item["seconds"]),
            np.array(item.get("poisoned", []), dtype=bool),
        )
    except (TypeError, ValueError) as error:
        return f"a field is not what a trial records ({error})"
    queries = len(result.rows)
    if result.rows.ndim != 1 or not 0 < queries <= identity["budget"]:
        return f"{queries} queries, this run's budget is {identity['budget']}"
    if len(result.observed) != queries or ((result.rows < 0) | (result.rows >= identity["pool_size"])).any():
        return f"its rows and values do not fit a pool of {identity['pool_size']:,} modules"
    return result


def recorded_trials(path: str | Path) -> int:
    """How many finished trials a log holds (0 when there is no file)."""
    path = Path(path)
    if not path.is_file():
        return 0
    with open(path, "rb") as file:
        return max(0, sum(1 for line in file if line.endswith(b"\n")) - 1)


class TrialWriter:
    """Appends each finished trial to the file, after the identity line.

    Nothing is written before the first trial finishes. `keep`: continue the file (a line
    torn by an interruption is dropped first); otherwise the first trial starts it anew.
    """

    def __init__(self, path: str | Path, identity: dict, keep: bool):
        self.path = Path(path)
        self.identity = identity
        self.keep = keep
        self._started = False

    def _start(self) -> None:
        if self.keep:
            drop_torn_tail(self.path)
        if not (self.keep and self.path.is_file() and self.path.stat().st_size):
            with atomic_output(self.path, force=True) as temporary:
                temporary.write_text(record_line(self.identity))
        self._started = True

    def __call__(self, result: TrialResult) -> None:
        if not self._started:
            self._start()
        append_record(
            self.path,
            {
                "strategy": result.strategy,
                "trial": result.trial,
                "budget": self.identity["budget"],
                "rows": result.rows.tolist(),
                "observed": result.observed.tolist(),
                "edit_distances": result.edit_distances.tolist(),
                "seconds": result.seconds,
                "poisoned": result.poisoned.tolist(),
            },
        )
