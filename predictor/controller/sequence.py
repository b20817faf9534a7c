"""A recurrent policy over a fixed sequence of categorical decisions, for REINFORCE-style search.

Every controller-driven search of the project (REINFORCE on the NAS-Bench-101 cell, the
halfmoon toy, ENAS) describes its architectures as the same thing: a sequence of decisions,
each picked from a small set of choices. Decisions of one *kind* (e.g. "op of a vertex",
"edge on/off") share an output head; each choice is fed back as the next step's input token,
and a learned position embedding says which decision comes next. A `forbid` hook masks choices
that would break a constraint given the decisions so far (e.g. a 10th edge).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from predictor.data.cell import MAX_EDGES
from predictor.data.encodings import EDGES, NUM_INTERIOR

Forbid = Callable[[int, list[torch.Tensor]], torch.Tensor | None]
"""(step, decisions so far, each (count,)) -> a bool mask (count, choices) of forbidden choices, or None."""


class SequenceController(nn.Module):
    """Samples `count` decision sequences at once; log-probabilities and entropies keep their graphs.

    `kinds[k]` is the number of choices of decision kind k; `steps[i]` the kind of decision i.
    `cell` is "gru" (REINFORCE in NAS-Bench-101's comparison) or "lstm" (ENAS).
    """

    def __init__(
        self,
        kinds: Sequence[int],
        steps: Sequence[int],
        hidden_size: int = 32,
        cell: str = "gru",
        forbid: Forbid | None = None,
    ):
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        if not kinds or min(kinds) < 1 or any(not 0 <= k < len(kinds) for k in steps):
            raise ValueError(f"bad decision layout: kinds {list(kinds)}, steps {list(steps)}")
        self.kinds, self.steps, self.hidden_size, self.forbid = list(kinds), list(steps), hidden_size, forbid
        self.offsets = [sum(self.kinds[:k]) for k in range(len(self.kinds))]  # first token id of each kind
        self.start_token = sum(self.kinds)
        self.tokens = nn.Embedding(self.start_token + 1, hidden_size)
        self.positions = nn.Embedding(len(self.steps), hidden_size)
        self.cell = nn.GRUCell(hidden_size, hidden_size) if cell == "gru" else nn.LSTMCell(hidden_size, hidden_size)
        self.heads = nn.ModuleList(nn.Linear(hidden_size, n) for n in self.kinds)

    def _run(self, count: int, decide: Callable[[int, torch.Tensor], torch.Tensor]):
        zeros = torch.zeros(count, self.hidden_size)
        state = zeros if isinstance(self.cell, nn.GRUCell) else (zeros, zeros)
        token = torch.full((count,), self.start_token)
        log_probability, entropy, decisions = torch.zeros(count), torch.zeros(count), []
        for step, kind in enumerate(self.steps):
            state = self.cell(self.tokens(token) + self.positions.weight[step], state)
            logits = self.heads[kind](state if isinstance(state, torch.Tensor) else state[0])
            forbidden = self.forbid(step, decisions) if self.forbid else None
            if forbidden is not None:
                logits = logits.masked_fill(forbidden, float("-inf"))
            log_p = torch.log_softmax(logits, dim=-1)
            choice = decide(step, log_p)
            decisions.append(choice)
            log_probability = log_probability + log_p.gather(1, choice[:, None])[:, 0]
            entropy = entropy - (log_p.exp() * log_p.clamp(min=-1e9)).sum(dim=1)  # 0 * log 0 = 0, not NaN
            token = choice + self.offsets[kind]
        return torch.stack(decisions, dim=1), log_probability, entropy

    def sample(self, count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`count` independent sequences: decisions (count, steps), log-probability and entropy (count,)."""
        return self._run(
            count, lambda step, log_p: torch.multinomial(log_p.detach().exp(), 1, generator=generator)[:, 0]
        )

    def most_likely(self, count: int = 1) -> torch.Tensor:
        """The greedy sequence (argmax at every step), as decisions (count, steps)."""
        with torch.no_grad():
            return self._run(count, lambda step, log_p: log_p.argmax(dim=1))[0]


def cell_controller(num_ops: int, hidden_size: int, cell: str = "gru") -> SequenceController:
    """The NAS-Bench-101 cell as decisions (`encodings.spec_of_decisions`): 5 op decisions (kind 0, `num_ops`
    choices), then 21 edge decisions (kind 1: off/on); a 10th edge is never sampled."""

    def forbid(step: int, decisions: list[torch.Tensor]) -> torch.Tensor | None:
        if step < NUM_INTERIOR:
            return None
        edges_on = sum(decisions[NUM_INTERIOR:], torch.zeros_like(decisions[0]))
        return (edges_on >= MAX_EDGES)[:, None] & (torch.arange(2) == 1)

    return SequenceController([num_ops, 2], [0] * NUM_INTERIOR + [1] * len(EDGES), hidden_size, cell, forbid)
