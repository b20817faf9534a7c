"""The training step, plain or captured as one CUDA graph.

A step is: learning rate from the on-device step counter, forward (optionally
under bf16 autocast), cross-entropy, backward, TF-RMSProp update, counter + 1.
Everything stays on the device, so on CUDA the whole step can be captured once and
replayed, removing the per-kernel launch cost that dominates small-batch training.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from predictor.child.optim import cosine_learning_rate_tensor

_FRESH_STATE = {"ms": 1.0}  # TF-RMSProp's mean square starts at 1; every other optimizer buffer (Adam's too) at 0


class TrainStep:
    """One optimization step on a batch; `step_count` is the TF global step."""

    def __init__(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, total_steps: int, base_lr: float, bf16: bool
    ):
        self.model, self.optimizer = model, optimizer
        self.total_steps, self.base_lr, self.bf16 = total_steps, base_lr, bf16
        device = next(model.parameters()).device
        self.device_type = device.type
        self.step_count = torch.zeros((), dtype=torch.int64, device=device)
        self.lr = torch.zeros((), dtype=torch.float32, device=device)
        for group in optimizer.param_groups:
            group["lr"] = self.lr

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.bf16:
            # no weight-cast cache: it must not outlive a CUDA-graph capture, and each weight is used once anyway
            return torch.autocast(device_type=self.device_type, dtype=torch.bfloat16, cache_enabled=False)
        return contextlib.nullcontext()

    def forward_backward_update(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The step without zeroing gradients first (gradients must be None on entry)."""
        self.lr.copy_(cosine_learning_rate_tensor(self.step_count, self.total_steps, self.base_lr))
        with self.autocast():
            logits = self.model(images)
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        self.optimizer.step()
        self.step_count += 1
        return loss.detach()

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        return self.forward_backward_update(images, labels)


def snapshot_state(step: TrainStep) -> dict:
    """Copies of everything a step changes, to undo warm-up steps before capture."""
    return {
        "model": {name: value.detach().clone() for name, value in step.model.state_dict().items()},
        "optimizer": {id(p): {k: v.clone() for k, v in s.items()} for p, s in step.optimizer.state.items()},
        "step_count": step.step_count.clone(),
    }


def restore_state(step: TrainStep, snapshot: dict) -> None:
    """In-place restore (the captured graph keeps pointing at the same tensors)."""
    with torch.no_grad():
        for name, value in step.model.state_dict().items():
            value.copy_(snapshot["model"][name])
        for p, state in step.optimizer.state.items():
            saved = snapshot["optimizer"].get(id(p))
            if saved is None:  # state created by the warm-up: back to the optimizer's initial values
                for key, value in state.items():
                    value.fill_(_FRESH_STATE.get(key, 0.0))
            else:
                for key, value in state.items():
                    value.copy_(saved[key])
        step.step_count.copy_(snapshot["step_count"])


def warm_up_and_undo(step: TrainStep, images: torch.Tensor, labels: torch.Tensor, steps: int = 1) -> None:
    """Run `steps` steps (compiling, autotuning, allocating state) and put every tensor back as it was."""
    snapshot = snapshot_state(step)
    for _ in range(steps):
        step(images, labels)
    restore_state(step, snapshot)


class CudaGraphStep:
    """A `TrainStep` captured as one CUDA graph; call it like the step it wraps.

    Warm-up steps (needed to allocate optimizer state and let cuDNN/compile settle)
    run on the example batch and are undone afterwards, so training is unchanged.
    """

    def __init__(
        self, step: TrainStep, example_images: torch.Tensor, example_labels: torch.Tensor, warmup_steps: int = 3
    ):
        if example_images.device.type != "cuda":
            raise ValueError("CUDA-graph capture needs CUDA tensors")
        self.step = step
        self.static_images = example_images.clone()
        self.static_labels = example_labels.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            warm_up_and_undo(step, self.static_images, self.static_labels, warmup_steps)
        torch.cuda.current_stream().wait_stream(side)
        step.optimizer.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_loss = step.forward_backward_update(self.static_images, self.static_labels)
        torch.cuda.synchronize()

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.static_images.copy_(images)
        self.static_labels.copy_(labels)
        self.graph.replay()
        return self.static_loss
