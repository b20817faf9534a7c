"""Append-only JSON-lines logs that survive a crash: whole lines, standard JSON, a torn tail repaired.

Each record is written as one line with one write call; a crash can therefore only
leave a last line without its newline. Before appending again, a resumed run drops
that fragment, so the next record does not fuse with it and get lost as well.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from predictor.data.atomic import jsonable

_CHUNK = 1 << 16


def record_line(record: dict) -> str:
    """One record as a line of standard JSON (NaN as null; an infinity is an error)."""
    return json.dumps(jsonable(record), allow_nan=False) + "\n"


def drop_torn_tail(path: str | os.PathLike) -> int:
    """Cut a last line that lacks its newline (what a crash mid-write leaves); returns the bytes removed."""
    path = Path(path)
    if not path.is_file():
        return 0
    with open(path, "r+b") as file:
        size = file.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            start = max(0, end - _CHUNK)
            file.seek(start)
            newline = file.read(end - start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end < size:
            file.truncate(end)
            file.flush()
            os.fsync(file.fileno())
        return size - end


def append_record(path: str | os.PathLike, record: dict, *, sync: bool = True) -> None:
    """Add one record as a whole line (fsync'd unless `sync` is False)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as file:
        file.write(record_line(record).encode())
        file.flush()
        if sync:
            os.fsync(file.fileno())


@contextmanager
def sole_writer(lock: str | os.PathLike, busy: str, error: type[Exception] = BlockingIOError) -> Iterator[None]:
    """Hold the kernel's advisory lock on `lock` (created if absent) while the block runs; released
    however the process ends. A second holder is refused at once with `error(busy)`."""
    lock = Path(lock)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise error(busy) from None
        yield
