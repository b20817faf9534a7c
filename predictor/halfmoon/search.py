"""REINFORCE with a decaying entropy bonus and random search over the halfmoon space, run in lockstep.

The controller is the project's `SequenceController` (one GRU cell, a linear head per decision
kind) over the space's 12 decisions. Each update draws `per_update` rollouts, trains their
children, and takes one Adam step on
    loss = -mean(advantage * log p(architecture)) - w * mean(entropy),
with the reward (validation accuracy) standardized within the batch as the advantage, and the
entropy weight w = entropy_weight * entropy_decay ** (rollouts so far), which decays
exponentially so the controller explores first and commits later. Random search draws every
decision uniformly among the allowed choices (the same process with a flat policy).

Several searches (seeds, methods) advance together one update at a time: all children they
propose are trained as one batch, and a child already trained (same seed, same architecture)
is taken from the cache, since its result depends on that key alone (see `children`).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from predictor.controller.reinforce import reinforce_step
from predictor.controller.sequence import SequenceController
from predictor.halfmoon.children import ChildKey, ChildTraining, Halfmoon, train_children
from predictor.halfmoon.space import KINDS, STEPS, Architecture, decode, describe, forbid, sample_uniform

METHODS = ("controller", "random")
LATE = 500  # the last rollouts (all of a shorter search), where a converged search's samples are summarized


@dataclass(frozen=True)
class ControllerSettings:
    """minimal-nas's controller is a 64-unit GRU cell; the rest is chosen for batched updates."""

    hidden_size: int = 64
    learning_rate: float = 0.01
    entropy_weight: float = 0.1
    entropy_decay: float = 0.999  # per rollout: the bonus falls to 0.7% of its start after 5,000 rollouts


class ControllerSearch:
    """REINFORCE on `SequenceController` (see the module docstring)."""

    method = "controller"

    def __init__(self, seed: int, settings: ControllerSettings = ControllerSettings()):
        self.seed, self.settings, self.rollouts = seed, settings, 0
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.controller = SequenceController(KINDS, STEPS, settings.hidden_size, cell="gru", forbid=forbid)
        self.generator = torch.Generator().manual_seed(seed)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=settings.learning_rate)
        self._log_probability = self._entropy = None

    def propose(self, count: int) -> list[Architecture]:
        decisions, self._log_probability, self._entropy = self.controller.sample(count, self.generator)
        return [decode(row) for row in decisions.tolist()]

    def learn(self, rewards: np.ndarray) -> None:
        reward = torch.as_tensor(rewards, dtype=torch.float32)
        advantage = reward - reward.mean()
        if len(reward) > 1:
            advantage = advantage / (reward.std() + 1e-3)
        weight = self.settings.entropy_weight * self.settings.entropy_decay**self.rollouts
        reinforce_step(self.optimizer, self._log_probability, advantage, self._entropy, weight)
        self.rollouts += len(rewards)

    def most_likely(self) -> Architecture:
        """The controller's greedy architecture."""
        return decode(self.controller.most_likely(1)[0].tolist())


class RandomSearch:
    """Every decision uniform among the allowed choices; learns nothing."""

    method = "random"

    def __init__(self, seed: int):
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    def propose(self, count: int) -> list[Architecture]:
        return [decode(row) for row in sample_uniform(count, self.generator).tolist()]

    def learn(self, rewards: np.ndarray) -> None:
        pass


@dataclass
class SearchTrace:
    """What one search saw: per rollout, the architecture and its child's accuracies."""

    method: str
    seed: int
    architectures: list[Architecture] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)

    @property
    def best(self) -> int:
        """Index of the first rollout with the highest validation accuracy (the search's pick)."""
        return int(np.argmax(self.validation))

    def summary(self) -> dict:
        best = self.best
        late = self.architectures[-LATE:]
        settled, count = Counter(late).most_common(1)[0]  # where a learning search has converged to
        at = len(self.architectures) - 1 - self.architectures[::-1].index(settled)
        return {
            "method": self.method,
            "seed": self.seed,
            "rollouts": len(self.validation),
            "unique_architectures": len(set(self.architectures)),
            "best_architecture": describe(self.architectures[best]),
            "best_found_at": best + 1,
            "best_validation_accuracy": self.validation[best],
            "best_test_accuracy": self.test[best],
            "late_rollouts": len(late),
            "mean_validation_accuracy_late": float(np.mean(self.validation[-LATE:])),
            "mean_test_accuracy_late": float(np.mean(self.test[-LATE:])),
            "most_sampled_late": describe(settled),
            "most_sampled_share": count / len(late),
            "most_sampled_validation_accuracy": self.validation[at],
            "most_sampled_test_accuracy": self.test[at],
        }


Search = ControllerSearch | RandomSearch


def make_search(method: str, seed: int, settings: ControllerSettings = ControllerSettings()) -> Search:
    """A fresh search of `method` ("controller" or "random") with its own seed."""
    if method == "controller":
        return ControllerSearch(seed, settings)
    if method == "random":
        return RandomSearch(seed)
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


@dataclass
class LockstepResult:
    traces: list[SearchTrace]
    seconds: float
    children_trained: int


def run_lockstep(
    searches: list[Search],
    rollouts: int,
    per_update: int,
    data: Halfmoon,
    training: ChildTraining = ChildTraining(),
    progress: bool = True,
) -> LockstepResult:
    """Advance every search `rollouts` rollouts, `per_update` at a time, training all new children at once."""
    if rollouts < 1 or per_update < 1:
        raise ValueError(f"rollouts and per_update must be positive, got {rollouts} and {per_update}")
    started = time.perf_counter()
    traces = [SearchTrace(search.method, search.seed) for search in searches]
    cache: dict[ChildKey, tuple[float, float]] = {}
    updates = math.ceil(rollouts / per_update)
    with tqdm(total=updates, desc="updates", unit=" update", disable=not progress) as bar:
        for update in range(updates):
            count = min(per_update, rollouts - update * per_update)
            proposals = [search.propose(count) for search in searches]
            new = list(
                dict.fromkeys((s.seed, a) for s, p in zip(searches, proposals) for a in p if (s.seed, a) not in cache)
            )
            if new:
                validation, test = train_children(new, data, training)
                cache.update(zip(new, zip(validation.tolist(), test.tolist())))
            for search, proposal, trace in zip(searches, proposals, traces):
                results = np.array([cache[(search.seed, a)] for a in proposal])
                trace.architectures.extend(proposal)
                trace.validation.extend(results[:, 0].tolist())
                trace.test.extend(results[:, 1].tolist())
                search.learn(results[:, 0])
            bar.set_postfix(children=len(cache), best=f"{max(max(t.validation) for t in traces):.3f}")
            bar.update()
    return LockstepResult(traces, time.perf_counter() - started, len(cache))
