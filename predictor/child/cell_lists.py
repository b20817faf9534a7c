"""Lists of cells to train, as written by the search command (JSON) or by hand (CSV).

JSON: a list of objects, each with at least
    {"hash": "00005c14...", "adjacency": [[0, 1, ...], ...], "ops": ["input", ..., "output"]}
(other keys, such as a predicted accuracy, are ignored; an object {"cells": [...]} is
accepted as well).

CSV: a header row with the columns `hash`, `adjacency`, `ops` (others ignored):
    hash,adjacency,ops
    00005c14...,0100110/0010000/0001001/0000010/0000010/0000001/0000000,"input,conv3x3-bn-relu,...,output"
`adjacency` is the row-major '0'/'1' string (separators '/', ' ', ',' and ';' are
ignored) or a JSON list of lists; `ops` is comma/semicolon/'|'-separated names, dataset
op codes (-1 input, -2 output, 0 conv3x3, 1 conv1x1, 2 maxpool) or a JSON list.

`hash` may be empty: it is then computed from the spec. When given, it must be the
official hash of the (pruned) spec; a disagreement is reported for that cell only.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from predictor.data.cell import Cell

REQUIRED_COLUMNS = ("adjacency", "ops")


@dataclass(frozen=True)
class CellEntry:
    """One cell to train, as listed; `cell()` validates it."""

    hash: str | None
    adjacency: tuple[tuple[int, ...], ...]
    ops: tuple[str | int, ...]

    def cell(self) -> Cell:
        """The validated, pruned cell; raises ValueError when the spec or its listed hash is wrong."""
        cell = Cell.from_spec(self.adjacency, self.ops)
        if self.hash and cell.hash != self.hash:
            raise ValueError(f"listed hash {self.hash} differs from the spec's module hash {cell.hash}")
        return cell

    @property
    def key(self) -> str:
        """The name results are filed under: the listed hash, else the computed one, else the raw spec."""
        if self.hash:
            return self.hash
        try:
            return Cell.from_spec(self.adjacency, self.ops).hash
        except ValueError:
            return (
                "invalid:"
                + "/".join("".join(map(str, row)) for row in self.adjacency)
                + ":"
                + ",".join(map(str, self.ops))
            )

    def as_json(self) -> dict:
        return {"hash": self.key, "adjacency": [list(row) for row in self.adjacency], "ops": list(self.ops)}


def parse_adjacency(value: str | list) -> tuple[tuple[int, ...], ...]:
    """A square 0/1 matrix from a list of lists, a JSON string of one, or a row-major '0'/'1' string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            bits = "".join(ch for ch in text if ch not in "/ ,;\t")
            size = math.isqrt(len(bits))
            if not bits or size * size != len(bits) or bits.strip("01"):
                raise ValueError(f"adjacency {value!r} is not a row-major square '0'/'1' string")
            return tuple(tuple(int(bit) for bit in bits[row * size : (row + 1) * size]) for row in range(size))
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ValueError(f"adjacency must be a list of lists, got {value!r}")
    for row in value:
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or x not in (0, 1):
                raise ValueError(f"adjacency entries must be 0 or 1, got {x!r}")
    return tuple(tuple(int(x) for x in row) for row in value)


def parse_ops(value: str | list) -> tuple[str | int, ...]:
    """Op names or codes from a list, a JSON string of one, or a separated string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            for separator in ";|":
                text = text.replace(separator, ",")
            value = [token.strip() for token in text.split(",") if token.strip()]
    if not isinstance(value, list):
        raise ValueError(f"ops must be a list, got {value!r}")
    for op in value:
        if isinstance(op, bool) or not isinstance(op, (str, int)):
            raise ValueError(f"each op must be a name or an op code, got {op!r}")
    return tuple(int(op) if isinstance(op, str) and op.lstrip("-").isdigit() else op for op in value)


def _entry(row: dict, where: str) -> CellEntry:
    missing = [column for column in REQUIRED_COLUMNS if column not in row]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)} (needs hash, adjacency, ops)")
    listed_hash = row.get("hash") or None
    if listed_hash is not None and not isinstance(listed_hash, str):
        raise ValueError(f"{where}: hash must be a string of 32 hex digits, got {listed_hash!r}")
    try:
        return CellEntry(hash=listed_hash, adjacency=parse_adjacency(row["adjacency"]), ops=parse_ops(row["ops"]))
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(f"{where}: {error}") from None


def load_cell_list(path: str | Path) -> list[CellEntry]:
    """The cells listed in a JSON or CSV file (chosen by the extension; anything but .csv is JSON)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with open(path, newline="") as file:
            return [_entry(row, f"{path}: row {index}") for index, row in enumerate(csv.DictReader(file), start=2)]
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path}: not a JSON cell list ({error}); expected a list of {{hash, adjacency, ops}}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("cells"), list):
        data = data["cells"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of {{hash, adjacency, ops}} objects")
    return [_entry(item if isinstance(item, dict) else {}, f"{path}: item {index}") for index, item in enumerate(data)]


def invalid_entries(entries: list[CellEntry]) -> list[str]:
    """One description per listed cell that cannot be trained (bad spec or wrong hash), by position in the list."""
    problems = []
    for position, entry in enumerate(entries, start=1):
        try:
            entry.cell()
        except ValueError as error:
            problems.append(f"cell {position} ({entry.key[:40]}): {error}")
    return problems
