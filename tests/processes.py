"""Watching the processes a command leaves behind (Linux /proc)."""

from __future__ import annotations

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
