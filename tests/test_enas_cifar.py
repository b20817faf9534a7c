"""ENAS on real CIFAR-10 images (a slice of the real batches) and what the search says about the cells it hands on."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from predictor.child.channels import NetworkShape
from predictor.weight_sharing.architecture import Architecture

REPO = Path(__file__).resolve().parents[1]
CIFAR_TARBALL = REPO.parent / "shared" / "cifar10" / "cifar-10-python.tar.gz"
SLICE = {"data_batch_1": 250, "data_batch_2": 250, "data_batch_3": 250, "data_batch_4": 250}
SLICE_OTHERS = 300  # images kept of data_batch_5 (validation) and test_batch


@pytest.fixture(scope="module")
def cifar_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first images of each real batch file, in the official layout, streamed out of the real tarball."""
    if not CIFAR_TARBALL.is_file():
        pytest.fail(f"real CIFAR-10 is missing: expected {CIFAR_TARBALL} (../shared/cifar10 beside the repo)")
    folder = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py"
    folder.mkdir()
    with tarfile.open(CIFAR_TARBALL, "r:gz") as tar:
        for member in tar:
            name = Path(member.name).name
            if not member.isfile() or not name.startswith(("data_batch_", "test_batch")):
                continue
            batch = pickle.load(tar.extractfile(member), encoding="bytes")
            keep = SLICE.get(name, SLICE_OTHERS)
            batch[b"data"], batch[b"labels"] = batch[b"data"][:keep], batch[b"labels"][:keep]
            with open(folder / name, "wb") as file:
                pickle.dump(batch, file)
    return folder.parent


def _architecture(edges: list[tuple[int, int]], op: str = "conv3x3-bn-relu") -> Architecture:
    matrix = np.zeros((7, 7), dtype=np.int8)
    for source, target in edges:
        matrix[source, target] = 1
    return Architecture.from_spec(matrix, ["input", *[op] * 5, "output"])


def _result(derived_architectures: list[Architecture], sampled_distinct: int, derive_samples: int = 100):
    from predictor.weight_sharing.enas import Derived, EnasConfig, EnasResult

    derived = [Derived(architecture, 0.5) for architecture in derived_architectures]
    config = EnasConfig(derive_samples=derive_samples)
    return EnasResult(config, (), None, None, derived, [], 0.0, trained_distinct=7, sampled_distinct=sampled_distinct)


def test_a_collapse_onto_the_cell_without_operation_is_named_and_warned_about():
    """What the digits search once did silently: 100 samples, all input -> output, handed on."""
    info, warnings = _result([_architecture([(0, 6)])], sampled_distinct=1).notes()
    assert len(info) == 1 and "1 distinct of 100 samples" in info[0] and "7 distinct" in info[0]
    assert len(warnings) == 2
    assert "collapsed to one cell" in warnings[0] and "[]" in warnings[0]
    assert "no operation" in warnings[1] and "cell 1" in warnings[1]


def test_varied_cells_with_operations_need_no_warning_and_a_no_op_cell_among_them_is_named():
    chain = _architecture([(0, 1), (1, 6)])
    wide = _architecture([(0, 1), (0, 2), (1, 6), (2, 6)])
    info, warnings = _result([chain, wide], sampled_distinct=40).notes()
    assert "40 distinct of 100 samples, 2 kept" in info[0] and warnings == []
    _, warnings = _result([chain, _architecture([(0, 6)])], sampled_distinct=40).notes()
    assert len(warnings) == 1 and "cell 2 has no operation" in warnings[0]


def test_reduced_epochs_draw_a_fresh_subset_each_time():
    import torch

    from predictor.weight_sharing.enas import shuffled_batches

    generator = torch.Generator().manual_seed(0)
    first, second = (torch.cat(shuffled_batches(100, 16, generator, limit=30)) for _ in range(2))
    assert len(first) == len(second) == 30 and len(set(first.tolist())) == 30
    assert set(first.tolist()) != set(second.tolist())
    assert sorted(torch.cat(shuffled_batches(100, 16, generator)).tolist()) == list(range(100))


def test_enas_trains_on_a_real_cifar10_slice(one_thread, cifar_slice):
    """A short real search: the shared weights learn the real images above chance, the counts are consistent."""
    from predictor.child.datasets import load_device_data
    from predictor.weight_sharing.enas import EnasConfig, EnasSearch

    data = load_device_data("cifar10", cifar_slice, "cpu")
    assert len(data.train) == 1000 and len(data.valid) == SLICE_OTHERS
    config = EnasConfig(
        epochs=3, warmup_epochs=1, controller_steps=3, derive_samples=8, top_k=2, train_images=640,
        valid_images=200, shape=NetworkShape(stem_channels=16, modules_per_stack=1),
    )  # fmt: skip
    search = EnasSearch(data, config, seed=0, progress=False)
    result = search.run()
    assert len(search.valid) == 200
    losses = [h["shared_loss"] for h in result.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert 1 <= len(result.derived) <= 2 and len(result.derived) <= result.sampled_distinct <= 8
    assert 1 <= result.trained_distinct <= 2 * 10  # 2 controller epochs of 10 batches of 64
    assert result.derived[0].one_shot_accuracy > 0.15  # chance is 0.10
    info, _ = result.notes()
    assert f"{result.sampled_distinct} distinct of 8 samples" in info[0]


def test_the_cpu_assessment_preset_names_the_reduced_protocols_and_flags_replace_its_sizes():
    from predictor.child.training import protocol_preset
    from predictor.weight_sharing.assessment import AssessmentConfig, assessment_config
    from predictor.weight_sharing.presets import ENAS_PRESETS

    assert assessment_config("default") == AssessmentConfig()
    config = assessment_config("cpu")
    assert config.standalone == protocol_preset("cpu", train_images=4000)
    assert config.standalone.shape.stem_channels == 16 and config.standalone.eval_images == 1000
    assert all(getattr(config.enas, name) == value for name, value in ENAS_PRESETS["cpu"].items())
    assert (config.seeds, config.levels, config.tau_cells) == (2, (0, 4), 20)
    changed = assessment_config("cpu", enas_epochs=3, standalone_epochs=2, seeds=1, tau_cells=None)
    assert (changed.enas.epochs, changed.enas.warmup_epochs, changed.standalone.epochs) == (3, 2, 2)
    assert (changed.seeds, changed.tau_cells) == (1, 20)


def test_the_assessment_runs_on_a_real_cifar10_slice(one_thread, cifar_slice):
    """All three parts, tiny: every figure finite and in range, each cell trained once, poison only where added."""
    from dataclasses import replace

    from predictor.child.datasets import load_device_data
    from predictor.weight_sharing.assessment import assessment_config, format_report, run_assessment

    tiny = NetworkShape(stem_channels=8, modules_per_stack=1)
    config = assessment_config("cpu", seeds=1, top_k=2, tau_cells=4, levels=(0, 2))
    config = replace(
        config,
        enas=replace(config.enas, epochs=2, warmup_epochs=1, controller_steps=2, derive_samples=4,
                     train_images=128, valid_images=100, shape=tiny),
        standalone=replace(config.standalone, train_images=128, eval_images=100, shape=tiny),
    )  # fmt: skip
    report = run_assessment(load_device_data("cifar10", cifar_slice, "cpu"), config, progress=False)
    seed = report["a_enas_vs_random"]["per_seed"][0]
    for result in (seed["enas"], seed["random"]):
        assert 0.0 <= result["test_accuracy"] <= 1.0 and result["trainable_parameters"] > 0
    part_b = report["b_kendall_tau"]
    assert len(part_b["cells"]) == 4 and len(set(part_b["cells"])) == 4
    assert all(-1.0 <= tau <= 1.0 for tau in part_b["tau"]["values"])
    clean, poisoned = report["c_poisoning"]
    assert clean["random_useless"]["active"] == 0.0 < poisoned["random_useless"]["active"]
    assert clean["chosen_useless"] == 0.0
    assert all(0.0 <= accuracy <= 1.0 for accuracy in part_b["standalone_validation"])
    assert "(b) Kendall tau" in format_report(report)
