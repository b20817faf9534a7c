"""Weight-sharing search: one-shot sub-networks, the ENAS controller, poisoning, and the command on real digits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from predictor.child.channels import NetworkShape
from predictor.child.network import build_network
from predictor.data.cell import INTERIOR_OPS, Cell
from predictor.weight_sharing.architecture import (
    NOISE,
    ZERO,
    Architecture,
    op_set,
    random_architecture,
)
from predictor.weight_sharing.one_shot import FixedWidthNetwork, OneShotNetwork, UselessOp, inherit_weights
from predictor.weight_sharing.policy import PolicyGradient, PolicySettings, enas_controller

REPO = Path(__file__).resolve().parents[1]
TINY = NetworkShape(stem_channels=8)


def _images(count: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def _forward(model, images, *args) -> torch.Tensor:
    torch.manual_seed(123)  # noise and shuffle ops draw from the global generator, in the same order in both
    return model(images, *args)


@pytest.mark.parametrize("level", [0, 4])
def test_one_shot_subnetwork_equals_the_separately_built_network(one_thread, level):
    torch.manual_seed(0)
    one_shot = OneShotNetwork(op_set(level), TINY)
    rng = np.random.default_rng(level)
    images = _images()
    architectures = [random_architecture(op_set(level), rng) for _ in range(12)]
    assert len({a.key() for a in architectures}) > 6  # varied cells, not one repeated
    for architecture in architectures:
        torch.manual_seed(1)
        network = inherit_weights(FixedWidthNetwork(architecture, TINY), one_shot, architecture)
        expected = _forward(network, images)
        assert torch.allclose(_forward(one_shot, images, architecture), expected, atol=1e-5), architecture.describe()
        other = random_architecture(op_set(level), rng)
        if other.key() != architecture.key():  # another cell computes something else with the same weights
            assert not torch.allclose(_forward(one_shot, images, other), expected, atol=1e-3)


def test_one_shot_subnetwork_equals_the_child_network_where_the_channel_rules_agree(one_thread):
    """With one vertex feeding the output (and no input -> output edge), both channel rules agree."""
    torch.manual_seed(0)
    one_shot = OneShotNetwork(INTERIOR_OPS, TINY)
    rng = np.random.default_rng(1)
    images = _images()
    checked = 0
    while checked < 5:
        architecture = random_architecture(INTERIOR_OPS, rng)
        if architecture.matrix[:-1, -1].sum() != 1 or architecture.matrix[0, -1] or len(architecture.active_ops) < 2:
            continue
        network = inherit_weights(build_network(architecture.cell(), TINY), one_shot, architecture)
        assert torch.allclose(network(images), one_shot(images, architecture), atol=1e-5), architecture.describe()
        checked += 1


def test_slot_layout_prunes_as_the_benchmark_does():
    rng = np.random.default_rng(0)
    for _ in range(200):
        matrix = np.triu(rng.integers(0, 2, (7, 7)), 1)
        ops = ["input", *(INTERIOR_OPS[i] for i in rng.integers(0, 3, 5)), "output"]
        architecture = Architecture.from_spec(matrix, ops)
        try:
            cell = Cell.from_spec(matrix, ops)
        except ValueError:
            assert architecture is None
            continue
        assert architecture is not None and architecture.cell() == cell
        assert Architecture.from_cell(cell).cell() == cell


def _planted_share(policy: PolicyGradient, op: int, count: int = 400) -> float:
    rows = np.array(policy.sample(count))
    return float(np.mean(rows[:, :5] == op))


def test_controller_learns_a_planted_preference(one_thread):
    torch.manual_seed(0)
    policy = PolicyGradient(enas_controller(len(op_set(2))), PolicySettings(), torch.Generator().manual_seed(0))
    favoured = 1  # conv1x1: reward = share of vertices that carry it
    before = _planted_share(policy, favoured)
    for _ in range(300):
        policy.step(lambda rows: [float(np.mean(np.array(row[:5]) == favoured)) for row in rows])
    after = _planted_share(policy, favoured)
    assert before < 0.35 < 0.9 < after


def test_the_controller_never_samples_a_tenth_edge(one_thread):
    policy = PolicyGradient(enas_controller(3), PolicySettings(), torch.Generator().manual_seed(0))
    rows = np.array(policy.sample(300))
    assert rows[:, 5:].sum(axis=1).max() <= 9


@pytest.fixture(scope="module")
def digits():
    from predictor.child.datasets import load_device_data

    return load_device_data("digits", "data", "cpu")


def _short_search(digits, useless: int):
    from predictor.weight_sharing.enas import EnasConfig, EnasSearch

    config = EnasConfig(
        epochs=2, warmup_epochs=1, controller_steps=3, derive_samples=20, top_k=3, useless_ops=useless, shape=TINY
    )
    return EnasSearch(digits, config, seed=0, progress=False)


def test_poisoned_ops_are_never_produced_at_level_0_and_are_at_level_2(one_thread, digits):
    clean = _short_search(digits, 0)
    result = clean.run()
    sampled = clean.sample_architectures(300) + [d.architecture for d in result.derived]
    assert all(op in INTERIOR_OPS for a in sampled for op in a.ops[1:-1])
    assert np.array(clean.policy.sample(300))[:, :5].max() < len(INTERIOR_OPS)
    assert all(d.architecture.is_real() for d in result.derived)
    assert not any(isinstance(module, UselessOp) for module in clean.one_shot.modules())
    assert [h["useless_share_decisions"] for h in result.history] == [0.0, 0.0]

    poisoned = _short_search(digits, 2)  # the same check finds useless ops where they exist
    ops = {poisoned.ops[i] for row in poisoned.policy.sample(300) for i in row[:5]}
    ops |= {op for a in poisoned.sample_architectures(300) for op in a.active_ops}
    assert any(isinstance(module, UselessOp) for module in poisoned.one_shot.modules())
    assert {ZERO, NOISE} <= ops


def test_enas_on_digits_derives_cells_ranked_by_one_shot_accuracy(one_thread, digits):
    search = _short_search(digits, 0)
    result = search.run()
    scores = [d.one_shot_accuracy for d in result.derived]
    assert 1 <= len(scores) <= 3 and scores == sorted(scores, reverse=True)
    for d in result.derived:
        assert d.one_shot_accuracy == search.one_shot_accuracy(d.architecture)
    assert len(result.derived) <= result.sampled_distinct <= 20 and 1 <= result.trained_distinct <= 19
    assert all(np.isfinite(h["shared_loss"]) for h in result.history)
    assert np.isfinite(result.history[-1]["mean_reward"]) and np.isnan(result.history[0]["mean_reward"])
    again = _short_search(digits, 0).run()  # the same seed, the same search
    assert again.history == result.history or np.allclose(
        [[h[k] for k in sorted(h)] for h in again.history],
        [[h[k] for k in sorted(h)] for h in result.history],
        equal_nan=True,
    )
    assert [d.architecture.key() for d in again.derived] == [d.architecture.key() for d in result.derived]


def _chain(op: str) -> Architecture:
    """input -> one `op` vertex -> output."""
    matrix = np.zeros((7, 7), dtype=np.int8)
    matrix[0, 1] = matrix[1, 6] = 1
    return Architecture.from_spec(matrix, ["input", *[op] * 5, "output"])


def test_stand_alone_training_runs_any_op_set_through_the_child_protocol(one_thread, digits):
    """The fixed-width network of a cell trains by the assessment's protocol: a conv learns the digits, `zero` cannot."""
    from predictor.weight_sharing.standalone import standalone_protocol, train_fixed_width

    protocol = standalone_protocol(shape=TINY)
    learned = train_fixed_width(_chain("conv3x3-bn-relu"), digits, protocol)
    blind = train_fixed_width(_chain(ZERO), digits, protocol)
    assert learned["final_validation_accuracy"] > 0.5 > 0.2 > blind["final_validation_accuracy"]
    assert learned["training_steps"] == protocol.epochs * len(digits.train) // protocol.batch_size


def test_search_command_writes_cells_child_training_reads(tmp_path):
    from predictor.child.cell_lists import load_cell_list

    out = tmp_path / "enas.json"
    command = [sys.executable, "search.py", "--weight-sharing", "enas", "--dataset", "digits", "--epochs", "2"]
    command += ["--top-k", "2", "--out", str(out), "--no-progress", "--data", str(tmp_path / "absent.hdf5")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    entries = load_cell_list(out)
    assert 1 <= len(entries) <= 2 and all(entry.cell().hash == entry.hash for entry in entries)
    records = json.loads(out.read_text())
    assert all(0.0 <= r["score"] <= 1.0 for r in records)  # one-shot validation accuracy
    assert "distinct of 100 samples" in done.stdout  # how varied the derivation was
    for rank, entry in enumerate(entries, start=1):  # a cell without operation is never handed on silently
        assert (len(entry.ops) == 2) == (f"cell {rank} has no operation" in done.stderr), done.stderr

    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 1 and "exists" in again.stderr and "Traceback" not in again.stderr
    assert json.loads(out.read_text()) == records


def test_search_command_rejects_bad_values_in_one_line(tmp_path):
    for extra in (["--epochs", "0"], ["--dataset", "mnist"]):
        command = [sys.executable, "search.py", "--weight-sharing", "enas", "--out", str(tmp_path / "x.json"), *extra]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr
