"""Worker processes never hang the command: not at the end, not on a signal, not when one dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from predictor.data.workers import imap
from tests.conftest import REPO
from tests.processes import default_signals, finish


def _square(x: int) -> int:
    time.sleep(0.001 * (x % 3))  # answers finish out of order
    return x * x


def _fail_on_seven(x: int) -> int:
    if x == 7:
        raise ValueError(f"item {x} is bad")
    return x


def _die_on_three(x: int) -> int:
    if x == 3:
        os._exit(9)
    return x


def _signal_handlers(_: int) -> tuple:
    return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_answers_come_in_order_or_as_theyfinish(workers):
    assert list(imap(_square, range(40), workers)) == [x * x for x in range(40)]
    assert sorted(imap(_square, iter(range(40)), workers, ordered=False)) == [x * x for x in range(40)]


def test_spawned_workers_run_an_initializer_and_answer_as_theyfinish():
    answers = imap(_square, range(6), 2, ordered=False, initializer=_square, initargs=(1,), start_method="spawn")
    assert sorted(answers) == [x * x for x in range(6)]


def test_a_failing_task_raises_its_own_error_and_stops_the_workers():
    with pytest.raises(ValueError, match="item 7 is bad"):
        list(imap(_fail_on_seven, range(20), 2))


def test_a_dead_worker_is_an_error_not_a_wait():
    started = time.monotonic()
    with pytest.raises(ChildProcessError, match="died"):
        list(imap(_die_on_three, range(20), 2))
    assert time.monotonic() - started < 20


def test_workers_do_not_carry_the_parents_signal_handlers():
    def handler(signum, frame):  # a command's Python handler
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        answers = list(imap(_signal_handlers, range(4), 2))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert answers == [(signal.SIG_DFL, signal.SIG_IGN)] * 4


# --- the space's enumeration under the command's entry point, in a process of its own --------------

ENUMERATE = """
import os, signal, sys
from predictor import cli
from predictor.data.space import enumerate_space
from predictor.data.workers import imap

def _last_one_signals_the_parent(x):
    if x == 19:
        os.kill(os.getppid(), signal.SIGTERM)
    return x

@cli.entry_point
def main(argv):
    runs = int(argv[0])
    for run in range(runs):
        enumerate_space(5, progress=False, workers=2)
        if run == 0:
            print("ready", flush=True)
    if argv[1:] == ["signal-at-the-end"]:
        list(imap(_last_one_signals_the_parent, range(20), 2))
    print("done", flush=True)
    return 0

sys.exit(main(sys.argv[1:]))
"""


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", ENUMERATE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own: signals to it and the check for leftovers
        preexec_fn=default_signals,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow
def test_many_enumerations_under_the_entry_point_all_end():
    code, out, err = finish(_start("60"), timeout=240)
    assert (code, out.split(), err) == (0, ["ready", "done"], "")


@pytest.mark.slow
@pytest.mark.parametrize("to_group", [False, True], ids=["to the command", "to its group"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_any_moment_of_the_enumerations_ends_the_command(signum, to_group):
    """Signals sent at spread moments over many runs: some land while workers start, some while they stop."""
    for delay in (0.0, 0.05, 0.11, 0.23, 0.37):
        process = _start("1000")
        assert process.stdout.readline() == "ready\n"
        time.sleep(delay)
        (os.killpg if to_group else os.kill)(process.pid, signum)
        code, _, err = finish(process, timeout=30)
        assert code == 128 + signum, err
        assert err == f"interrupted ({signal.Signals(signum).name})\n"


def test_a_signal_at_the_last_answer_ends_the_command():
    code, out, err = finish(_start("1", "signal-at-the-end"), timeout=60)
    assert (code, out, err) == (128 + signal.SIGTERM, "ready\n", "interrupted (SIGTERM)\n")
