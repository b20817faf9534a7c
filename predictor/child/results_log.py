"""The results file of a verification run: one JSON object per line, appended as each cell finishes.

Appending a whole line with one write, then flush + fsync, means an interrupted run
leaves at most a partial last line; reading skips such a line, and the run resumes
by skipping every cell that already has a successful line for the same budget.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


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

    def append(self, record: dict) -> None:
        """Add one record durably (starting a new line if a crash left a torn one)."""
        line = json.dumps(record, sort_keys=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as file:
            if file.tell() > 0:
                file.seek(-1, os.SEEK_END)
                if file.read(1) != b"\n":
                    line = "\n" + line
            file.write(line.encode())
            file.flush()
            os.fsync(file.fileno())
