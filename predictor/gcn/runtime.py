"""Where and how torch runs: device choice and CPU thread count.

The predictor's matrices are tiny (batches of 7 x 7 graphs), so extra CPU threads mostly
wait on each other, and on a busy machine they can make a call many times slower; one
thread is the default for training and prediction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from predictor.common.device import resolve_device  # noqa: F401  (importable from here as before)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Use `threads` CPU threads inside the block (None or 0: leave as is), then restore the previous number."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat subnormal floats as zero inside the block (on CPUs that can), then restore.

    Weight decay drives the weights of units that stay silent towards zero, into the subnormal
    range, where every multiplication is many times slower: a fit that starts from pre-trained
    graph layers took twice as long without this. Values below 1e-38 change no prediction.
    torch cannot read the flag, so the block ends with it off (torch's default).
    """
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)
