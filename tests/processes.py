"""Watching the processes a command leaves behind (Linux /proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest


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


def finish(process: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a command started in a group of its own; a command still running after
    `timeout` s fails the test (and is killed), and so does a worker process that outlives it."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # a hung command must not outlive the test
        process.communicate()
        pytest.fail(f"the command hung: still running after {timeout} s")
    deadline = time.monotonic() + 5
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_alive(process.pid) == [], "worker processes outlived the command"
    return process.returncode, out, err
