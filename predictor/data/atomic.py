"""Files that appear whole or not at all, and never replace what they were not told to.

Every output of the project is written to a temporary file beside its destination and
then put in place in one step. Without `force` that step is a hard link, which the
file system refuses if the destination exists at that moment: of two runs racing to
write the same new path, exactly one succeeds and the other is told, instead of one
silently replacing the other.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class OutputExistsError(FileExistsError):
    """The destination exists and overwriting was not asked for."""

    def __init__(self, path: Path):
        super().__init__(f"{path} exists; pass --force to overwrite it (or choose another output)")
        self.path = path


def check_output(path: str | os.PathLike, *, force: bool = False) -> Path:
    """`path` if a file may be written there: not a directory, not an existing file unless `force`.

    Call it before the work that produces the output, so a run is refused before it starts.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give the path of a file to write")
    if path.exists() and not force:
        raise OutputExistsError(path)
    return path


@contextmanager
def atomic_output(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends cleanly, put it in place.

    On any exception (KeyboardInterrupt included) the temporary file is removed and `path`
    is untouched. Without `force`, an existing `path`, also one that appeared while the
    block ran, raises `OutputExistsError`.
    """
    path = check_output(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        if force:
            os.replace(temporary, path)
        else:
            _link_new(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _link_new(temporary: Path, path: Path) -> None:
    """Put `temporary` at `path` only if nothing is there, atomically where links exist."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputExistsError(path) from None
    except OSError:  # a file system without hard links: the check and the rename are two steps
        if path.exists():
            raise OutputExistsError(path) from None
        os.replace(temporary, path)


def jsonable(value):
    """`value` with numpy scalars as Python numbers and NaN as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(payload: dict | list, path: str | os.PathLike, *, force: bool = True) -> Path:
    """Write standard JSON atomically (NaN as null; an infinity is an error, never a token)."""
    path = Path(path)
    text = json.dumps(jsonable(payload), indent=2, allow_nan=False) + "\n"
    with atomic_output(path, force=force) as temporary:
        temporary.write_text(text)
    return path
