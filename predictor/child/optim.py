"""TensorFlow-1 RMSProp and the benchmark's per-step cosine learning rate, in PyTorch.

`torch.optim.RMSprop` differs from `tf.train.RMSPropOptimizer` in ways that matter
with epsilon = 1.0: TF starts the mean square at 1 (not 0), adds epsilon inside the
square root, and folds the learning rate into the momentum buffer. The official
training also adds `weight_decay * sum(l2_loss(v))` over all trainable variables to
the loss, i.e. `weight_decay * v` to every gradient before RMSProp sees it.

The learning rate may be a 0-d tensor on the device, so that a CUDA graph of the
whole train step replays the schedule without leaving the GPU.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class TFRMSprop(torch.optim.Optimizer):
    """RMSProp with TF-1 semantics (see the module docstring).

    ms  <- decay * ms + (1 - decay) * g^2          (ms starts at 1)
    mom <- momentum * mom + lr * g / sqrt(ms + eps)
    var <- var - mom
    with g = grad + weight_decay * var.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float | torch.Tensor = 0.2,
        decay: float = 0.9,
        momentum: float = 0.9,
        epsilon: float = 1.0,
        weight_decay: float = 0.0,
    ):
        super().__init__(
            params, dict(lr=lr, decay=decay, momentum=momentum, epsilon=epsilon, weight_decay=weight_decay)
        )

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - the standard optimizer interface
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                state = self.state[p]
                if not state:
                    state["ms"] = torch.ones_like(p, memory_format=torch.preserve_format)
                    state["mom"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            ms = [self.state[p]["ms"] for p in params]
            mom = [self.state[p]["mom"] for p in params]
            grads = [p.grad for p in params]
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            torch._foreach_mul_(ms, group["decay"])
            torch._foreach_addcmul_(ms, grads, grads, value=1.0 - group["decay"])
            denom = torch._foreach_add(ms, group["epsilon"])
            torch._foreach_sqrt_(denom)
            update = torch._foreach_div(grads, denom)
            lr = group["lr"]
            if isinstance(lr, torch.Tensor):
                torch._foreach_mul_(update, lr)
            else:
                torch._foreach_mul_(update, float(lr))
            torch._foreach_mul_(mom, group["momentum"])
            torch._foreach_add_(mom, update)
            torch._foreach_sub_(params, mom)
        return loss


def cosine_learning_rate(step: int, total_steps: int, base_lr: float) -> float:
    """The official COSINE_BY_STEP schedule; step 0 has learning rate 0 (it only initializes)."""
    if step == 0:
        return 0.0
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * step / total_steps))


def cosine_learning_rate_tensor(step: torch.Tensor, total_steps: int, base_lr: float) -> torch.Tensor:
    """`cosine_learning_rate` as tensor ops on the device (no host sync, capturable in a CUDA graph)."""
    progress = step.to(torch.float32) / float(total_steps)
    lr = 0.5 * base_lr * (1.0 + torch.cos(math.pi * progress))
    return torch.where(step == 0, torch.zeros_like(lr), lr)
