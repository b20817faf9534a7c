"""Worker processes that can neither hang nor outlive the command that starts them.

`multiprocessing.Pool` shares one task queue and one result queue between its workers,
guarded by locks, and its `terminate()` waits without a time limit: a worker stopped while
it holds a lock, or one that does not die on SIGTERM (a forked copy of the command's Python
signal handlers never runs while it waits on a lock), leaves the parent waiting for ever.
Here each worker has a pipe of its own and nothing is shared, so every wait is bounded:

- workers start with the default dispositions (SIGTERM kills, Ctrl-C is ignored: the parent
  stops them), never the command's handlers; both signals stay blocked from the fork until
  the worker has reset them, so one arriving meanwhile is delivered to the default action;
- after the last result each worker is told to stop and joined; on any error, interruption
  or abandoned iteration the workers get SIGTERM, then SIGKILL after `STOP_SECONDS`;
- a worker that dies (out of memory, killed) is an error naming it, not a wait for ever.
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, NoReturn

STOP_SECONDS = 5.0  # how long a worker may take to exit before it is killed
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class WorkerError(RuntimeError):
    """A task failed in a worker with an exception that could not be sent back as itself."""


def default_start_method() -> str:
    """fork where there is one (starts in milliseconds, needs no importable __main__), else spawn."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def imap(
    function: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int,
    *,
    ordered: bool = True,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    start_method: str | None = None,
) -> Iterator[Any]:
    """`function(item)` for every item, computed by `workers` processes (in this process for 1).

    Results come in the order of `items` when `ordered`, else as they finish. `function`
    and `initializer` (run once per worker) must be module-level functions; with the
    "spawn" start method, their arguments and results must pickle. At most `2 * workers`
    items are read ahead, so `items` may be a long stream.
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        yield from map(function, items)
        return
    context = multiprocessing.get_context(start_method or default_start_method())
    processes: list[BaseProcess] = []
    connections: list[Connection] = []
    try:
        with _signals_blocked():
            for _ in range(workers):
                parent_end, child_end = context.Pipe()
                inherited = [*connections, parent_end] if context.get_start_method() == "fork" else []
                process = context.Process(
                    target=_serve, args=(child_end, inherited, initializer, initargs), daemon=True
                )
                processes.append(process)  # before it starts: an interruption inside start() still stops it
                connections.append(parent_end)
                process.start()
                child_end.close()
        yield from _dispatch(function, iter(items), processes, connections, ordered)
        for connection in connections:
            with suppress(OSError):  # a worker that died after its last answer is stopped below
                connection.send(None)
        _join(processes, STOP_SECONDS)
    finally:
        _stop(processes)
        for connection in connections:
            connection.close()


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back in this thread (and so in the processes it forks) inside the block.

    One that arrives meanwhile is delivered when the block ends, to this process's handler.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - platforms without signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _serve(connection: Connection, inherited: list[Connection], initializer: Callable | None, initargs: tuple) -> None:
    """A worker's life: answer (index, function, item) until told to stop or the parent is gone."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    for other in inherited:  # the parent's ends, copied by fork: closed, so a parent's death reads as EOF
        other.close()
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task is None:
            return
        index, function, item = task
        try:
            answer = (index, True, function(item))
        except BaseException as error:  # sent back and raised in the parent
            answer = (index, False, (error, traceback.format_exc()))
        try:
            connection.send(answer)
        except Exception as error:  # an unpicklable result or exception
            text = answer[2][1] if not answer[1] else f"{type(error).__name__}: {error}\n"
            connection.send((index, False, (WorkerError(text.strip().splitlines()[-1]), text)))


def _dispatch(
    function: Callable, items: Iterator, processes: list[BaseProcess], connections: list[Connection], ordered: bool
) -> Iterator[Any]:
    """Keep every worker busy with one task at a time; yield the answers."""
    window = 2 * len(processes)  # tasks handed out or answered but not yet yielded
    busy: set[Connection] = set()  # the workers computing a task
    done: dict[int, Any] = {}  # answers waiting for an earlier one (ordered only)
    handed_out = next_to_yield = 0
    exhausted = False
    while True:
        for connection in connections:
            if exhausted or len(busy) + len(done) >= window:
                break
            if connection in busy:
                continue
            try:
                item = next(items)
            except StopIteration:
                exhausted = True
                break
            connection.send((handed_out, function, item))
            busy.add(connection)
            handed_out += 1
        if not busy:
            return
        sentinels = {process.sentinel: process for process in processes}
        for ready in wait([*busy, *sentinels]):
            if ready in sentinels:
                _died(sentinels[ready])
            try:
                index, succeeded, value = ready.recv()
            except EOFError:  # its end of the pipe closed: it died
                _died(processes[connections.index(ready)])
            busy.discard(ready)
            if not succeeded:
                error, remote_traceback = value
                raise error from WorkerError(f"in the worker:\n{remote_traceback}")
            if not ordered:
                yield value
                continue
            done[index] = value
        while next_to_yield in done:
            yield done.pop(next_to_yield)
            next_to_yield += 1


def _died(process: BaseProcess) -> NoReturn:
    process.join(STOP_SECONDS)  # its exit code, once the system has it
    raise ChildProcessError(
        f"worker process {process.pid} died (exit code {process.exitcode}) before it answered: "
        "out of memory or killed? run again, or with fewer workers"
    )


def _join(processes: list[BaseProcess], seconds: float) -> None:
    for process in processes:
        process.join(seconds)


def _stop(processes: list[BaseProcess]) -> None:
    """SIGTERM to the workers still running, SIGKILL to those still there after STOP_SECONDS."""
    running = [process for process in processes if process.pid is not None and process.exitcode is None]
    for process in running:
        process.terminate()
    _join(running, STOP_SECONDS)
    for process in running:
        if process.exitcode is None:
            process.kill()
            process.join(1.0)
