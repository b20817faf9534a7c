"""Watching the processes a command leaves behind (Linux /proc)."""

from __future__ import annotations

import signal
from pathlib import Path


def group_alive(group: int) -> list[int]:
    """Processes still alive in a process group (zombies excluded)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            alive.append(int(entry.name))
    return alive


def default_signals() -> None:
    """For `preexec_fn`: the command under test gets Ctrl-C as from a terminal.

    A shell starts background jobs (`cmd &`, nohup) with SIGINT ignored, Python keeps an
    ignored SIGINT ignored, and the children inherit it: without this, a test run started that
    way would send Ctrl-C to a command that cannot hear it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
