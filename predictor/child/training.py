"""The NAS-Bench-101 training protocol: train one cell on CIFAR-10 and evaluate it as the benchmark did.

Defaults are the benchmark's: RMSProp (TF semantics: decay 0.9, momentum 0.9,
epsilon 1.0), learning rate 0.2 with a per-step cosine decay to 0 (step 0 only
initialises, at learning rate 0), batch 256, L2 weight decay 1e-4 on every trainable
variable, batch-norm decay 0.997, int(epochs * 40,000 / 256) steps.

A small dataset (digits: 1,200 training images) gets a few dozen steps, too few for
that optimiser and for batch-norm statistics that keep 99.7% of their old value; the
named preset "small-data" keeps the protocol's structure (cosine schedule, L2, the
evaluation points) and swaps in Adam at 3e-3, batch-norm momentum 0.1 (decay 0.9),
batch 64 (about 19 steps an epoch on digits) and scoring of every image;
`protocol_preset(name, **overrides)` builds one.

Train/validation/test accuracy and the training time (evaluations excluded) are taken at
half of the steps and at the end; like the official evaluation, the benchmark preset
scores whole batches only (9,984 of 10,000 images).

Results use the dataset's metric names (halfway_training_time, ...,
final_test_accuracy, trainable_parameters), so a trained cell compares directly
with its benchmark row.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from predictor.child.channels import NetworkShape
from predictor.child.cifar import DeviceCifar, ShuffledBatches, Split
from predictor.child.network import BN_MOMENTUM, build_network, trainable_parameters
from predictor.child.optim import TFRMSprop
from predictor.child.train_step import CudaGraphStep, TrainStep, warm_up_and_undo
from predictor.common.device import resolve_device
from predictor.common.errors import TrainingDivergedError
from predictor.data.cell import Cell

EPOCH_BUDGETS = (4, 12, 36, 108)
EVALUATION_POINTS = (("halfway", 0.5), ("final", 1.0))
METRIC_NAMES = tuple(
    f"{point}_{metric}"
    for point, _ in EVALUATION_POINTS
    for metric in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
) + ("trainable_parameters",)


OPTIMIZERS = ("rmsprop", "adam")
PROTOCOL_PRESETS = {
    "benchmark": {},
    "small-data": dict(
        optimizer="adam", learning_rate=3e-3, bn_momentum=0.1, batch_size=64, eval_whole_batches_only=False
    ),
    "cpu": dict(
        optimizer="adam",
        learning_rate=3e-3,
        bn_momentum=0.1,
        batch_size=64,
        eval_whole_batches_only=False,
        epochs=1,
        shape=NetworkShape(stem_channels=16),
        train_images=8_000,
        eval_images=1_000,
    ),
}


@dataclass(frozen=True)
class TrainingProtocol:
    """How a cell is trained; the defaults reproduce the benchmark."""

    epochs: int = 108
    batch_size: int = 256
    learning_rate: float = 0.2
    rms_decay: float = 0.9
    momentum: float = 0.9
    rms_epsilon: float = 1.0
    weight_decay: float = 1e-4
    eval_whole_batches_only: bool = True
    seed: int = 0
    shape: NetworkShape = field(default_factory=NetworkShape)
    optimizer: str = "rmsprop"  # "rmsprop" (TF-1 semantics, the benchmark's) or "adam"
    bn_momentum: float = BN_MOMENTUM  # PyTorch convention: weight of the new batch statistics
    train_images: int | None = None  # train on the first N training images only (None: all)
    eval_images: int | None = None  # score the first N images of each evaluation set only (None: all)
    preset: str = "benchmark"  # the name it was built from (recorded with every result)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not 0.0 < self.bn_momentum <= 1.0:
            raise ValueError(f"bn_momentum must be in (0, 1], got {self.bn_momentum}")
        for name in ("train_images", "eval_images"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None for all images), got {value}")

    def steps_until(self, fraction: float, num_train_images: int) -> int:
        """TF global step at which an evaluation at `fraction` of the budget happens."""
        return int(fraction * self.epochs * num_train_images / self.batch_size)


def protocol_preset(name: str, **overrides) -> TrainingProtocol:
    """The named protocol ("benchmark" or "small-data", see the module docstring) with some fields replaced."""
    if name not in PROTOCOL_PRESETS:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOL_PRESETS)}")
    return TrainingProtocol(**{**PROTOCOL_PRESETS[name], "preset": name, **overrides})


@dataclass(frozen=True)
class ExecutionOptions:
    """Where and how fast to run; None means 'the device's sensible default'."""

    device: str | None = None  # None: cuda when available, else cpu
    bf16: bool | None = None  # autocast to bfloat16; default on CUDA only
    channels_last: bool | None = None  # default on CUDA only
    compile: bool = False  # torch.compile the network
    cuda_graph: bool = False  # capture the train step as a CUDA graph (CUDA only, ignored elsewhere)

    def resolved(self) -> ExecutionOptions:
        device = str(resolve_device(self.device))
        on_cuda = torch.device(device).type == "cuda"
        return ExecutionOptions(
            device=device,
            bf16=on_cuda if self.bf16 is None else self.bf16,
            channels_last=on_cuda if self.channels_last is None else self.channels_last,
            compile=self.compile,
            cuda_graph=self.cuda_graph and on_cuda,
        )


def _autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


@torch.no_grad()
def evaluate_accuracy(
    model: nn.Module,
    data: DeviceCifar,
    split: Split,
    batch_size: int,
    whole_batches_only: bool,
    bf16: bool = False,
    channels_last: bool = False,
    limit: int | None = None,
) -> float:
    """Top-1 accuracy in inference mode (batch-norm moving statistics), on the first `limit` images if given."""
    count = len(split) if limit is None else min(limit, len(split))
    if whole_batches_only and count >= batch_size:
        count -= count % batch_size
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=data.device)
    for start in range(0, count, batch_size):
        end = min(start + batch_size, count)
        images = data.normalize(split.images[start:end], channels_last)
        with _autocast(data.device, bf16):
            logits = model(images)
        correct += (logits.argmax(dim=1) == split.labels[start:end]).sum()
    model.train(was_training)
    return correct.item() / count


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def prepare_model(cell: Cell, protocol: TrainingProtocol, options: ExecutionOptions) -> nn.Module:
    """The freshly initialised network, allocated and initialised on the device, in the requested memory format."""
    torch.manual_seed(protocol.seed)
    return configure_model(build_network(cell, protocol.shape, device=torch.device(options.device)), protocol, options)


def configure_model(model: nn.Module, protocol: TrainingProtocol, options: ExecutionOptions) -> nn.Module:
    """`model` with the protocol's batch-norm momentum and the requested memory format."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = protocol.bn_momentum
    return model.to(memory_format=torch.channels_last) if options.channels_last else model


def make_optimizer(model: nn.Module, protocol: TrainingProtocol, device: torch.device) -> torch.optim.Optimizer:
    """The protocol's optimiser; its learning rate is later driven per step by the cosine schedule."""
    if protocol.optimizer == "adam":
        # L2 added to the gradient, as the benchmark's loss term; capturable so a CUDA graph can replay it
        return torch.optim.Adam(
            model.parameters(),
            lr=protocol.learning_rate,
            weight_decay=protocol.weight_decay,
            capturable=device.type == "cuda",
        )
    return TFRMSprop(
        model.parameters(),
        lr=protocol.learning_rate,
        decay=protocol.rms_decay,
        momentum=protocol.momentum,
        epsilon=protocol.rms_epsilon,
        weight_decay=protocol.weight_decay,
    )


def train_and_evaluate(
    cell: Cell,
    data: DeviceCifar,
    protocol: TrainingProtocol = TrainingProtocol(),
    options: ExecutionOptions = ExecutionOptions(),
    on_step: Callable[[int, int], None] | None = None,
) -> dict:
    """Train `cell` with `protocol` and return the benchmark metrics plus run details.

    `on_step(steps done, total steps)` is called after every step (for progress bars).
    """
    options = options.resolved()
    return train_model(prepare_model(cell, protocol, options), data, protocol, options, on_step)


def train_model(
    model: nn.Module,
    data: DeviceCifar,
    protocol: TrainingProtocol = TrainingProtocol(),
    options: ExecutionOptions = ExecutionOptions(),
    on_step: Callable[[int, int], None] | None = None,
) -> dict:
    """`train_and_evaluate` for a network the caller built (any network over the same images).

    The caller initialises it on the device (`protocol.shape` is not applied); `protocol.seed`
    still draws the batch order and augmentation.
    """
    options = options.resolved()
    device = torch.device(options.device)
    if device.type != data.device.type:
        raise ValueError(f"data lives on {data.device}, training asked for {device}")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels once
    started = time.perf_counter()
    num_train = len(data.train) if protocol.train_images is None else min(protocol.train_images, len(data.train))
    steps_at = {name: protocol.steps_until(fraction, num_train) for name, fraction in EVALUATION_POINTS}
    total_steps = steps_at["final"]
    if total_steps < 1:
        raise ValueError(
            f"{protocol.epochs} epoch(s) of {num_train} images in batches of {protocol.batch_size} is less than one step"
        )

    model = configure_model(model, protocol, options)
    parameters = trainable_parameters(model)
    optimizer = make_optimizer(model, protocol, device)
    network = torch.compile(model) if options.compile else model
    step = TrainStep(network, optimizer, total_steps, protocol.learning_rate, options.bf16)
    generator = torch.Generator(device=device)
    generator.manual_seed(protocol.seed)
    batches = ShuffledBatches(num_train, protocol.batch_size, generator, device)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        indices = batches.next()
        return data.augmented_batch(indices, generator, options.channels_last), data.train.labels[indices]

    setup_started = time.perf_counter()
    run_step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = step
    example_indices = (
        torch.arange(protocol.batch_size, device=device) % num_train
    )  # a full batch even if num_train < batch
    example_images = data.normalize(data.train.images[example_indices], options.channels_last)
    example_labels = data.train.labels[example_indices]
    if options.cuda_graph:
        run_step = CudaGraphStep(step, example_images, example_labels)
    elif options.compile:  # compile before the timed training; the warm-up step is undone
        warm_up_and_undo(step, example_images, example_labels)
    _synchronize(device)
    setup_time = time.perf_counter() - setup_started

    def evaluate(split: Split) -> float:
        return evaluate_accuracy(
            network,
            data,
            split,
            protocol.batch_size,
            protocol.eval_whole_batches_only,
            options.bf16,
            options.channels_last,
            protocol.eval_images,
        )

    metrics: dict = {}
    training_time = 0.0
    done = 0
    loss = torch.zeros((), device=device)
    for point, _ in EVALUATION_POINTS:
        phase_started = time.perf_counter()
        while done < steps_at[point]:
            images, labels = next_batch()
            loss = run_step(images, labels)
            done += 1
            if on_step is not None:
                on_step(done, total_steps)
        _synchronize(device)
        training_time += time.perf_counter() - phase_started
        if not math.isfinite(float(loss)):
            raise TrainingDivergedError(f"loss is {float(loss)} at step {done}")
        metrics[f"{point}_training_time"] = training_time
        metrics[f"{point}_train_accuracy"] = evaluate(data.train_eval)
        metrics[f"{point}_validation_accuracy"] = evaluate(data.valid)
        metrics[f"{point}_test_accuracy"] = evaluate(data.test)
    metrics["trainable_parameters"] = parameters
    metrics.update(
        epochs=protocol.epochs,
        images=image_subset(data, protocol),
        training_steps=total_steps,
        halfway_training_steps=steps_at["halfway"],
        setup_time=setup_time,
        total_time=time.perf_counter() - started,
        device=_device_name(device),
        execution=asdict(options),
        protocol=asdict(protocol),
    )
    return metrics


def image_subset(data: DeviceCifar, protocol: TrainingProtocol) -> dict[str, int]:
    """How many images of each set this protocol trains on or scores (the first N of each, in file order)."""

    def first(count: int, limit: int | None) -> int:
        return count if limit is None else min(count, limit)

    return {
        "train": first(len(data.train), protocol.train_images),
        "train_eval": first(len(data.train_eval), protocol.eval_images),
        "validation": first(len(data.valid), protocol.eval_images),
        "test": first(len(data.test), protocol.eval_images),
    }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
