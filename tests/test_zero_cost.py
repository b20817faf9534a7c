"""Zero-cost signals: deterministic per cell, sensible on cells that differ, cached once, a foreign file untouched."""

from __future__ import annotations

import fcntl
import math

import pytest

from predictor.child import zero_cost
from predictor.child.cifar import load_cifar10
from predictor.child.zero_cost import SIGNALS, ProbeBatch, cached_scores, score_cell
from predictor.data.cell import Cell
from tests.synthetic_cifar import write_synthetic_cifar

pytestmark = pytest.mark.usefixtures("one_thread")
NO_OPERATION = Cell.from_spec([[0, 1], [0, 0]], ["input", "output"])
CONV_CHAIN = Cell.from_spec(
    [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"]
)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> ProbeBatch:
    folder = write_synthetic_cifar(tmp_path_factory.mktemp("cifar"), images_per_file=8)
    return ProbeBatch.from_cifar(load_cifar10(folder), size=8)


def test_a_cell_scores_the_same_twice_and_every_signal_is_finite(batch):
    first, second = score_cell(CONV_CHAIN, batch), score_cell(CONV_CHAIN, batch)
    assert all(math.isfinite(first[name]) for name in SIGNALS)
    assert {name: first[name] for name in SIGNALS} == {name: second[name] for name in SIGNALS}


def test_synflow_grows_with_the_operations_of_the_cell(batch):
    assert (
        score_cell(CONV_CHAIN, batch, ["synflow"])["synflow"] > score_cell(NO_OPERATION, batch, ["synflow"])["synflow"]
    )


def test_an_unknown_signal_is_refused(batch):
    with pytest.raises(ValueError, match="unknown zero-cost signal 'snip'"):
        score_cell(CONV_CHAIN, batch, ["snip"])


def test_the_cache_scores_each_cell_once_and_resumes_after_a_torn_line(batch, tmp_path, monkeypatch):
    cache = tmp_path / "zero_cost.jsonl"
    first = cached_scores([CONV_CHAIN, NO_OPERATION], batch, cache)
    with open(cache, "ab") as file:
        file.write(b'{"hash": "torn')  # what an interrupted append leaves
    monkeypatch.setattr(zero_cost, "score_cell", lambda *a, **k: pytest.fail("a cached cell was scored again"))
    assert cached_scores([NO_OPERATION, CONV_CHAIN], batch, cache) == first[::-1]
    assert cache.read_bytes().endswith(b"}\n")


def test_another_seed_is_not_read_from_the_cache(batch, tmp_path):
    cache = tmp_path / "zero_cost.jsonl"
    cached_scores([CONV_CHAIN], batch, cache, seed=0)
    cached_scores([CONV_CHAIN], batch, cache, seed=1)
    assert len(cache.read_text().splitlines()) == 2


def test_a_file_that_is_not_a_cache_is_refused_and_left_as_it_was(batch, tmp_path):
    foreign = tmp_path / "nasbench.hdf5"
    foreign.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)))
    before = foreign.read_bytes()
    with pytest.raises(ValueError, match="not a zero-cost"):
        cached_scores([CONV_CHAIN], batch, foreign)
    assert foreign.read_bytes() == before


def test_a_second_run_on_a_cache_in_use_is_refused(batch, tmp_path):
    cache = tmp_path / "zero_cost.jsonl"
    with open(cache, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="another run is scoring into it"):
            cached_scores([CONV_CHAIN], batch, cache)
    assert cache.read_bytes() == b""
    assert len(cached_scores([CONV_CHAIN], batch, cache)) == 1


def test_a_score_that_is_not_finite_is_an_error(batch, monkeypatch):
    monkeypatch.setitem(SIGNALS, "synflow", lambda model, batch: math.inf)
    with pytest.raises(ValueError, match="zero-cost signal synflow is inf"):
        score_cell(CONV_CHAIN, batch, ["synflow"])


def test_real_cifar10_images_give_a_normalized_batch_and_finite_signals(real_cifar):
    batch = ProbeBatch.from_cifar(load_cifar10(real_cifar))
    assert batch.images.shape == (64, 3, 32, 32) and len(set(batch.labels.tolist())) >= 8
    assert batch.images.mean(dim=(0, 2, 3)).abs().max() < 0.3  # the official mean and std fit the real pixels
    conv, nothing = score_cell(CONV_CHAIN, batch), score_cell(NO_OPERATION, batch)
    assert all(math.isfinite(scores[name]) for scores in (conv, nothing) for name in SIGNALS)
    assert conv["synflow"] > nothing["synflow"] and conv["grad_norm"] != nothing["grad_norm"]
    assert ProbeBatch.from_cifar(load_cifar10(real_cifar), seed=1).name != batch.name
