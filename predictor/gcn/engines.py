"""The two ways to train `network.GCN` on the same batches and dropout masks: plain autograd, or fused.

Both take one training step at a time on the epoch's shuffled rows; the training loop
(`training.py`) owns the order of the rows, the dropout masks and the learning rate, so a
seed gives both engines the same steps. `PlainEngine` is the model's own code with
`torch.optim.Adam`; `FusedEngine` is the hand-written path (`fused.py`) with Adam over one
flat buffer (`flat_adam.py`), for the networks and settings it knows.
"""

from __future__ import annotations

import numpy as np
import torch

from predictor.gcn.config import TrainConfig
from predictor.gcn.features import GraphTensors
from predictor.gcn.flat_adam import FlatAdam
from predictor.gcn.fused import ENGINES, FusedEngineError, FusedGCN, fused_parameters, mask_scales, structure_problem
from predictor.gcn.losses import objective
from predictor.gcn.network import GCN, loss

PROBE_BATCH = 8  # graphs on which the fused engine is checked against the plain module


class DropoutMasks:
    """Draws an epoch's dropout masks in one go, into buffers reused from epoch to epoch.

    Each unit is dropped when 16 raw random bits from numpy's PCG64 fall below round(p * 65536):
    p is kept to within 1/65536, at a third of the cost of drawing floats, and the masks are the
    same on every device and for every engine (each engine chooses the value of a kept unit).
    Reusing the buffers avoids fresh page-faulting allocations of a few MB every epoch.
    `masks[i][step]` is mask i of one step.
    """

    def __init__(
        self,
        shapes: list[tuple[int, ...]],
        scales: list[float],
        p: float,
        steps: int,
        rng: np.random.Generator,
        device: torch.device | str = "cpu",
    ):
        self.rng = rng
        self.threshold = np.uint16(min(round(p * 65536), 65535))
        shapes = [(steps, *shape) for shape in shapes]
        sizes = [int(np.prod(shape)) for shape in shapes]
        self.scales = [np.float32(scale) for scale in scales]
        total = sum(sizes)
        self.words = -(-total // 4)  # 64-bit draws, four 16-bit numbers each
        self.keep = np.empty(total, dtype=bool)
        self.host = np.empty(total, dtype=np.float32)
        self.device = torch.device(device)
        self.flat_host = torch.from_numpy(self.host)
        self.flat = self.flat_host if self.device.type == "cpu" else torch.empty(total, device=self.device)
        offsets = np.cumsum([0, *sizes])
        self.masks = [self.flat[a:b].view(shape) for a, b, shape in zip(offsets[:-1], offsets[1:], shapes)]
        self.host_parts = [self.host[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        self.keep_parts = [self.keep[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

    def sample(self) -> list[torch.Tensor]:
        """New masks, written over the previous ones: use them before sampling again."""
        bits = self.rng.bit_generator.random_raw(self.words).view(np.uint16)[: len(self.keep)]
        np.greater_equal(bits, self.threshold, out=self.keep)
        for keep, host, scale in zip(self.keep_parts, self.host_parts, self.scales):
            np.multiply(keep, scale, out=host)
        if self.device.type != "cpu":
            self.flat.copy_(self.flat_host)
        return self.masks


class PlainEngine:
    """Autograd through `GCN.forward` and `network.loss`, `torch.optim.Adam` (L2 weight decay)."""

    name = "plain"

    def __init__(self, network: GCN, config: TrainConfig):
        self.network, self.config = network, config
        self.optimizer = torch.optim.Adam(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def mask_scales(self, count: int) -> list[float]:
        return [1.0 / (1.0 - self.config.dropout)] * count

    def prepare(self, graphs: GraphTensors, targets: torch.Tensor, batch: int, masks: list[torch.Tensor]) -> None:
        self.graphs, self.targets, self.batch, self.masks = graphs, targets, batch, masks
        self.network.train()

    def begin_epoch(self, order: torch.Tensor, lr: float) -> None:
        self.rows = order.split(self.batch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self, index: int) -> torch.Tensor:
        rows, g = self.rows[index], self.graphs
        self.optimizer.zero_grad(set_to_none=False)
        outputs = self.network(g.nodes[rows], g.propagation[rows], g.pooling[rows], [m[index] for m in self.masks])
        value = loss(outputs, self.targets[rows], self.config)
        value.backward()
        self.optimizer.step()
        return value.detach()

    def finish(self) -> None:
        self.network.zero_grad(set_to_none=True)


class FusedEngine:
    """The hand-written passes of `fused.py`, gradients written straight into `FlatAdam`'s flat buffer.

    Every epoch's shuffled inputs are gathered into the same buffers, so each step's views of them
    (and its pass through the network) are set up once.
    """

    name = "fused"

    def __init__(self, network: GCN, config: TrainConfig, probe: GraphTensors, probe_targets: torch.Tensor):
        """Refuses (FusedEngineError) a network or setting it does not know, or one whose outputs, loss or
        gradients on the probe batch differ from the plain module's."""
        self.network, self.config = network, config
        self.fused = FusedGCN(network, config)
        problem = structure_problem(network, config) or self.fused.probe_problem(
            probe.nodes, probe.propagation, probe.pooling, probe_targets, probe_masks(network, config, len(probe))
        )
        if problem:
            raise FusedEngineError(f"the fused engine cannot train this model: {problem}; use engine='plain'")
        parameters = fused_parameters(network)
        self.optimizer = FlatAdam(parameters, lr=config.lr, weight_decay=config.weight_decay)  # params -> views
        self.gradients = [p.grad for p in parameters]  # views of the optimizer's flat gradient
        self.objective = objective(config)

    def mask_scales(self, count: int) -> list[float]:
        return mask_scales(self.config)

    def prepare(self, graphs: GraphTensors, targets: torch.Tensor, batch: int, masks: list[torch.Tensor]) -> None:
        device, steps = targets.device, len(masks[0])
        self.sources = (graphs.nodes, graphs.propagation, graphs.pooling, targets)
        self.shuffled = [torch.empty((steps * batch, *t.shape[1:]), dtype=t.dtype, device=device) for t in self.sources]
        weights = self.fused.weights()
        fused_pass = self.fused.pass_for(batch, device, training=True)
        self.steps = [
            (nodes, propagation, pooling, [m[step] for m in masks], step_targets, weights)
            for step, (nodes, propagation, pooling, step_targets) in enumerate(
                zip(*(t.split(batch) for t in self.shuffled))
            )
        ]
        self.fused_pass = fused_pass

    def begin_epoch(self, order: torch.Tensor, lr: float) -> None:
        self.optimizer.lr = lr
        for source, destination in zip(self.sources, self.shuffled):
            torch.index_select(source, 0, order, out=destination)

    def step(self, index: int) -> torch.Tensor:
        nodes, propagation, pooling, masks, targets, weights = self.steps[index]
        outputs = self.fused_pass.forward(nodes, propagation, pooling, masks, weights)
        value, grad_outputs = self.objective(outputs, targets)
        self.fused_pass.backward(grad_outputs, self.gradients)
        self.optimizer.step()
        return value

    def finish(self) -> None:
        """Leave the parameters as ordinary tensors of their own (not views of the flat buffer)."""
        with torch.no_grad():
            for p in fused_parameters(self.network):
                p.data = p.data.clone()
                p.grad = None


def probe_masks(network: GCN, config: TrainConfig, batch: int) -> list[torch.Tensor]:
    """Plain dropout masks for a probe batch, from a generator of their own (training's draws stay as they are)."""
    generator = torch.Generator().manual_seed(0)
    device = next(network.parameters()).device
    keep = 1.0 / (1.0 - config.dropout)
    return [
        ((torch.rand(shape, generator=generator) >= config.dropout) * keep).to(device)
        for shape in network.dropout_shapes(batch)
    ]


def choose_engine(
    name: str, network: GCN, config: TrainConfig, graphs: GraphTensors, targets: torch.Tensor
) -> PlainEngine | FusedEngine:
    """The engine called `name`; "auto" = fused when it computes this network and setting, else plain.

    The fused engine is checked on a probe batch of the training graphs (a few milliseconds).
    """
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    if name == "plain":
        return PlainEngine(network, config)
    probe = graphs.select(slice(0, PROBE_BATCH))
    try:
        return FusedEngine(network, config, probe, targets[:PROBE_BATCH])
    except FusedEngineError:
        if name == "fused":
            raise
        return PlainEngine(network, config)
