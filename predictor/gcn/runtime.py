"""Where and how torch runs: device choice and CPU thread count.

The predictor's matrices are tiny (batches of 7 x 7 graphs), so extra CPU threads mostly
wait on each other, and on a busy machine they can make a call many times slower; one
thread is the default for training and prediction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def resolve_device(device: str | torch.device | None) -> torch.device:
    """ "auto" (or None) = cuda if available, else cpu."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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
