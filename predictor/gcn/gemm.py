"""One float32 matrix product for the GCN, on the fastest CPU kernel this torch build offers.

torch's CPU matmul goes to MKL, which runs its AVX2 code on AMD processors; oneDNN (also
inside torch, reached through `torch.ops.mkldnn._linear_pointwise`) picks AVX-512 where the
processor has it and is about 1.5x faster for the GCN's (70 x 144) x (144 x 288) products.
The oneDNN path is used only if it exists and gives the same result as `torch.mm` on a probe;
set PREDICTOR_GEMM=torch to turn it off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

import torch


@lru_cache(maxsize=1)
def _onednn_linear():
    """The oneDNN linear op, or None when it is missing, disabled or wrong on this machine."""
    if os.environ.get("PREDICTOR_GEMM", "").lower() == "torch":
        return None
    try:
        linear = torch.ops.mkldnn._linear_pointwise
        generator = torch.Generator().manual_seed(0)
        a, b = torch.rand(37, 19, generator=generator), torch.rand(19, 23, generator=generator)
        at, bt = a.t().contiguous().t(), b.t().contiguous().t()  # transposed views, as the backward pass uses
        for left, right in ((a, b), (at, b), (a, bt), (at, bt)):
            if not torch.allclose(linear(left, right.t(), None, "none", [], ""), a @ b, rtol=1e-5, atol=1e-5):
                return None
        return linear
    except (AttributeError, RuntimeError):
        return None


ONEDNN_MIN_WORK = 500_000  # multiply-adds; below this oneDNN's fixed cost per call outweighs its speed


def matmul_for(work: int, device: torch.device) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The product `a (M, K) @ b (K, N)` (no autograd; either operand may be a transposed view) to use for
    products of `work` = M*K*N multiply-adds on `device`; chosen once, called every step."""
    linear = _onednn_linear() if device.type == "cpu" and work >= ONEDNN_MIN_WORK else None
    if linear is None:
        return torch.mm
    return lambda a, b: linear(a, b.t(), None, "none", [], "")
