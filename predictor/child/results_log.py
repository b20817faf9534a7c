"""The results file of a verification run: one JSON object per line, appended as each cell finishes.

Appending a whole line with one write, then flush + fsync, means an interrupted run
leaves at most a partial last line; `repair` drops it before a resumed run appends.
A run resumes by skipping every cell that already has a successful line, with its
metrics, trained with the same settings (dataset, protocol, network size, seed, budget).
A file that is not such a log (another program's output, a cell list) is refused before
anything touches it, and one lock per file keeps two runs from training the same cells.
Lines are standard JSON (a NaN metric is written as null).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from predictor.data.json_lines import append_record, drop_torn_tail, sole_writer

# A successful line must hold these as numbers to count as done.
REQUIRED_METRICS = ("final_validation_accuracy", "final_test_accuracy", "final_training_time")
# Settings that may differ between lines of one file: the budget (one file can hold several).
PER_LINE_SETTINGS = ("epochs",)


class NotAResultsLogError(ValueError):
    """The output path holds something other than a results log; it is left untouched."""


class ResultsLogBusyError(OSError):
    """Another run is appending to the same results file right now."""


class SettingsMismatchError(ValueError):
    """The results file holds results trained with other settings than this run's."""


def check_results_log(path: str | Path) -> None:
    """Raise NotAResultsLogError unless `path` is absent, empty, or JSON lines of objects (a torn last line allowed).

    Reads only; run before anything is repaired or appended, so a mistyped --out cannot damage another file.
    """
    path = Path(path)
    if not path.exists():
        return
    advice = "pass another --out"
    if not path.is_file():
        raise NotAResultsLogError(f"{path}: is not a file; {advice}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotAResultsLogError(f"{path}: is not a results log (not text); {advice}") from None
    lines = text.split("\n")
    torn_tail = lines.pop()  # text after the last newline: empty, or a line torn by a crash
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            raise NotAResultsLogError(f"{path}: line {number} is not a JSON object, so it is no results log; {advice}")
    if torn_tail and not lines and not torn_tail.lstrip().startswith("{"):
        raise NotAResultsLogError(f"{path}: is not a results log; {advice}")


def is_done(record: dict) -> bool:
    """A successful line with its metrics (a line saying 'ok' without them is not a result)."""
    return record.get("status") == "ok" and all(
        isinstance(record.get(name), (int, float)) and not isinstance(record.get(name), bool)
        for name in REQUIRED_METRICS
    )


def settings_differences(record: dict, identity: dict, prefix: str = "") -> list[str]:
    """Each setting in which `record` differs from `identity` (budgets aside), as 'name: file X, run Y'."""
    differences = []
    for name, wanted in identity.items():
        if name in PER_LINE_SETTINGS:
            continue
        found = record.get(name)
        if isinstance(wanted, dict):
            differences += settings_differences(found if isinstance(found, dict) else {}, wanted, f"{prefix}{name}.")
        elif found != wanted:
            differences.append(f"{prefix}{name}: file {found!r}, this run {wanted!r}")
    return differences


class ResultsLog:
    """Append-only JSON-lines file of per-cell results."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def read(self) -> list[dict]:
        """Every complete, parseable record (a torn last line from a crash is ignored)."""
        if not self.path.is_file():
            return []
        records = []
        with open(self.path) as file:
            for line in file:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
        return records

    def finished(self, identity: dict) -> dict[str, dict]:
        """Hash -> record of the cells trained successfully with exactly these settings (setting name -> value)."""
        return {
            r["hash"]: r
            for r in self.read()
            if is_done(r) and "hash" in r and all(r.get(name) == value for name, value in identity.items())
        }

    def check_settings(self, identity: dict) -> None:
        """Raise SettingsMismatchError when a successful line was trained otherwise (budgets aside)."""
        for record in self.read():
            if not is_done(record):
                continue
            differences = settings_differences(record, identity)
            if differences:
                raise SettingsMismatchError(
                    f"{self.path}: holds results trained with other settings ({'; '.join(differences)}); "
                    f"rerun with the same settings to resume, or pass another --out"
                )

    def repair(self) -> int:
        """Drop a last line torn by a crash (bytes removed), so the next record starts on a line of its own."""
        return drop_torn_tail(self.path)

    def append(self, record: dict) -> None:
        """Add one record durably."""
        append_record(self.path, record)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock for a run: a second run on the same file is refused at once.

        The lock is the kernel's advisory lock on the file, released however the process ends.
        A file that the lock created and no run wrote to is removed again.
        """
        created = not self.path.exists()
        busy = f"{self.path}: another run is writing to it right now; wait for it to finish or pass another --out"
        with sole_writer(self.path, busy, ResultsLogBusyError):
            try:
                yield
            finally:
                if created:
                    _remove_if_empty(self.path)


def _remove_if_empty(path: Path) -> None:
    try:
        if path.stat().st_size == 0:
            os.unlink(path)
    except FileNotFoundError:
        pass
