"""Files that appear whole or not at all, and never replace what they were not told to.

Every output of the project is written to a temporary file beside its destination and
then put in place in one step. Without `force` that step is a hard link, which the
file system refuses if the destination exists at that moment: of two runs racing to
write the same new path, exactly one succeeds and the other is told, instead of one
silently replacing the other. A temporary file is created private (mode 0600); it gets
the mode the user's umask gives a new file before it is put in place. A run folder is
made the same way (`atomic_directory`): its files are written into a hidden folder beside
it, which takes the folder's name only when everything in it is written.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class OutputExistsError(FileExistsError):
    """The destination exists and overwriting was not asked for."""

    def __init__(self, path: Path):
        super().__init__(f"{path} exists; pass --force to overwrite it (or choose another output)")
        self.path = path


class WriteError(OSError):
    """Writing an output failed (a full disk, a file-size limit): says which output, and why, in one line."""

    def __init__(self, path: Path, reason: str, what_to_do: str = "choose another output"):
        super().__init__(f"could not write {path}: {reason}; {what_to_do}")
        self.path, self.reason, self.what_to_do = path, reason, what_to_do

    def moved(self, folder: Path, destination: Path) -> WriteError:
        """The same failure, for the file's place in `destination` rather than in the hidden `folder`."""
        return WriteError(destination / self.path.relative_to(folder), self.reason, self.what_to_do)


NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def write_error(path: str | os.PathLike, error: BaseException) -> WriteError:
    """A `WriteError` for `path` from what a writer raised (OSError, or the RuntimeError torch and h5py raise)."""
    for cause in (error, error.__context__, error.__cause__):
        if isinstance(cause, OSError) and cause.errno:
            full = cause.errno in NO_SPACE
            hint = "free some disk space or choose another output" if full else "choose another output"
            return WriteError(Path(path), os.strerror(cause.errno), hint)
    # torch says "unexpected pos 82112 vs 82000" or "basic_ios::clear": no cause to name
    return WriteError(Path(path), "the write failed (a full disk?)", "free some disk space or choose another output")


def user_umask() -> int:
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def new_file_mode() -> int:
    """The permissions the user's umask gives a new file (0666 minus the umask)."""
    return 0o666 & ~user_umask()


def check_writable(path: str | os.PathLike) -> None:
    """Refuse, before any work, an output whose folder cannot be written (or is a file)."""
    path = Path(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(f"{path}: {folder} is a file, not a folder; choose another output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: cannot write in {folder} (permission denied); choose another output")


def check_output(path: str | os.PathLike, *, force: bool = False) -> Path:
    """`path` if a file may be written there: not a directory, not an existing file unless `force`,
    in a folder that can be written.

    Call it before the work that produces the output, so a run is refused before it starts.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give the path of a file to write")
    if path.exists() and not force:
        raise OutputExistsError(path)
    check_writable(path)
    return path


def check_output_directory(path: str | os.PathLike, *, force: bool = False, replaceable: Collection[str] = ()) -> Path:
    """`path` if a run folder may be made there: not a file, not an existing folder unless `force`,
    and then only a folder that holds nothing but the `replaceable` names (a run's own files)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is a file; give the path of a folder for the run's files")
    if path.exists() and not force:
        raise _folder_exists(path)
    if path.exists():
        foreign = sorted(set(os.listdir(path)) - set(replaceable))
        if foreign:
            raise FileExistsError(
                f"{path} holds {foreign[0]!r}, which a run does not write; --force replaces only a run's "
                "folder, so choose another --out"
            )
    check_writable(path)
    return path


def _folder_exists(path: Path) -> FileExistsError:
    return FileExistsError(f"{path} exists; pass --force to replace it, or choose another --out")


@contextmanager
def atomic_output(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends cleanly, put it in place.

    On any exception (KeyboardInterrupt included) the temporary file is removed and `path`
    is untouched. Without `force`, an existing `path`, also one that appeared while the
    block ran, raises `OutputExistsError`. A full disk raises `WriteError`, naming `path`.
    """
    with atomic_outputs([path], force=force) as (temporary,):
        yield temporary


@contextmanager
def atomic_outputs(paths: Sequence[str | os.PathLike], *, force: bool = False) -> Iterator[list[Path]]:
    """`atomic_output` for several files that appear all or none (those put in place are removed again)."""
    paths = [check_output(path, force=force) for path in paths]
    temporaries = []
    placed: list[Path] = []
    try:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporaries.append(_temporary_beside(path))
        yield temporaries
        mode = new_file_mode()
        for temporary, path in zip(temporaries, paths):
            os.chmod(temporary, mode)
            if force:
                os.replace(temporary, path)
            else:
                _link_new(temporary, path)
            placed.append(path)
    except BaseException as error:
        for path in placed:
            path.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in NO_SPACE:
            raise write_error(paths[0] if len(paths) == 1 else paths[0].parent, error) from None
        raise
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def _temporary_beside(path: Path) -> Path:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    return Path(name)


@contextmanager
def atomic_directory(
    path: str | os.PathLike, *, force: bool = False, replaceable: Collection[str] = ()
) -> Iterator[Path]:
    """Yield a hidden folder beside `path` to write a run's files into; it becomes `path` when the block ends.

    On any exception the hidden folder and everything in it is removed and `path` is untouched.
    With `force`, an existing `path` that holds only `replaceable` names is replaced (moved aside,
    then removed) only at that moment.
    """
    path = check_output_directory(path, force=force, replaceable=replaceable)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    old = None
    try:
        yield temporary
        os.chmod(temporary, 0o777 & ~user_umask())
        if path.exists():
            if not force:
                raise _folder_exists(path)
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / path.name)
        os.rename(temporary, path)
    except BaseException as error:
        if old is not None and not path.exists():
            os.replace(old / path.name, path)
        if isinstance(error, WriteError) and error.path.is_relative_to(temporary):
            raise error.moved(temporary, path) from None
        raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _link_new(temporary: Path, path: Path) -> None:
    """Put `temporary` at `path` only if nothing is there, atomically where links exist."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a directory; give the path of a file to write") from None
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


def json_text(payload: dict | list, path: str | os.PathLike = "the output") -> str:
    """Standard JSON for `path` (NaN as null; an infinity is an error, never a token)."""
    try:
        return json.dumps(jsonable(payload), indent=2, allow_nan=False) + "\n"
    except ValueError as error:  # an infinity
        raise ValueError(f"{path}: not written, a value is not finite ({error})") from None


def write_json(payload: dict | list, path: str | os.PathLike, *, force: bool = True) -> Path:
    """Write standard JSON atomically (NaN as null; an infinity is an error, never a token)."""
    path = Path(path)
    text = json_text(payload, path)
    with atomic_output(path, force=force) as temporary:
        temporary.write_text(text)
    return path
