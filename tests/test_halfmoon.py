"""Halfmoon NAS: the decision space, batched children equal to separately trained MLPs, REINFORCE, the command."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from predictor.halfmoon.children import (
    BatchedMLPs,
    ChildTraining,
    fit_children,
    load_halfmoon,
    train_children,
    train_one_network,
)
from predictor.halfmoon.search import ControllerSearch, ControllerSettings, make_search, run_lockstep
from predictor.halfmoon.space import ACTIVATIONS, MAX_LAYERS, STOP, WIDTHS, decode, sample_uniform
from tests.processes import default_signals

TOOL = Path(__file__).resolve().parents[1] / "tools" / "halfmoon_nas.py"
ARCHITECTURES = [
    ((16, "Sigmoid"), (4, "ReLU"), (8, "Sigmoid")),
    ((2, "Tanh"),),
    ((8, "LeakyReLU"), (16, "Tanh"), (1, "Sigmoid"), (4, "ReLU"), (16, "LeakyReLU"), (2, "Sigmoid")),
    ((4, "ReLU"), (4, "Sigmoid")),
]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    return load_halfmoon()


def test_data_is_the_fixed_halfmoon_split(data):
    again = load_halfmoon()
    assert (len(data.train_y), len(data.valid_y), len(data.test_y)) == (700, 100, 200)
    assert torch.equal(data.test_x, again.test_x)
    assert 0.4 < data.train_y.float().mean() < 0.6  # two balanced moons


def test_sampled_decisions_describe_one_to_six_layers_and_stop_for_good():
    decisions = sample_uniform(4000, torch.Generator().manual_seed(0))
    depths = []
    for row in decisions.tolist():
        architecture = decode(row)
        depths.append(len(architecture))
        assert row[0] != STOP
        for layer in range(len(architecture), MAX_LAYERS):  # after the stop, only the forced choices
            assert row[2 * layer] == STOP and row[2 * layer + 1] == 0
    assert set(depths) == set(range(1, MAX_LAYERS + 1))
    widths = {w for row in decisions.tolist() for w, _ in decode(row)}
    activations = {a for row in decisions.tolist() for _, a in decode(row)}
    assert widths == set(WIDTHS) and activations == set(ACTIVATIONS)


def test_the_controller_obeys_the_stop_rule_and_forced_decisions_cost_nothing():
    search = ControllerSearch(seed=0)
    search.propose(200)
    decisions, log_probability, entropy = search.controller.sample(200, torch.Generator().manual_seed(1))
    depths = torch.tensor([len(decode(row)) for row in decisions.tolist()])
    # a free decision has at most log 6 nats of entropy; forced ones add nothing, so shallow nets have less
    assert (entropy <= (2 * depths + 1) * np.log(6) + 1e-4).all()
    assert (entropy[depths == 1].mean() < entropy[depths == MAX_LAYERS].mean()).item()


def test_batched_children_train_exactly_like_separate_networks(data):
    training = ChildTraining(epochs=2)
    children = [(0, architecture) for architecture in ARCHITECTURES]
    untrained = BatchedMLPs(children)
    separate = [untrained.child_network(index) for index in range(len(children))]
    with torch.no_grad():
        before = untrained(data.valid_x)
        for index, network in enumerate(separate):  # the same networks to begin with, nn.Linear's layout
            assert [m.in_features for m in network if isinstance(m, torch.nn.Linear)][1:] == [
                w for w, _ in ARCHITECTURES[index]
            ]
            torch.testing.assert_close(before[index], network(data.valid_x))
    trained = fit_children(children, data, training)
    for network in separate:
        train_one_network(network, data, training)
    with torch.no_grad():
        batched = trained(data.valid_x)
        assert not torch.allclose(batched, before)
        for index, network in enumerate(separate):
            torch.testing.assert_close(batched[index], network(data.valid_x), rtol=1e-4, atol=1e-5)


def test_a_childs_result_does_not_depend_on_its_companions(data):
    training = ChildTraining(epochs=2)
    alone = train_children([(3, ARCHITECTURES[0])], data, training)
    together = train_children([(3, ARCHITECTURES[2]), (3, ARCHITECTURES[0]), (4, ARCHITECTURES[0])], data, training)
    assert alone[0][0] == together[0][1] and alone[1][0] == together[1][1]


def test_reinforce_with_entropy_bonus_learns_a_reward():
    """Reward: the share of ReLU layers. A few dozen updates must move the policy well above chance (0.25)."""
    search = ControllerSearch(seed=0, settings=ControllerSettings(entropy_weight=0.01))
    means = []
    for _ in range(40):
        proposal = search.propose(32)
        reward = np.array([np.mean([a == "ReLU" for _, a in architecture]) for architecture in proposal])
        means.append(reward.mean())
        search.learn(reward)
    assert means[0] < 0.4 and np.mean(means[-5:]) > 0.8


def test_lockstep_searches_are_deterministic_and_reuse_trained_children(data):
    training = ChildTraining(epochs=1)

    def run():
        searches = [make_search("controller", 0), make_search("random", 0), make_search("controller", 1)]
        return run_lockstep(searches, 60, 30, data, training, progress=False)

    first, second = run(), run()
    for a, b in zip(first.traces, second.traces):
        assert a.architectures == b.architectures and a.validation == b.validation
    keys = {(t.seed, arch) for t in first.traces for arch in t.architectures}
    assert first.children_trained == len(keys) < 3 * 60
    random_trace = first.traces[1]
    assert len(random_trace.validation) == 60 and random_trace.summary()["rollouts"] == 60


def load_tool():
    spec = importlib.util.spec_from_file_location("halfmoon_nas", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_writes_json_and_plot_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "hm.json"
    args = ["--rollouts", "40", "--seeds", "2", "--per-update", "20", "--child-epochs", "1", "--out", str(out)]
    assert load_tool().main([*args, "--no-progress"]) == 0
    written = json.loads(out.read_text())
    assert [s["method"] for s in written["summary"]] == ["controller", "random"]
    assert all(len(curve) == 40 for curve in written["validation_accuracy_per_rollout"]["random"])
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert "| controller | 2 | 40 |" in capsys.readouterr().out
    assert load_tool().main([*args, "--no-progress"]) == 1
    error = capsys.readouterr().err
    assert "exists; pass --force" in error and "Traceback" not in error
    with pytest.raises(SystemExit):
        load_tool().main(["--rollouts", "0"])


def test_the_table_names_the_rollouts_it_summarizes(tmp_path, capsys):
    out = tmp_path / "hm.json"
    args = ["--rollouts", "30", "--seeds", "1", "--per-update", "10", "--child-epochs", "1", "--out", str(out)]
    assert load_tool().main([*args, "--methods", "random", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "last 30 rollouts" in printed and "500" not in printed
    assert json.loads(out.read_text())["summary"][0]["late_rollouts"] == 30


@pytest.mark.parametrize("option", ["--learning-rate", "--entropy-weight", "--entropy-decay"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_rate_that_is_not_a_finite_number_in_range_is_refused_while_parsing(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as refused:
        load_tool().main([option, value, "--out", str(tmp_path / "hm.json")])
    assert refused.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0] and "Traceback" not in err[0]
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_one_line_before_any_training(immutable, capsys):
    code = load_tool().main(["--rollouts", "10", "--seeds", "1", "--out", str(immutable / "hm.json")])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {immutable / 'hm.json'}: cannot write in {immutable} (permission denied); choose another output"
    ]


@pytest.mark.slow
def test_a_signal_mid_search_is_one_line_and_leaves_nothing(tmp_path):
    """Ctrl-C and SIGTERM, each to its own run (both at once: most of the time is starting Python and torch)."""
    runs = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        out_dir = tmp_path / signal.Signals(signum).name
        out_dir.mkdir()
        command = [sys.executable, str(TOOL), "--rollouts", "1000000", "--seeds", "1", "--no-progress"]
        runs[signum] = (
            out_dir,
            subprocess.Popen(
                [*command, "--out", str(out_dir / "hm.json")],
                stderr=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "PYTHONPATH": str(TOOL.parents[1]), "OMP_NUM_THREADS": "1"},
                preexec_fn=default_signals,
            ),
        )
    try:
        for signum, (out_dir, process) in runs.items():
            assert process.stderr.readline().startswith("controller: 1 seeds")  # the search has started
            time.sleep(0.2)
            process.send_signal(signum)
            _, err = process.communicate(timeout=60)
            assert process.returncode == 128 + signum
            assert err.strip().splitlines() == [f"interrupted ({signal.Signals(signum).name})"]
            assert list(out_dir.iterdir()) == []
    finally:
        for _, process in runs.values():
            process.kill()
            process.wait()
