"""Halfmoon data and child MLPs trained many at once, as one batched tensor program.

Data: scikit-learn's `make_moons` (1,000 points, noise 0.2, random_state 0), split in its
order 700 train / 100 validation / 200 test as minimal-nas does. The reward of a child is its
validation accuracy; the test set only scores the architecture a search ends with.

Training follows minimal-nas's child: Adam at 1e-2, batches of 32 (the last one smaller),
cross-entropy, here for a fixed number of epochs (default 10, where minimal-nas
stops early after at least 11). M children of different depths, widths
and activations are padded to `MAX_WIDTH` units and stacked, so one step is a few batched
matrix products for all of them: units beyond a layer's width are multiplied by 0 (their
weights then get no gradient and Adam leaves them at 0), layers beyond a network's depth
pass their input through, and each layer applies its own activation per child. The loss is
the sum of the children's mean losses, so each child's gradient, and its elementwise Adam
update, is exactly what it would get alone. Every child is initialized like `nn.Linear`
from a generator seeded by its key (seed, architecture), and all follow one fixed batch
order, so a child's result depends on its key alone, not on which others it was trained
with: results can be cached by key.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from predictor.halfmoon.space import ACTIVATIONS, Architecture, describe

MAX_WIDTH = 16
NUM_SAMPLES, NOISE, DATA_SEED = 1_000, 0.2, 0
NUM_TRAIN, NUM_VALID = 700, 100
NUM_CLASSES = 2


@dataclass(frozen=True)
class Halfmoon:
    """(N, 2) float32 points and (N,) int64 labels of each split."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def load_halfmoon() -> Halfmoon:
    """The fixed halfmoon split (see the module docstring)."""
    from sklearn.datasets import make_moons

    points, labels = make_moons(NUM_SAMPLES, noise=NOISE, random_state=DATA_SEED)
    x = torch.as_tensor(points, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.int64)
    a, b = NUM_TRAIN, NUM_TRAIN + NUM_VALID
    return Halfmoon(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


@dataclass(frozen=True)
class ChildTraining:
    """How every child is trained (minimal-nas's optimizer and batch size, a fixed number of epochs)."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-2
    order_seed: int = 0  # the batch order, the same for every child

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ValueError(f"epochs, batch size and learning rate must be positive: {self}")


ChildKey = tuple[int, Architecture]
"""(seed, architecture): what a child's initialization, hence its result, depends on."""


def child_seed(key: ChildKey) -> int:
    """The initialization seed of one child."""
    seed, architecture = key
    return zlib.crc32(f"{seed}:{describe(architecture)}".encode())


class BatchedMLPs(torch.nn.Module):
    """M padded MLPs; hidden layer l stores only the children that have it, grouped by their activation there.

    Layer l holds weights (n_l, in, 16) and biases (n_l, 1, 16) in its own child order (by
    activation), so each activation runs on one contiguous slice; between layers one gather puts
    the surviving children in the next layer's order and sets aside those that end. The output
    layer, (M, 16, 2) and (M, 1, 2), reads each child's last hidden layer.
    """

    def __init__(self, children: list[ChildKey]):
        super().__init__()
        architectures = [architecture for _, architecture in children]
        self.depth = max(len(a) for a in architectures)

        def by_activation(ids: list[int], layer: int) -> list[int]:
            return sorted(ids, key=lambda c: ACTIVATIONS.index(architectures[c][layer][1]))

        orders = [by_activation(list(range(len(children))), 0)]  # child ids in each layer's storage order
        self.gathers: list[torch.Tensor | None] = [None]  # positions in the previous layer's order, per layer
        self.endings: list[torch.Tensor | None] = [None]  # positions of the children whose last layer was l - 1
        ended: list[int] = []
        for layer in range(1, self.depth):
            previous = orders[-1]
            order = by_activation([c for c in previous if len(architectures[c]) > layer], layer)
            position = {c: i for i, c in enumerate(previous)}
            stopping = [c for c in previous if len(architectures[c]) == layer]
            ended += stopping
            self.endings.append(torch.tensor([position[c] for c in stopping]) if stopping else None)
            self.gathers.append(None if order == previous else torch.tensor([position[c] for c in order]))
            orders.append(order)
        output_order = ended + orders[-1]
        self.inverse = torch.argsort(torch.tensor(output_order))

        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        self.slices: list[list[tuple[int, int, int]]] = []  # per layer: (activation, start, end)
        self.sigmoid_masks: list[torch.Tensor] = []  # per layer: (children with Sigmoid there, 1, 16) unit masks
        for layer, order in enumerate(orders):
            self.weights.append(torch.nn.Parameter(torch.zeros(len(order), 2 if layer == 0 else MAX_WIDTH, MAX_WIDTH)))
            self.biases.append(torch.nn.Parameter(torch.zeros(len(order), 1, MAX_WIDTH)))
            kinds = [ACTIVATIONS.index(architectures[c][layer][1]) for c in order]
            self.slices.append([(k, kinds.index(k), len(kinds) - kinds[::-1].index(k)) for k in sorted(set(kinds))])
            widths = torch.tensor([architectures[c][layer][0] for c, kind in zip(order, kinds) if kind == 0])
            self.sigmoid_masks.append((torch.arange(MAX_WIDTH) < widths[:, None, None]).float())
        self.output_weight = torch.nn.Parameter(torch.zeros(len(children), MAX_WIDTH, NUM_CLASSES))
        self.output_bias = torch.nn.Parameter(torch.zeros(len(children), 1, NUM_CLASSES))
        slots = [{c: i for i, c in enumerate(order)} for order in [*orders, output_order]]
        self.children_keys = list(children)
        self.slots = [
            ([slots[layer][c] for layer in range(len(key[1]))], slots[-1][c]) for c, key in enumerate(children)
        ]
        for key, (hidden_slots, output_slot) in zip(children, self.slots):
            self._initialize(key, hidden_slots, output_slot)

    @torch.no_grad()
    def _initialize(self, key: ChildKey, hidden_slots: list[int], output_slot: int) -> None:
        """nn.Linear's default, on the child's real block only: uniform in +-1/sqrt(fan_in) for weights and biases."""
        generator = torch.Generator().manual_seed(child_seed(key))
        architecture = key[1]
        layers = [(self.weights[layer], self.biases[layer], slot) for layer, slot in enumerate(hidden_slots)]
        layers.append((self.output_weight, self.output_bias, output_slot))
        fan_in = 2
        for (weights, biases, slot), fan_out in zip(layers, [width for width, _ in architecture] + [NUM_CLASSES]):
            bound = 1.0 / fan_in**0.5
            weights[slot, :fan_in, :fan_out] = ((torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound).T
            biases[slot, 0, :fan_out] = (torch.rand(fan_out, generator=generator) * 2 - 1) * bound
            fan_in = fan_out

    @torch.no_grad()
    def child_network(self, index: int) -> torch.nn.Sequential:
        """Child `index` as a plain nn.Sequential with copies of its current weights (for inspection, reuse)."""
        architecture = self.children_keys[index][1]
        hidden_slots, output_slot = self.slots[index]
        stored = [(self.weights[layer], self.biases[layer], slot) for layer, slot in enumerate(hidden_slots)]
        stored.append((self.output_weight, self.output_bias, output_slot))
        modules, fan_in = [], 2
        for (weights, biases, slot), (fan_out, activation) in zip(stored, [*architecture, (NUM_CLASSES, None)]):
            linear = torch.nn.Linear(fan_in, fan_out)
            linear.weight.copy_(weights[slot, :fan_in, :fan_out].T)
            linear.bias.copy_(biases[slot, 0, :fan_out])
            modules.append(linear)
            if activation is not None:
                modules.append(_ACTIVATION_MODULES[activation]())
            fan_in = fan_out
        return torch.nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (M, N, 2) of every child (in the order given) for the same points x (N, 2)."""
        h = self._activate(torch.matmul(x, self.weights[0]) + self.biases[0], 0)
        ended = []
        for layer in range(1, self.depth):
            if self.endings[layer] is not None:
                ended.append(h[self.endings[layer]])
            if self.gathers[layer] is not None:
                h = h[self.gathers[layer]]
            h = self._activate(torch.baddbmm(self.biases[layer], h, self.weights[layer]), layer)
        last = torch.cat([*ended, h]) if ended else h
        return torch.baddbmm(self.output_bias, last, self.output_weight)[self.inverse]

    def _activate(self, pre: torch.Tensor, layer: int) -> torch.Tensor:
        """Each child's own activation of `pre`, one contiguous slice per activation.

        Padded units have pre-activation 0 and stay 0 under Tanh/ReLU/LeakyReLU; Sigmoid(0) = 0.5, so
        only Sigmoid outputs are masked to the layer's width.
        """
        parts = []
        for kind, start, end in self.slices[layer]:
            part = _ACTIVATION_FUNCTIONS[kind](pre[start:end])
            parts.append(part * self.sigmoid_masks[layer] if kind == 0 else part)
        return torch.cat(parts) if len(parts) > 1 else parts[0]


_ACTIVATION_FUNCTIONS = (torch.sigmoid, torch.tanh, torch.relu, F.leaky_relu)
_ACTIVATION_MODULES = dict(zip(ACTIVATIONS, (torch.nn.Sigmoid, torch.nn.Tanh, torch.nn.ReLU, torch.nn.LeakyReLU)))


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Per-child accuracy (M,) of logits (M, N, 2)."""
    return (logits.argmax(dim=-1) == labels).to(torch.float64).mean(dim=1).numpy()


def fit_children(children: list[ChildKey], data: Halfmoon, training: ChildTraining = ChildTraining()) -> BatchedMLPs:
    """The children, trained together on the training split.

    Raises FloatingPointError when the loss becomes non-finite.
    """
    model = BatchedMLPs(children)
    optimizer = torch.optim.Adam(model.parameters(), lr=training.learning_rate)
    order = torch.Generator().manual_seed(training.order_seed)
    count = len(data.train_y)
    for _ in range(training.epochs):
        permutation = torch.randperm(count, generator=order)
        for start in range(0, count, training.batch_size):
            batch = permutation[start : start + training.batch_size]
            logits = model(data.train_x[batch])
            labels = data.train_y[batch].expand(len(children), -1)
            loss = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none").mean(dim=1).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    if not torch.isfinite(loss):
        raise FloatingPointError(f"a child's training loss is {float(loss)}")
    return model


def train_one_network(network: torch.nn.Module, data: Halfmoon, training: ChildTraining = ChildTraining()) -> None:
    """Train one plain network the way `fit_children` trains each child (same batches, its own Adam):
    the reference the batched program must equal, and its speed baseline."""
    optimizer = torch.optim.Adam(network.parameters(), lr=training.learning_rate)
    order = torch.Generator().manual_seed(training.order_seed)
    for _ in range(training.epochs):
        permutation = torch.randperm(len(data.train_y), generator=order)
        for start in range(0, len(permutation), training.batch_size):
            batch = permutation[start : start + training.batch_size]
            loss = F.cross_entropy(network(data.train_x[batch]), data.train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def train_children(
    children: list[ChildKey], data: Halfmoon, training: ChildTraining = ChildTraining()
) -> tuple[np.ndarray, np.ndarray]:
    """Train the children together; (validation accuracy (M,), test accuracy (M,))."""
    model = fit_children(children, data, training)
    with torch.no_grad():
        return accuracy(model(data.valid_x), data.valid_y), accuracy(model(data.test_x), data.test_y)
