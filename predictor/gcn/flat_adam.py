"""Adam over one flat buffer: the arithmetic of `torch.optim.Adam` (L2 weight decay), one kernel per step.

The parameters are moved into one contiguous tensor (they become views of it), gradients
are written into one flat tensor, and the update is torch's fused Adam kernel on that single
tensor, called directly: no per-parameter loop and no optimizer bookkeeping per step. Where
the fused kernel is missing, the same update is done with a few whole-buffer operations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


class FlatAdam:
    def __init__(
        self,
        parameters: Sequence[torch.nn.Parameter],
        lr: float,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.parameters = list(parameters)
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        device = self.parameters[0].device
        total = sum(p.numel() for p in self.parameters)
        self.flat = torch.empty(total, device=device)
        self.flat_grad = torch.zeros(total, device=device)
        offset = 0
        for p in self.parameters:
            n = p.numel()
            self.flat[offset : offset + n].copy_(p.detach().reshape(-1))
            p.data = self.flat[offset : offset + n].view_as(p)
            p.grad = self.flat_grad[offset : offset + n].view_as(p)
            offset += n
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.steps = 0
        self._step_tensor = torch.zeros((), device=device)
        self._fused = hasattr(torch, "_fused_adam_")

    def step(self) -> None:
        """Update with the gradients in `flat_grad` (the parameters' `.grad` are views of it)."""
        self.steps += 1
        if self._fused:
            try:
                self._step_tensor.fill_(self.steps)
                torch._fused_adam_(
                    [self.flat],
                    [self.flat_grad],
                    [self.exp_avg],
                    [self.exp_avg_sq],
                    [],
                    [self._step_tensor],
                    lr=self.lr,
                    beta1=self.betas[0],
                    beta2=self.betas[1],
                    weight_decay=self.weight_decay,
                    eps=self.eps,
                    amsgrad=False,
                    maximize=False,
                    grad_scale=None,
                    found_inf=None,
                )
                return
            except (RuntimeError, TypeError, NotImplementedError):
                self._fused = False  # this device or torch version has no fused kernel: fall through
        beta1, beta2 = self.betas
        grad = self.flat_grad.add(self.flat, alpha=self.weight_decay) if self.weight_decay else self.flat_grad
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denominator = (self.exp_avg_sq.sqrt() / math.sqrt(1 - beta2**self.steps)).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denominator, value=-self.lr / (1 - beta1**self.steps))
