"""What every command-line script shares: range-checked argument types and one way to fail.

A bad number is refused while the arguments are parsed, before any file is touched.
An expected failure (a missing or unreadable file, a bad value found later, an output
that exists, an interruption) ends the run with one line on stderr and a non-zero exit;
`--debug` shows the traceback instead. SIGTERM is turned into an interruption, so
temporary files are removed and worker processes stopped on the way out, as for Ctrl-C.
Only the scripts import this module; the library raises ordinary exceptions.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from predictor.data.dataset import ModuleNotInDatasetError

# Failures a user can cause and fix (a file, a value, a missing optional library): reported in one line.
# Anything else is a bug and keeps its traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, ImportError, ModuleNotInDatasetError)

MAX_SEED = 2**32 - 1


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that clean-up code runs."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout, and ends each option's help with its default unless the help shows it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = shown_default(action)
        if shown is None or f"({shown})" in text or ("default" in text and shown in text):
            return text
        return f"{text} (default: {shown.replace('%', '%%')})"


def shown_default(action: argparse.Action) -> str | None:
    """An option's default as --help shows it; None for a flag, a positional or an option without one."""
    default = action.default
    if not action.option_strings or default is None or default is argparse.SUPPRESS or isinstance(default, bool):
        return None
    return " ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a `--debug` flag, one-line usage errors and every default shown in --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", help="show the traceback of an error instead of one line")

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" from {low:,} to {high:,}"
    if low is not None:
        return f" >= {low:,}"
    return "" if high is None else f" <= {high:,}"


def _interval(low: float | None, high: float | None, low_inclusive: bool, high_inclusive: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {high:g}")
    return f" {' and '.join(parts)}" if parts else ""


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (either end may be open)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer{_range(low, high)}, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer{_range(low, high)}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def real(
    low: float | None = None, high: float | None = None, *, low_inclusive: bool = True, high_inclusive: bool = True
) -> Callable[[str], float]:
    """An argparse type: a finite number between low and high (NaN and infinities are refused)."""
    interval = _interval(low, high, low_inclusive, high_inclusive)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number{interval}, got {text!r}") from None
        too_low = low is not None and (value < low if low_inclusive else value <= low)
        too_high = high is not None and (value > high if high_inclusive else value >= high)
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected a finite number{interval}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


positive_int = integer(1)
non_negative_int = integer(0)
seed = integer(0, MAX_SEED)
positive_real = real(0.0, low_inclusive=False)
non_negative_real = real(0.0)
probability = real(0.0, 1.0)


def one_line(error: BaseException) -> str:
    """The first line of an error's message (library messages say what, where and what to do)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


@contextmanager
def _interruptions_as_exceptions() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` and Ctrl-C `KeyboardInterrupt`, in this process only.

    A worker forked meanwhile inherits the handlers: there SIGTERM kills as it would by default
    and Ctrl-C is ignored, because the parent stops its workers on the way out (no tracebacks).
    Handlers live in the main thread only; an ignored Ctrl-C (a background job) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def interrupt(signum: int, frame) -> None:
        if os.getpid() != owner:
            if signum == signal.SIGTERM:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        raise Terminated(signum) if signum == signal.SIGTERM else KeyboardInterrupt

    signals = [signal.SIGTERM] + (
        [signal.SIGINT] if signal.getsignal(signal.SIGINT) is signal.default_int_handler else []
    )
    previous = {signum: signal.signal(signum, interrupt) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def entry_point(main: Callable[[Sequence[str] | None], int]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a script's `main(argv) -> exit code`: expected errors and interruptions become one line."""

    @functools.wraps(main)
    def run(argv: Sequence[str] | None = None) -> int:
        argv = list(sys.argv[1:] if argv is None else argv)
        debug = "--debug" in argv
        try:
            with _interruptions_as_exceptions():
                return main(argv)
        except KeyboardInterrupt as interruption:
            if debug:
                raise
            signum = interruption.signum if isinstance(interruption, Terminated) else signal.SIGINT
            print(f"interrupted ({signal.Signals(signum).name})", file=sys.stderr)
            return 128 + signum
        except EXPECTED_ERRORS as error:
            if debug:
                raise
            print(f"error: {one_line(error)}", file=sys.stderr)
            return 1

    return run
