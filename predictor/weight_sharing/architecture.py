"""Architectures of the one-shot space: 7 vertex slots, an op per interior slot, <= 9 edges, pruned in place.

The controller and the one-shot network see a cell in its *slot layout*: the input in slot
0, the output in slot 6, interior vertices in slots 1..5, each slot owning its own shared
weights. Pruning (dropping vertices off every input -> output path, as NAS-Bench-101 does)
keeps the layout and only switches slots off, so a slot always means the same weights.
The op set may hold useless ops beside the three real ones (search-space poisoning); an
architecture whose active vertices only carry real ops is a NAS-Bench-101 cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.data.cell import INPUT, INTERIOR_OPS, MAX_EDGES, MAX_VERTICES, OP_NAMES, OUTPUT, Cell
from predictor.data.encodings import EDGES, INTERIOR_SLOTS, fixed_layout, spec_of_decisions
from predictor.data.graph import reachable_from_input, reaching_output

NUM_SLOTS = MAX_VERTICES
ZERO, NOISE, CONSTANT, SHUFFLE = "zero", "noise", "constant", "shuffle"
USELESS_OPS = (ZERO, NOISE, CONSTANT, SHUFFLE)  # poisoning level k adds the first k


def op_set(useless: int = 0) -> tuple[str, ...]:
    """The vertex op set at a poisoning level: the three real ops, then `useless` useless ones."""
    if not 0 <= useless <= len(USELESS_OPS):
        raise ValueError(f"the poisoning level must be in 0..{len(USELESS_OPS)}, got {useless}")
    return INTERIOR_OPS + USELESS_OPS[:useless]


@dataclass(frozen=True, eq=False)
class Architecture:
    """A pruned cell in slot layout: `matrix` (7, 7) with inactive slots' rows and columns zero, `ops` per slot."""

    matrix: np.ndarray
    ops: tuple[str, ...]  # ops[0] = "input", ops[6] = "output"; inactive slots keep their (unused) op

    @classmethod
    def from_spec(cls, matrix: np.ndarray, ops: tuple[str, ...] | list[str]) -> Architecture | None:
        """The pruned architecture of a 7-slot spec; None when the input does not reach the output or > 9 edges."""
        matrix = np.triu(np.asarray(matrix, dtype=np.int8), 1)
        keep = reachable_from_input(matrix) & reaching_output(matrix)
        if not (keep[0] and keep[-1]):
            return None
        matrix = matrix * np.outer(keep, keep).astype(np.int8)
        if matrix.sum() > MAX_EDGES:
            return None
        matrix.setflags(write=False)
        return cls(matrix, (INPUT, *tuple(ops)[1:-1], OUTPUT))

    @classmethod
    def from_cell(cls, cell: Cell) -> Architecture:
        """A NAS-Bench-101 cell in slot layout (`encodings.fixed_layout`): its interior vertices in slots 1..,
        its output in slot 6, unused slots holding the first op."""
        adjacency, codes = cell.padded()
        matrix, slot_codes = fixed_layout(adjacency[None], codes[None], np.array([cell.num_vertices]), empty=0)
        architecture = cls.from_spec(matrix[0], [OP_NAMES[int(code)] for code in slot_codes[0]])
        assert architecture is not None  # a valid cell stays valid in slot layout
        return architecture

    @property
    def active(self) -> np.ndarray:
        """(7,) bool: the slots on an input -> output path."""
        active = self.matrix.any(axis=0) | self.matrix.any(axis=1)
        active[0] = active[-1] = True
        return active

    @property
    def active_ops(self) -> tuple[str, ...]:
        """The ops of the active interior slots, in slot order."""
        return tuple(self.ops[s] for s in INTERIOR_SLOTS if self.active[s])

    def is_real(self) -> bool:
        """True when every active vertex carries one of NAS-Bench-101's three ops."""
        return all(op in INTERIOR_OPS for op in self.active_ops)

    def cell(self) -> Cell:
        """The NAS-Bench-101 cell (ValueError when an active vertex carries a useless op)."""
        if not self.is_real():
            raise ValueError(f"not a NAS-Bench-101 cell: active ops {self.active_ops}")
        keep = self.active
        return Cell.from_spec(self.matrix[np.ix_(keep, keep)], [op for op, k in zip(self.ops, keep) if k])

    def key(self) -> tuple:
        """Equal for equal pruned slot layouts (inactive slots' ops ignored)."""
        ops = tuple(op if active else "" for op, active in zip(self.ops, self.active))
        return self.matrix.tobytes(), ops

    def describe(self) -> str:
        rows = " ".join("".join(map(str, row)) for row in self.matrix.tolist())
        return f"{rows} [{','.join(self.active_ops)}]"


def from_decisions(decisions: list[int], ops: tuple[str, ...]) -> Architecture | None:
    """The architecture of a controller sequence (`encodings.spec_of_decisions`), op codes indexing `ops`."""
    matrix, codes = spec_of_decisions(decisions)
    return Architecture.from_spec(matrix, [INPUT, *(ops[code] for code in codes[1:-1]), OUTPUT])


def random_architecture(ops: tuple[str, ...], rng: np.random.Generator, max_draws: int = 10_000) -> Architecture:
    """Uniform random ops and edges (each on with probability 1/2), redrawn until valid: random search's sampler."""
    for _ in range(max_draws):
        decisions = [*rng.integers(0, len(ops), len(INTERIOR_SLOTS)).tolist(), *rng.integers(0, 2, len(EDGES)).tolist()]
        architecture = from_decisions(decisions, ops)
        if architecture is not None:
            return architecture
    raise RuntimeError(f"no valid architecture in {max_draws} draws")


def useless_fraction(architectures: list[Architecture]) -> float:
    """The share of active interior vertices that carry a useless op."""
    ops = [op for architecture in architectures for op in architecture.active_ops]
    return sum(op not in INTERIOR_OPS for op in ops) / max(len(ops), 1)
