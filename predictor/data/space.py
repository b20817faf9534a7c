"""The NAS-Bench-101 space: every unique cell, in the order of the official generator.

The official generator (`nasbench/scripts/generate_graphs.py`) walks, for V = 2..7
vertices, every bit pattern of a V-vertex upper-triangular matrix in increasing
order, keeps the full DAGs with at most 9 edges, tries every labelling of the
interior vertices in `itertools.product` order and keeps the first (matrix,
labelling) of each module hash. Those first representatives are the adjacency and
operations stored in the official dataset, so this module reproduces that order and
those representatives exactly.

Running that loop as written hashes 1.3 million labelled graphs with about 50 md5
calls each (minutes of CPU). Instead the enumeration runs in two vectorised stages:

1. deduplicate: every labelled graph of V vertices gets a 128-bit key from the same
   Weisfeiler-Lehman refinement as the official hash (same initial vertex states, same
   in-/out-neighbour multisets, same V rounds), with random-like 64-bit sums standing in
   for md5 over sorted lists. Graphs with equal official hashes get equal keys by
   construction; unequal ones get unequal keys except by an accident far less likely
   than 2**-100 per pair, which would show as a missing module (the full space is
   checked against the published counts). The first graph of each key is the
   representative.
2. hash: the official md5 hash of each representative only, computed for all
   representatives of one size at once (`module_hashes`).

Both stages split their work over processes.
"""

from __future__ import annotations

import itertools
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from tqdm import tqdm

from predictor.data.atomic import atomic_output
from predictor.data.cell import MAX_EDGES, MAX_VERTICES, Cell
from predictor.data.graph import INPUT_LABEL, OUTPUT_LABEL, edge_bit, rows_by_hash
from predictor.data.workers import imap

try:  # CPython's own md5 costs less per call than the OpenSSL binding on short messages; same digests.
    from _md5 import md5 as _md5
except ImportError:  # pragma: no cover - interpreters without the built-in module
    from hashlib import md5 as _md5
_digest = type(_md5()).digest

CACHE_FORMAT_VERSION = 1
DEFAULT_CACHE_PATH = Path("data/space.npz")

NUM_INTERIOR_OPS = 3

# Published size of the full space (<= 7 vertices, <= 9 edges), by vertex count 2..7.
PUBLISHED_COUNTS = {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010, 7: 359082}

_ARRAYS = ("hashes", "num_vertices", "adjacency", "operations")
# byte -> its two lower-case hex digits, as one 16-bit word (the bytes in memory order)
_HEX_WORDS = np.frombuffer(b"".join(f"{byte:02x}".encode() for byte in range(256)), dtype=np.uint16)

# Work sizes of one task: small enough to balance two or more processes and keep
# the arrays of a task in cache, large enough that per-task overhead does not matter.
_GRAPHS_PER_DEDUP_TASK = 1 << 15
_GRAPHS_PER_HASH_TASK = 1 << 12
_GRAPHS_WORTH_A_POOL = 50_000


@dataclass(frozen=True, eq=False)
class Space:
    """All unique cells, row i being module i in the layout of the project's HDF5 file.

    `adjacency` and `operations` are zero-padded to 7 vertices with the output vertex at
    V-1, exactly as the dataset stores them, so rows can be compared byte for byte.
    """

    hashes: np.ndarray  # (N,) S32
    num_vertices: np.ndarray  # (N,) int8
    adjacency: np.ndarray  # (N, 7, 7) int8
    operations: np.ndarray  # (N, 7) int8

    def __post_init__(self) -> None:
        # Read-only: one space is shared by every user of a process, none may change it for the others.
        for name in _ARRAYS:
            getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return len(self.hashes)

    def cell(self, index: int) -> Cell:
        """The validated cell of row `index`."""
        return Cell.from_padded(self.adjacency[index], self.operations[index], self.num_vertices[index])

    @cached_property
    def _row_of_hash(self) -> dict[bytes, int]:
        # Built on first use only: most users of a loaded space never look hashes up.
        return rows_by_hash(self.hashes)

    def index_of(self, module_hash: str | bytes) -> int:
        """Row of a module hash; KeyError when the hash is not in the space."""
        key = module_hash.encode("ascii") if isinstance(module_hash, str) else bytes(module_hash)
        try:
            return self._row_of_hash[key]
        except KeyError:
            raise KeyError(f"module hash {module_hash!r} is not in the space") from None

    def __contains__(self, module_hash: object) -> bool:
        if not isinstance(module_hash, (str, bytes)):
            return False
        key = module_hash.encode("ascii") if isinstance(module_hash, str) else module_hash
        return key in self._row_of_hash


# ----------------------------------------------------------------------------------
# Graphs in the order of the official generator


def full_dag_bit_patterns(num_vertices: int, max_edges: int = MAX_EDGES) -> np.ndarray:
    """Increasing bit patterns (see `edge_bit`) of the full DAGs with at most `max_edges` edges.

    A full DAG has an out-edge at every vertex but the output and an in-edge at every
    vertex but the input: exactly the matrices the official generator keeps.
    """
    num_bits = num_vertices * (num_vertices - 1) // 2
    patterns = np.arange(1 << num_bits, dtype=np.int64)
    edge_counts = np.zeros(len(patterns), dtype=np.int8)
    for bit in range(num_bits):
        edge_counts += ((patterns >> bit) & 1).astype(np.int8)
    keep = edge_counts <= max_edges
    for x in range(num_vertices - 1):
        out_mask = sum(1 << edge_bit(x, y) for y in range(x + 1, num_vertices))
        keep &= (patterns & out_mask) != 0
    for y in range(1, num_vertices):
        in_mask = sum(1 << edge_bit(x, y) for x in range(y))
        keep &= (patterns & in_mask) != 0
    return patterns[keep]


def matrices_from_bit_patterns(patterns: np.ndarray, num_vertices: int) -> np.ndarray:
    """(len(patterns), V, V) int8 adjacency matrices; vectorised `graph.matrix_from_bits`."""
    patterns = np.asarray(patterns, dtype=np.int64)
    matrices = np.zeros((len(patterns), num_vertices, num_vertices), dtype=np.int8)
    for y in range(1, num_vertices):
        for x in range(y):
            matrices[:, x, y] = (patterns >> edge_bit(x, y)) & 1
    return matrices


def labellings(num_vertices: int) -> np.ndarray:
    """(3**(V-2), V) int8 vertex labels in the generator's `itertools.product` order."""
    interior = list(itertools.product(range(NUM_INTERIOR_OPS), repeat=num_vertices - 2))
    table = np.empty((len(interior), num_vertices), dtype=np.int8)
    table[:, 0] = INPUT_LABEL
    table[:, -1] = OUTPUT_LABEL
    table[:, 1:-1] = np.array(interior, dtype=np.int8).reshape(len(interior), num_vertices - 2)
    return table


# ----------------------------------------------------------------------------------
# Stage 1: 128-bit Weisfeiler-Lehman keys of labelled graphs

_MIX_MULTIPLIER_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_MULTIPLIER_2 = np.uint64(0x94D049BB133111EB)
# Odd weights that tell in-neighbour sums from out-neighbour sums (their difference is
# 2 * odd, so swapping the two multisets changes the key except with chance 2**-63).
_IN_WEIGHT = np.uint64(0x9E3779B97F4A7C15)
_OUT_WEIGHT = np.uint64(0xD6E8FEB86659FD93)


def _mix64(values: np.ndarray, salt: int, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser of values + salt into `out`: a bijective scrambler of 64-bit words.

    Sums of scrambled states behave like random hashes of multisets, which is what
    the official hash gets from md5 over sorted neighbour lists. (Writing into given
    buffers instead of new arrays makes this several times faster.)
    """
    np.add(values, np.uint64(salt), out=out)
    for shift, multiplier in ((30, _MIX_MULTIPLIER_1), (27, _MIX_MULTIPLIER_2)):
        np.right_shift(out, np.uint64(shift), out=scratch)
        out ^= scratch
        out *= multiplier
    np.right_shift(out, np.uint64(31), out=scratch)
    out ^= scratch
    return out


def initial_vertex_codes(matrices: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Injective small-integer code of (out-degree, in-degree, label), the official round-0 state."""
    out_degree = matrices.sum(axis=-1, dtype=np.int64)
    in_degree = matrices.sum(axis=-2, dtype=np.int64)
    return (out_degree * 8 + in_degree) * 8 + (labels.astype(np.int64) - OUTPUT_LABEL)


def wl_keys(matrices: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(2, M * L) uint64 keys of the labelled graphs (matrix m, labelling l), in loop order m * L + l.

    Equal official module hashes give equal keys: each round mirrors the official
    refinement (own state, in-neighbour multiset, out-neighbour multiset) for as many
    rounds as there are vertices, and the key is a multiset sum of the final states.
    The two rows are independent 64-bit lanes.
    """
    num_matrices, num_vertices, _ = matrices.shape
    # States are laid out (matrix, vertex, labelling) so that one edge slot of all
    # graphs is a single (M, L) operation; an absent edge weighs 0.
    codes = initial_vertex_codes(matrices[:, None], labels[None]).transpose(0, 2, 1)
    codes = np.ascontiguousarray(codes, dtype=np.uint64)  # (M, V, L)
    edges = [(x, y) for y in range(1, num_vertices) for x in range(y)]
    in_weights = {(x, y): (matrices[:, x, y, None].astype(np.uint64) * _IN_WEIGHT) for x, y in edges}
    out_weights = {(x, y): (matrices[:, x, y, None].astype(np.uint64) * _OUT_WEIGHT) for x, y in edges}
    keys = np.empty((2, num_matrices * len(labels)), dtype=np.uint64)
    states, scrambled, scratch = (np.empty_like(codes) for _ in range(3))
    term = np.empty_like(codes[:, 0])
    for lane in range(2):
        salt = 0x5EED0000 + 0x1000 * lane
        _mix64(codes, salt, out=states, scratch=scratch)
        for round_index in range(num_vertices):
            _mix64(states, salt + 1 + round_index, out=scrambled, scratch=scratch)
            states[...] = scrambled
            for x, y in edges:  # x is an in-neighbour of y, y an out-neighbour of x
                np.multiply(scrambled[:, x], in_weights[x, y], out=term)
                states[:, y] += term
                np.multiply(scrambled[:, y], out_weights[x, y], out=term)
                states[:, x] += term
        _mix64(states, salt + 0xFFF, out=scrambled, scratch=scratch)
        keys[lane] = scrambled.sum(axis=1, dtype=np.uint64).reshape(-1)
    return keys


def first_of_each_key(keys: np.ndarray) -> np.ndarray:
    """Increasing positions of the first occurrence of each distinct (lane 0, lane 1) key."""
    order = np.lexsort((keys[1], keys[0]))  # stable: equal keys keep their loop order
    sorted_keys = keys[:, order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (sorted_keys[:, 1:] != sorted_keys[:, :-1]).any(axis=0)
    return np.sort(order[starts])


def _wl_keys_of_patterns(num_vertices: int, patterns: np.ndarray) -> np.ndarray:
    return wl_keys(matrices_from_bit_patterns(patterns, num_vertices), labellings(num_vertices))


# ----------------------------------------------------------------------------------
# Stage 2: the official md5 hash, vectorised over many graphs of one size


def _md5_rows(messages: np.ndarray) -> np.ndarray:
    """Raw md5 digests (n, 16) uint8 of the rows of a (n, length) uint8 array."""
    count, length = messages.shape
    if count == 0:
        return np.empty((0, 16), dtype=np.uint8)
    rows = np.ascontiguousarray(messages).view(f"S{length}").ravel().tolist()  # no NUL bytes in messages
    return np.frombuffer(b"".join(map(_digest, map(_md5, rows))), dtype=np.uint8).reshape(count, 16)


def _hex(digests: np.ndarray) -> np.ndarray:
    """Lower-case hex (..., 32) uint8 of raw digests (..., 16), as `hexdigest()` writes them."""
    return np.take(_HEX_WORDS, digests).view(np.uint8)


def _rank_within_graph(digests: np.ndarray) -> np.ndarray:
    """(n, V) position of each vertex's hex digest in its graph's sorted list of hex digests.

    Hex strings sort like the big-endian digests they spell; equal digests get distinct
    but interchangeable positions.
    """
    words = np.ascontiguousarray(digests).view(">u8").astype(np.uint64)  # (n, V, 2)
    order = np.lexsort((words[..., 1], words[..., 0]), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(order.shape[-1])[None, :], axis=-1)
    return ranks


class _NeighbourLists:
    """Row-wise neighbours of every vertex of n graphs, as flat ids graph * V + vertex."""

    def __init__(self, adjacency: np.ndarray):
        n, self.num_vertices, _ = adjacency.shape
        self.graphs, _, self.neighbours = np.nonzero(adjacency)  # row-major: each row's neighbours together, in order
        self.first = np.zeros(n * self.num_vertices + 1, dtype=np.int64)
        np.cumsum(adjacency.sum(axis=2).ravel(), out=self.first[1:])

    def of(self, members: np.ndarray, degree: int) -> np.ndarray:
        """(len(members), degree) neighbours of the flat vertex ids `members`, each having `degree`."""
        positions = self.first[members][:, None] + np.arange(degree)
        return self.graphs[positions] * self.num_vertices + self.neighbours[positions]


def _in_digest_order(flat_ranks: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Each row of flat vertex ids reordered by the rank of their digests (ties in any order)."""
    keys = (flat_ranks[neighbours] << 32) | neighbours
    keys.sort(axis=1)
    return keys & 0xFFFFFFFF


def _same_first_round_message(
    initial_states: np.ndarray, members: np.ndarray, in_neighbours: np.ndarray, out_neighbours: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(first, inverse) of np.unique over the first-round messages of `members`, or None when not packable.

    A first-round message only depends on the initial state (a few hundred kinds) of
    the vertex and of its neighbours, so most vertices share theirs with another one:
    hashing each distinct message once saves most of that round's md5 calls.
    """
    fields = 1 + in_neighbours.shape[1] + out_neighbours.shape[1]
    if fields * 8 > 63 or initial_states.max(initial=0) >= 256:
        return None
    key = initial_states[members].astype(np.int64)
    for neighbours in (in_neighbours, out_neighbours):
        for column in np.sort(initial_states[neighbours], axis=1).T:
            key = (key << 8) | column
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def module_hashes(matrices: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Official module hashes (n,) S32 of n graphs with the same number of vertices.

    The same result as `predictor.data.graph.hash_module` row by row, but every md5 message of
    one refinement round is assembled with numpy, so the per-graph Python work is one
    md5 call per vertex and round.
    """
    matrices = np.asarray(matrices).astype(bool)
    labels = np.asarray(labels, dtype=np.int64)
    count, num_vertices = labels.shape
    if count == 0:
        return np.empty(0, dtype="S32")
    if count * num_vertices >= 1 << 32:
        raise ValueError("module_hashes packs vertex ids in 32 bits: hash fewer graphs at a time")
    in_degree = matrices.sum(axis=1).ravel()
    out_degree = matrices.sum(axis=2).ravel()
    if max(in_degree.max(), out_degree.max()) > 7 or labels.min() < OUTPUT_LABEL or labels.max() > 5:
        raise ValueError("module_hashes packs degrees and labels in 3 bits: degrees <= 7, labels in -2..5")

    codes = initial_vertex_codes(matrices, labels).ravel()
    distinct_codes, code_index = np.unique(codes, return_inverse=True)
    round0 = [
        _md5(str((int(c) // 64, int(c) // 8 % 8, int(c) % 8 + OUTPUT_LABEL)).encode()).digest() for c in distinct_codes
    ]
    digests = np.frombuffer(b"".join(round0), dtype=np.uint8).reshape(-1, 16)[code_index.ravel()]  # (n * V, 16)

    # Vertices with the same (in-degree, out-degree) share one message layout.
    predecessors = _NeighbourLists(matrices.transpose(0, 2, 1))
    successors = _NeighbourLists(matrices)
    groups = []
    for a, b in sorted(set(zip(in_degree.tolist(), out_degree.tolist()))):
        members = np.flatnonzero((in_degree == a) & (out_degree == b))
        groups.append((a, b, members, predecessors.of(members, a), successors.of(members, b)))

    initial_states = code_index.ravel()
    for round_index in range(num_vertices):
        hex_items = _hex(digests).view("S32").ravel()
        flat_ranks = _rank_within_graph(digests.reshape(count, num_vertices, 16)).ravel()
        new_digests = np.empty_like(digests)
        for a, b, members, in_neighbours, out_neighbours in groups:
            sharing = None
            if round_index == 0:
                sharing = _same_first_round_message(initial_states, members, in_neighbours, out_neighbours)
            hashed = slice(None) if sharing is None else sharing[0]
            # message: sorted in-neighbour hexes | sorted out-neighbour hexes | own hex
            messages = np.empty((len(members[hashed]), 32 * (a + b + 1) + 2), dtype=np.uint8)
            messages[:, : 32 * a] = hex_items[_in_digest_order(flat_ranks, in_neighbours[hashed])].view(np.uint8)
            messages[:, 32 * a] = ord("|")
            messages[:, 32 * a + 1 : 32 * (a + b) + 1] = hex_items[
                _in_digest_order(flat_ranks, out_neighbours[hashed])
            ].view(np.uint8)
            messages[:, 32 * (a + b) + 1] = ord("|")
            messages[:, 32 * (a + b) + 2 :] = hex_items[members[hashed], None].view(np.uint8)
            message_digests = _md5_rows(messages)
            new_digests[members] = message_digests if sharing is None else message_digests[sharing[1]]
        digests = new_digests

    # fingerprint: md5 of str(sorted(hex digests)), i.e. "['h0', 'h1', ...]"
    flat_ranks = _rank_within_graph(digests.reshape(count, num_vertices, 16)).ravel()
    quoted = np.empty((count * num_vertices, 36), dtype=np.uint8)
    quoted[:, 0] = ord("'")
    quoted[flat_ranks + np.arange(count).repeat(num_vertices) * num_vertices, 1:33] = _hex(digests)
    quoted[:, 33:] = np.frombuffer(b"', ", dtype=np.uint8)
    messages = np.empty((count, 36 * num_vertices), dtype=np.uint8)
    messages[:, 0] = ord("[")
    messages[:, 1:-1] = quoted.reshape(count, -1)[:, :-2]  # without the last ", "
    messages[:, -1] = ord("]")
    return _hex(_md5_rows(messages)).view("S32").ravel()


def _module_hashes_of(num_vertices: int, patterns: np.ndarray, labelling_rows: np.ndarray) -> np.ndarray:
    return module_hashes(matrices_from_bit_patterns(patterns, num_vertices), labellings(num_vertices)[labelling_rows])


# ----------------------------------------------------------------------------------
# Enumeration


def _worker_count(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity masks
        return os.cpu_count() or 1


def _call(task: tuple[Callable, tuple]) -> np.ndarray:
    function, args = task
    return function(*args)


def _run_tasks(tasks: list[tuple[Callable, tuple]], workers: int, bar: tqdm) -> list[np.ndarray]:
    """Results of `tasks` in order, computed by `workers` processes; the bar counts graphs."""
    results = []
    for result in imap(_call, tasks, workers):
        bar.update(result.shape[-1])
        results.append(result)
    return results


def _chunks(array: np.ndarray, size: int) -> Iterable[np.ndarray]:
    return (array[start : start + size] for start in range(0, len(array), max(1, size)))


def enumerate_space(
    max_vertices: int = MAX_VERTICES,
    max_edges: int = MAX_EDGES,
    progress: bool = True,
    workers: int | None = None,
) -> Space:
    """Every unique cell with 2..max_vertices vertices and <= max_edges edges, in official order.

    Row order is the order of first appearance in the official generator's loop and each
    row holds the first (matrix, labelling) of its module hash, as in the official dataset.
    `workers` processes share the work (default: the CPUs this process may use, once the
    space is big enough to pay for starting them).
    """
    if not 2 <= max_vertices <= MAX_VERTICES:
        raise ValueError(f"max_vertices must be in 2..{MAX_VERTICES}, got {max_vertices}")
    sizes = range(2, max_vertices + 1)
    patterns = {v: full_dag_bit_patterns(v, max_edges) for v in sizes}
    labelled_graphs = sum(len(patterns[v]) * NUM_INTERIOR_OPS ** (v - 2) for v in sizes)
    if workers is None and labelled_graphs < _GRAPHS_WORTH_A_POOL:
        workers = 1
    workers = _worker_count(workers)
    # Stage 1: the first labelled graph of each key, per vertex count.
    dedup_tasks, task_sizes = [], []
    for v in sizes:
        matrices_per_task = max(1, _GRAPHS_PER_DEDUP_TASK // NUM_INTERIOR_OPS ** (v - 2))
        for chunk in _chunks(patterns[v], matrices_per_task):
            dedup_tasks.append((_wl_keys_of_patterns, (v, chunk)))
            task_sizes.append(v)
    with tqdm(total=labelled_graphs, desc="labelled graphs", unit="graph", disable=not progress) as bar:
        results = _run_tasks(dedup_tasks, workers, bar)
    representatives = {}
    for v in sizes:
        keys = [r for r, size in zip(results, task_sizes) if size == v]
        first = first_of_each_key(np.concatenate(keys, axis=1)) if keys else np.empty(0, dtype=np.int64)
        per_matrix = NUM_INTERIOR_OPS ** (v - 2)
        representatives[v] = (patterns[v][first // per_matrix], first % per_matrix)
    del results

    # Stage 2: official hashes of the representatives.
    hash_tasks = [
        (_module_hashes_of, (v, pattern_chunk, labelling_chunk))
        for v in sizes
        for pattern_chunk, labelling_chunk in zip(
            _chunks(representatives[v][0], _GRAPHS_PER_HASH_TASK),
            _chunks(representatives[v][1], _GRAPHS_PER_HASH_TASK),
        )
    ]
    total = sum(len(representatives[v][0]) for v in sizes)
    with tqdm(total=total, desc="module hashes", unit="module", disable=not progress) as bar:
        hashes = _run_tasks(hash_tasks, workers, bar)

    count = total
    num_vertices = np.empty(count, dtype=np.int8)
    adjacency = np.zeros((count, MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
    operations = np.zeros((count, MAX_VERTICES), dtype=np.int8)
    start = 0
    for v in sizes:
        rep_patterns, rep_labellings = representatives[v]
        rows = slice(start, start + len(rep_patterns))
        num_vertices[rows] = v
        adjacency[rows, :v, :v] = matrices_from_bit_patterns(rep_patterns, v)
        operations[rows, :v] = labellings(v)[rep_labellings]
        start = rows.stop
    space = Space(np.concatenate(hashes or [np.empty(0, dtype="S32")]), num_vertices, adjacency, operations)
    if len(np.unique(space.hashes)) != count:  # equal keys must mean equal hashes; never expected
        raise RuntimeError("two representatives share a module hash: the deduplication keys are inconsistent")
    if max_vertices == MAX_VERTICES and max_edges == MAX_EDGES:
        counts = {v: int(np.count_nonzero(space.num_vertices == v)) for v in sizes}
        if counts != PUBLISHED_COUNTS:
            raise RuntimeError(f"enumerated {counts} modules per vertex count, published {PUBLISHED_COUNTS}")
    return space


# ----------------------------------------------------------------------------------
# Cache


def _read_cache(path: Path, max_vertices: int, max_edges: int) -> Space | None:
    """The cached space, or None when the file is missing, unreadable, stale or for other limits."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if (
                int(stored["format_version"]) != CACHE_FORMAT_VERSION
                or int(stored["max_vertices"]) != max_vertices
                or int(stored["max_edges"]) != max_edges
            ):
                return None
            arrays = {name: stored[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile):  # missing or garbled file
        return None
    expected = {"hashes": "S32", "num_vertices": "int8", "adjacency": "int8", "operations": "int8"}
    count = len(arrays["hashes"])
    shapes = {"hashes": (count,), "num_vertices": (count,), "adjacency": (count, 7, 7), "operations": (count, 7)}
    if any(arrays[n].dtype != np.dtype(expected[n]) or arrays[n].shape != shapes[n] for n in _ARRAYS):
        return None
    return Space(**arrays)


def _write_cache_atomically(space: Space, path: Path, max_vertices: int, max_edges: int) -> None:
    """Write to a temporary file next to `path`, then rename: readers never see half a file."""
    with atomic_output(path, force=True) as temporary:
        with open(temporary, "wb") as file:
            np.savez(
                file,
                format_version=np.array(CACHE_FORMAT_VERSION),
                max_vertices=np.array(max_vertices),
                max_edges=np.array(max_edges),
                **{name: getattr(space, name) for name in _ARRAYS},
            )
            file.flush()
            os.fsync(file.fileno())


def load_space(
    cache_path: str | os.PathLike = DEFAULT_CACHE_PATH,
    rebuild: bool = False,
    max_vertices: int = MAX_VERTICES,
    max_edges: int = MAX_EDGES,
    progress: bool = True,
) -> Space:
    """The space from its cache file, enumerating and caching it when needed.

    The cache is rebuilt when `rebuild` is set, or when the file is missing, unreadable,
    of another format version or for other limits.
    """
    path = Path(cache_path)
    if not rebuild:
        cached = _read_cache(path, max_vertices, max_edges)
        if cached is not None:
            return cached
    space = enumerate_space(max_vertices, max_edges, progress=progress)
    _write_cache_atomically(space, path, max_vertices, max_edges)
    return space
