"""Cell-list entries and files for the child-training commands' tests."""

from __future__ import annotations

import json
from pathlib import Path

from predictor.child.cell_lists import CellEntry


def entry(matrix, ops, listed_hash: str | None = None) -> CellEntry:
    return CellEntry(listed_hash, tuple(map(tuple, matrix)), tuple(ops))


SMALL = entry([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"])


def write_list(path: Path, entries: list[CellEntry]) -> Path:
    path.write_text(json.dumps([e.as_json() for e in entries]))
    return path
