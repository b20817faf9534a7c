"""ENAS (Pham et al. 2018) over the NAS-Bench-101 cell space: alternate shared-weight and controller training.

A few warm-up epochs first train the shared weights on uniformly random architectures, so
that every op has been trained before the controller compares them. Then one epoch is:
(1) the shared weights of the one-shot network are trained over the training set,
each minibatch through an architecture sampled from the controller; (2) the controller takes
`controller_steps` REINFORCE steps, each architecture rewarded with its accuracy on one
validation batch under the shared weights (a sample whose input does not reach its output is
no architecture: reward 0). Derivation: sample `derive_samples` architectures, score each by
its one-shot accuracy on the validation set (or its first `valid_images`), keep the best
`top_k`. The result counts the distinct cells the controller trained on and derived from, and
`EnasResult.notes` says so, naming a collapse onto one cell and any chosen cell without an
operation (its input wired straight to its output).

The images are the child wing's (`predictor.child.datasets`): the same normalization, and the
training batches pass through the same augmentation (none on digits). The shared weights are
trained epoch by epoch, one architecture per minibatch, so the batches are one shuffled pass
over the training set per epoch rather than the child protocol's endless stream.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from predictor.child.channels import NetworkShape
from predictor.child.cifar import DeviceCifar, Split
from predictor.child.training import evaluate_accuracy
from predictor.common.errors import TrainingDivergedError
from predictor.data.encodings import NUM_REAL_OPS
from predictor.weight_sharing.architecture import (
    INTERIOR_SLOTS,
    Architecture,
    from_decisions,
    op_set,
    random_architecture,
    useless_fraction,
)
from predictor.weight_sharing.one_shot import OneShotNetwork
from predictor.weight_sharing.policy import PolicyGradient, PolicySettings, enas_controller
from predictor.weight_sharing.standalone import SEARCH_SHAPE

INVALID_REWARD = 0.0


def shuffled_batches(
    count: int, batch_size: int, generator: torch.Generator, limit: int | None = None
) -> list[torch.Tensor]:
    """One epoch of index batches in a seeded random order (the last one may be smaller), over `limit` of the
    `count` items (all when None): a reduced epoch sees a fresh random subset each time."""
    return list(torch.randperm(count, generator=generator)[:limit].split(batch_size))


class _SubNetwork(nn.Module):
    """The one-shot network restricted to one architecture, as a plain `images -> logits` network."""

    def __init__(self, one_shot: OneShotNetwork, architecture: Architecture):
        super().__init__()
        self.one_shot, self.architecture = one_shot, architecture

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.one_shot(images, self.architecture)


@dataclass(frozen=True)
class EnasConfig:
    """ENAS settings; the defaults run on digits on two CPU cores in about a minute."""

    epochs: int = 24
    warmup_epochs: int = 8  # of `epochs`: shared weights trained on uniform random architectures, controller idle
    batch_size: int = 64
    learning_rate: float = 3e-3  # Adam on the shared weights
    controller_steps: int = 10  # REINFORCE steps per epoch
    valid_batch_size: int = 100
    hidden_size: int = 64
    policy: PolicySettings = field(default_factory=PolicySettings)
    derive_samples: int = 100
    top_k: int = 3
    useless_ops: int = 0  # poisoning level: useless ops beside the three real ones
    train_images: int | None = None  # per epoch of shared training, drawn anew from the training set; None: all
    valid_images: int | None = None  # the first ones of the validation set score rewards and derivation; None: all
    shape: NetworkShape = field(default_factory=lambda: SEARCH_SHAPE)

    def __post_init__(self):
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(f"warmup_epochs must be in 0..epochs, got {self.warmup_epochs}")
        for name in ("epochs", "batch_size", "valid_batch_size", "hidden_size", "derive_samples", "top_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("train_images", "valid_images"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.controller_steps < 0:
            raise ValueError(f"controller_steps must be >= 0, got {self.controller_steps}")
        op_set(self.useless_ops)  # validates the level


@dataclass
class Derived:
    architecture: Architecture
    one_shot_accuracy: float  # on the validation set (or its first `valid_images`), shared weights


@dataclass
class EnasResult:
    config: EnasConfig
    ops: tuple[str, ...]
    one_shot: OneShotNetwork
    policy: PolicyGradient
    derived: list[Derived]
    history: list[dict]  # per epoch: shared loss, mean controller reward, useless-op share of its samples
    seconds: float
    trained_distinct: int  # distinct cells the controller's samples trained the shared weights on (after warm-up)
    sampled_distinct: int  # distinct cells among the `derive_samples` samples of the derivation

    def notes(self) -> tuple[list[str], list[str]]:
        """(information lines, warning lines) on what the search sampled and what it hands on."""
        info = [
            f"sampled {self.trained_distinct} distinct cell(s) for the shared weights after warm-up; derivation: "
            f"{self.sampled_distinct} distinct of {self.config.derive_samples} samples, {len(self.derived)} kept"
        ]
        warnings = []
        if self.sampled_distinct == 1:
            warnings.append(
                f"the derivation collapsed to one cell: all {self.config.derive_samples} samples are "
                f"{self.derived[0].architecture.describe()}"
            )
        for rank, derived in enumerate(self.derived, start=1):
            if not derived.architecture.active_ops:
                warnings.append(
                    f"cell {rank} has no operation (input -> output): only its projections and the classifier "
                    "learn; search longer (--epochs) or take another cell"
                )
        return info, warnings

    def summary(self) -> dict:
        return {
            "config": asdict(self.config),
            "ops": list(self.ops),
            "history": self.history,
            "seconds": self.seconds,
            "trained_distinct": self.trained_distinct,
            "sampled_distinct": self.sampled_distinct,
            "derived": [
                {"architecture": d.architecture.describe(), "one_shot_accuracy": d.one_shot_accuracy}
                for d in self.derived
            ],
        }


class EnasSearch:
    """One seeded ENAS run on `data`; `run()` trains and derives."""

    def __init__(self, data: DeviceCifar, config: EnasConfig = EnasConfig(), seed: int = 0, progress: bool = True):
        self.data, self.config, self.seed, self.progress = data, config, seed, progress
        self.ops = op_set(config.useless_ops)
        torch.manual_seed(seed)
        self.one_shot = OneShotNetwork(self.ops, config.shape).to(data.device)
        self.policy = PolicyGradient(
            enas_controller(len(self.ops), config.hidden_size), config.policy, torch.Generator().manual_seed(seed + 1)
        )
        self.optimizer = torch.optim.Adam(self.one_shot.parameters(), lr=config.learning_rate)
        self.batches = torch.Generator().manual_seed(seed + 2)
        self.augmentation = torch.Generator(device=data.device).manual_seed(seed + 4)
        self.rng = np.random.default_rng(seed + 3)
        self.valid = data.valid
        if config.valid_images is not None:
            self.valid = Split(data.valid.images[: config.valid_images], data.valid.labels[: config.valid_images])
        self.trained_keys: set[tuple] = set()

    def sample_architectures(self, count: int) -> list[Architecture]:
        """`count` valid architectures from the controller (invalid samples redrawn)."""
        found: list[Architecture] = []
        for _ in range(1000):
            for row in self.policy.sample(max(2 * (count - len(found)), 8)):
                architecture = from_decisions(row, self.ops)
                if architecture is not None and len(found) < count:
                    found.append(architecture)
            if len(found) == count:
                return found
        raise RuntimeError("the controller produced no valid architecture in 1000 batches")

    def train_shared(self, uniform: bool = False) -> float:
        """One epoch of the shared weights, one architecture per minibatch (the controller's, or uniform); mean loss."""
        self.one_shot.train()
        batches = shuffled_batches(len(self.data.train), self.config.batch_size, self.batches, self.config.train_images)
        if uniform:
            architectures = [random_architecture(self.ops, self.rng) for _ in batches]
        else:
            architectures = self.sample_architectures(len(batches))
            self.trained_keys.update(architecture.key() for architecture in architectures)
        losses = []
        for indices, architecture in zip(batches, architectures):
            indices = indices.to(self.data.device)
            logits = self.one_shot(self.data.augmented_batch(indices, self.augmentation), architecture)
            loss = F.cross_entropy(logits, self.data.train.labels[indices])
            if not math.isfinite(loss.item()):
                raise TrainingDivergedError(f"one-shot training loss is {loss.item()} on {architecture.describe()}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
        return float(np.mean(losses))

    @torch.no_grad()
    def _rewards(self, rows: list[list[int]]) -> list[float]:
        valid = self.valid
        picked = torch.randperm(len(valid), generator=self.batches)[: self.config.valid_batch_size].to(self.data.device)
        images, labels = self.data.normalize(valid.images[picked]), valid.labels[picked]
        rewards = []
        for row in rows:
            architecture = from_decisions(row, self.ops)
            if architecture is None:
                rewards.append(INVALID_REWARD)
            else:
                rewards.append(float((self.one_shot(images, architecture).argmax(dim=1) == labels).float().mean()))
        return rewards

    def train_controller(self) -> float:
        """`controller_steps` REINFORCE steps; the mean reward."""
        rewards = [self.policy.step(self._rewards) for _ in range(self.config.controller_steps)]
        return float(np.mean(rewards)) if rewards else float("nan")

    @torch.no_grad()
    def derive(self) -> tuple[list[Derived], int]:
        """ENAS's derivation: sample architectures, keep the `top_k` best by one-shot validation accuracy;
        also the number of distinct cells sampled."""
        unique: dict[tuple, Architecture] = {}
        for architecture in self.sample_architectures(self.config.derive_samples):
            unique.setdefault(architecture.key(), architecture)
        scored = [Derived(architecture, self.one_shot_accuracy(architecture)) for architecture in unique.values()]
        scored.sort(key=lambda d: -d.one_shot_accuracy)
        return scored[: self.config.top_k], len(unique)

    def useless_shares(self, count: int = 200) -> dict:
        """How often the controller picks useless ops: among the active vertices of its (valid) samples,
        and among all its op decisions (pruned slots included, so a collapse onto tiny cells does not hide it)."""
        rows = np.array(self.policy.sample(count))[:, : len(INTERIOR_SLOTS)]
        return {
            "useless_share_active": useless_fraction(self.sample_architectures(count)),
            "useless_share_decisions": float(np.mean(rows >= NUM_REAL_OPS)),
        }

    @torch.no_grad()
    def one_shot_accuracy(self, architecture: Architecture) -> float:
        """Accuracy of `architecture` on the validation set (or its first `valid_images`) with the shared weights
        (in batches of 512: the one-shot network normalizes with batch statistics, so the batch size is part of
        the score)."""
        network = _SubNetwork(self.one_shot, architecture)
        return evaluate_accuracy(network, self.data, self.valid, batch_size=512, whole_batches_only=False)

    def run(self) -> EnasResult:
        started = time.perf_counter()
        history = []
        epochs = tqdm(range(self.config.epochs), desc="ENAS", unit="epoch", disable=not self.progress, leave=False)
        for epoch in epochs:
            warmup = epoch < self.config.warmup_epochs
            loss = self.train_shared(uniform=warmup)
            reward = float("nan") if warmup else self.train_controller()
            history.append({"epoch": epoch + 1, "shared_loss": loss, "mean_reward": reward, **self.useless_shares()})
            epochs.set_postfix(loss=f"{loss:.3f}", reward=f"{reward:.3f}")
        derived, sampled_distinct = self.derive()
        seconds = time.perf_counter() - started
        return EnasResult(
            self.config, self.ops, self.one_shot, self.policy, derived, history, seconds,
            len(self.trained_keys), sampled_distinct,
        )  # fmt: skip
