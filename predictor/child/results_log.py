"""The results file of a verification run: one JSON object per line, appended as each cell finishes.

Appending a whole line with one write, then flush + fsync, means an interrupted run
leaves at most a partial last line; `repair` drops it before a resumed run appends,
and the run resumes by skipping every cell that already has a successful line for
the same budget. Lines are standard JSON (a NaN metric is written as null).
"""

from __future__ import annotations

import json
from pathlib import Path

from predictor.data.json_lines import append_record, drop_torn_tail


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

    def finished(self, epochs: int, dataset: str = "cifar10") -> set[str]:
        """Hashes already trained successfully for `epochs` epochs on `dataset` (a record without one: CIFAR-10)."""
        return {
            r["hash"]
            for r in self.read()
            if r.get("status") == "ok"
            and r.get("epochs") == epochs
            and r.get("dataset", "cifar10") == dataset
            and "hash" in r
        }

    def repair(self) -> int:
        """Drop a last line torn by a crash (bytes removed), so the next record starts on a line of its own."""
        return drop_torn_tail(self.path)

    def append(self, record: dict) -> None:
        """Add one record durably."""
        append_record(self.path, record)
