"""The enumerated space against the official generator, the published facts and the cache contract."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

import predictor.data.space as space_module
from predictor.data.graph import hash_module
from predictor.data.space import CACHE_FORMAT_VERSION, Space, enumerate_space, load_space

PUBLISHED_TOTAL = 423_624
PUBLISHED_COUNTS_BY_VERTICES = {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010, 7: 359082}
KNOWN_HASH = "00005c142e6f48ac74fdcf73e3439874"
KNOWN_ROWS = ["0100110", "0010000", "0001001", "0000010", "0000010", "0000001", "0000000"]
KNOWN_OPS = [-1, 0, 2, 0, 0, 1, -2]  # input, conv3x3, maxpool3x3, conv3x3, conv3x3, conv1x1, output


def official_generator(max_vertices: int, max_edges: int) -> dict[str, tuple[np.ndarray, list[int]]]:
    """The loop of nasbench/scripts/generate_graphs.py, as plainly as it is written there."""
    buckets: dict[str, tuple[np.ndarray, list[int]]] = {}
    for vertices in range(2, max_vertices + 1):
        for bits in range(2 ** (vertices * (vertices - 1) // 2)):
            matrix = np.fromfunction(
                np.vectorize(lambda x, y, bits=bits: x < y and (bits >> (y * (y - 1) // 2 + x)) % 2 == 1),
                (vertices, vertices),
                dtype=np.int8,
            ).astype(np.int8)
            rows_without_out_edge = np.all(matrix[: vertices - 1, :] == 0, axis=1)
            columns_without_in_edge = np.all(matrix[:, 1:] == 0, axis=0)
            if rows_without_out_edge.any() or columns_without_in_edge.any() or matrix.sum() > max_edges:
                continue
            for labeling in itertools.product(range(3), repeat=vertices - 2):
                labeling = [-1] + list(labeling) + [-2]
                fingerprint = hash_module(matrix, labeling)
                if fingerprint not in buckets:
                    buckets[fingerprint] = (matrix, labeling)
    return buckets


def assert_same_as_official(space: Space, max_vertices: int, max_edges: int) -> None:
    buckets = official_generator(max_vertices, max_edges)
    assert len(space) == len(buckets)
    assert space.hashes.tolist() == [fingerprint.encode() for fingerprint in buckets]
    for row, (matrix, labeling) in enumerate(buckets.values()):
        v = len(matrix)
        expected_adjacency = np.zeros((7, 7), dtype=np.int8)
        expected_adjacency[:v, :v] = matrix
        expected_operations = np.zeros(7, dtype=np.int8)
        expected_operations[:v] = labeling
        assert space.num_vertices[row] == v
        assert space.adjacency[row].tobytes() == expected_adjacency.tobytes(), row
        assert space.operations[row].tobytes() == expected_operations.tobytes(), row


@pytest.mark.parametrize("max_vertices, max_edges", [(2, 9), (3, 9), (4, 9), (5, 9), (5, 5), (5, 4)])
def test_small_spaces_match_the_official_generator(max_vertices: int, max_edges: int) -> None:
    space = enumerate_space(max_vertices, max_edges, progress=False, workers=1)
    assert space.hashes.dtype == np.dtype("S32")
    assert space.num_vertices.dtype == space.adjacency.dtype == space.operations.dtype == np.int8
    assert_same_as_official(space, max_vertices, max_edges)


def test_work_split_over_processes_gives_the_same_space(monkeypatch: pytest.MonkeyPatch) -> None:
    # tiny tasks, so that results come back in many pieces
    monkeypatch.setattr(space_module, "_GRAPHS_PER_DEDUP_TASK", 50)
    monkeypatch.setattr(space_module, "_GRAPHS_PER_HASH_TASK", 70)
    assert_same_as_official(enumerate_space(5, progress=False, workers=2), 5, 9)


def test_module_hashes_equal_hash_module_on_arbitrary_graphs() -> None:
    rng = np.random.default_rng(0)
    matrices = np.triu(rng.random((300, 6, 6)) < 0.4, k=1).astype(np.int8)
    labels = rng.integers(-2, 3, size=(300, 6))
    hashes = space_module.module_hashes(matrices, labels)
    assert hashes.tolist() == [hash_module(m, l.tolist()).encode() for m, l in zip(matrices, labels)]
    with pytest.raises(ValueError):
        space_module.module_hashes(matrices, labels + 10)  # labels beyond what the packing holds


def test_space_api() -> None:
    space = enumerate_space(4, progress=False)
    assert len(space) == 1 + 6 + 84
    for row in (0, 7, len(space) - 1):
        module_hash = space.hashes[row].decode()
        assert space.index_of(module_hash) == row
        assert space.index_of(module_hash.encode()) == row
        assert module_hash in space
        assert space.cell(row).hash == module_hash
    assert "0" * 32 not in space
    with pytest.raises(KeyError):
        space.index_of("0" * 32)
    with pytest.raises(ValueError):
        space.adjacency[0, 0, 1] = 0  # shared arrays are read-only
    with pytest.raises(ValueError):
        enumerate_space(8)


@pytest.mark.slow
def test_full_space_matches_the_published_facts(full_space: Space) -> None:
    assert len(full_space) == PUBLISHED_TOTAL
    counts = {v: int(np.count_nonzero(full_space.num_vertices == v)) for v in range(2, 8)}
    assert counts == PUBLISHED_COUNTS_BY_VERTICES
    assert len(np.unique(full_space.hashes)) == PUBLISHED_TOTAL
    assert np.all(np.diff(full_space.num_vertices) >= 0)  # the generator goes by vertex count

    rows = np.random.default_rng(2019).choice(len(full_space), size=3000, replace=False)
    for row in rows:
        v = int(full_space.num_vertices[row])
        matrix = full_space.adjacency[row, :v, :v]
        assert hash_module(matrix, full_space.operations[row, :v].tolist()) == full_space.hashes[row].decode()

    row = full_space.index_of(KNOWN_HASH)
    assert full_space.num_vertices[row] == 7
    assert ["".join(map(str, r)) for r in full_space.adjacency[row].tolist()] == KNOWN_ROWS
    assert full_space.operations[row].tolist() == KNOWN_OPS


@pytest.mark.slow
def test_full_space_rows_are_valid_padded_cells(full_space: Space) -> None:
    v = full_space.num_vertices.astype(np.int64)
    index = np.arange(7)
    inside = index[None, :] < v[:, None]
    adjacency = full_space.adjacency.astype(bool)
    assert not np.any(adjacency & ~(inside[:, :, None] & inside[:, None, :]))  # padding is zero
    assert not np.any(np.tril(np.ones((7, 7), dtype=bool))[None] & adjacency)  # upper-triangular
    assert np.all(adjacency.sum(axis=(1, 2)) <= 9)
    has_out_edge = adjacency.any(axis=2)
    has_in_edge = adjacency.any(axis=1)
    assert np.all(has_out_edge | ~inside | (index[None, :] == v[:, None] - 1))
    assert np.all(has_in_edge | ~inside | (index[None, :] == 0))
    ops = full_space.operations
    assert np.all(ops[:, 0] == -1)
    assert np.all(ops[np.arange(len(ops)), v - 1] == -2)
    interior = inside & (index[None, :] > 0) & (index[None, :] < v[:, None] - 1)
    assert np.all(np.isin(ops[interior], (0, 1, 2)))
    assert np.all(ops[~inside] == 0)


# ---------------------------------------------------------------------------- cache


def assert_same_space(a: Space, b: Space) -> None:
    for name in ("hashes", "num_vertices", "adjacency", "operations"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name


@pytest.fixture
def count_enumerations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the max_vertices of every enumeration that load_space starts."""
    calls: list[int] = []
    enumerate_for_real = space_module.enumerate_space

    def counting(max_vertices, *args, **kwargs):
        calls.append(max_vertices)
        return enumerate_for_real(max_vertices, *args, **kwargs)

    monkeypatch.setattr(space_module, "enumerate_space", counting)
    return calls


@pytest.mark.slow
def test_full_cache_round_trips(full_space: Space, full_space_cache_path: Path, count_enumerations: list[int]) -> None:
    loaded = load_space(full_space_cache_path, progress=False)
    assert count_enumerations == []
    assert_same_space(loaded, full_space)
    assert loaded.index_of(KNOWN_HASH) == full_space.index_of(KNOWN_HASH)


def test_cache_is_written_then_reused(tmp_path: Path, count_enumerations: list[int]) -> None:
    path = tmp_path / "nested" / "space.npz"
    built = load_space(path, max_vertices=4, progress=False)
    assert path.exists() and count_enumerations == [4]
    assert_same_space(load_space(path, max_vertices=4, progress=False), built)
    assert count_enumerations == [4]
    assert_same_space(built, enumerate_space(4, progress=False))
    load_space(path, max_vertices=4, rebuild=True, progress=False)
    assert count_enumerations == [4, 4]
    assert os.listdir(path.parent) == ["space.npz"]  # no temporary files left behind


def _rewrite(path: Path, **changes) -> None:
    with np.load(path) as stored:
        arrays = dict(stored)
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: _rewrite(p, format_version=np.array(CACHE_FORMAT_VERSION + 1)), id="newer-version"),
        pytest.param(lambda p: _rewrite(p, format_version=np.array(0)), id="older-version"),
        pytest.param(lambda p: _rewrite(p, max_vertices=np.array(3)), id="other-limits"),
        pytest.param(lambda p: _rewrite(p, adjacency=np.zeros((3, 7, 7), dtype=np.int64)), id="wrong-arrays"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b"not a cache at all"), id="garbage"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
    ],
)
def test_stale_or_garbled_cache_is_rebuilt(tmp_path: Path, count_enumerations: list[int], spoil) -> None:
    path = tmp_path / "space.npz"
    expected = load_space(path, max_vertices=4, progress=False)
    spoil(path)
    assert_same_space(load_space(path, max_vertices=4, progress=False), expected)
    assert count_enumerations == [4, 4]
    with np.load(path) as stored:
        assert int(stored["format_version"]) == CACHE_FORMAT_VERSION
    assert_same_space(load_space(path, max_vertices=4, progress=False), expected)
    assert count_enumerations == [4, 4]


def test_interrupted_write_leaves_no_partial_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "space.npz"
    real_savez = np.savez

    def interrupted_savez(file, **arrays):
        real_savez(file, **arrays)
        file.write(b"\0" * 10)
        raise KeyboardInterrupt

    monkeypatch.setattr(space_module.np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        load_space(path, max_vertices=4, progress=False)
    assert os.listdir(tmp_path) == []

    monkeypatch.setattr(space_module.np, "savez", real_savez)
    good = load_space(path, max_vertices=4, progress=False)
    before = path.read_bytes()
    monkeypatch.setattr(space_module.np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        load_space(path, max_vertices=4, rebuild=True, progress=False)
    assert path.read_bytes() == before  # the previous cache survives an interrupted rebuild
    assert os.listdir(tmp_path) == ["space.npz"]
    monkeypatch.setattr(space_module.np, "savez", real_savez)
    assert_same_space(load_space(path, max_vertices=4, progress=False), good)


# ---------------------------------------------------------------------------- real sample


@pytest.mark.slow
def test_every_module_of_the_real_sample_is_its_space_row_byte_for_byte(
    full_space: Space, sample_tfrecord: Path
) -> None:
    from predictor.data.cell import OP_CODES
    from predictor.data.records import read_records

    graphs: dict[str, tuple[str, str]] = {}
    for record in read_records(sample_tfrecord):
        graphs.setdefault(record.module_hash, (record.raw_adjacency, record.raw_operations))
    assert len(graphs) == 20_031  # the sample's README

    for module_hash, (raw_adjacency, raw_operations) in graphs.items():
        ops = raw_operations.split(",")
        v = len(ops)
        adjacency = np.zeros((7, 7), dtype=np.int8)
        adjacency[:v, :v] = np.array([int(bit) for bit in raw_adjacency], dtype=np.int8).reshape(v, v)
        operations = np.zeros(7, dtype=np.int8)
        operations[:v] = [OP_CODES[op] for op in ops]
        row = full_space.index_of(module_hash)
        assert full_space.num_vertices[row] == v, module_hash
        assert full_space.adjacency[row].tobytes() == adjacency.tobytes(), module_hash
        assert full_space.operations[row].tobytes() == operations.tobytes(), module_hash
