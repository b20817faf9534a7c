"""The training protocol: a CPU smoke run, the initializing step, warm-up undo, step counts."""

from __future__ import annotations

import pytest
import torch

from predictor.child.channels import NetworkShape
from predictor.child.cifar import DeviceCifar
from predictor.child.network import build_network
from predictor.child.optim import TFRMSprop
from predictor.child.param_count import count_parameters
from predictor.child.train_step import TrainStep, warm_up_and_undo
from predictor.child.training import METRIC_NAMES, ExecutionOptions, TrainingProtocol, train_and_evaluate
from predictor.data.cell import Cell
from tests.synthetic_cifar import write_synthetic_cifar

SMALL_CELL = Cell.from_spec(
    [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv1x1-bn-relu", "maxpool3x3", "output"]
)
TINY_SHAPE = NetworkShape(stem_channels=8)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_cifar(tmp_path_factory) -> DeviceCifar:
    root = tmp_path_factory.mktemp("cifar")
    write_synthetic_cifar(root, images_per_file=16)  # 64 training images
    return DeviceCifar.from_path(root, "cpu")


def test_step_counts_follow_the_benchmark():
    protocol = TrainingProtocol()
    assert protocol.steps_until(1.0, 40_000) == 16_875 and protocol.steps_until(0.5, 40_000) == 8_437
    assert TrainingProtocol(epochs=4).steps_until(1.0, 40_000) == 625


def test_one_epoch_cpu_smoke_run(tiny_cifar):
    protocol = TrainingProtocol(epochs=1, batch_size=16)
    seen_steps = []
    result = train_and_evaluate(
        SMALL_CELL,
        tiny_cifar,
        protocol,
        ExecutionOptions(device="cpu"),
        on_step=lambda done, total: seen_steps.append((done, total)),
    )
    assert set(METRIC_NAMES) <= set(result)
    assert result["trainable_parameters"] == count_parameters(SMALL_CELL.matrix, SMALL_CELL.ops)
    assert result["training_steps"] == 4 and result["halfway_training_steps"] == 2
    assert seen_steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    for point in ("halfway", "final"):
        for split in ("train", "validation", "test"):
            accuracy = result[f"{point}_{split}_accuracy"]
            assert 0.0 <= accuracy <= 1.0 and (accuracy * 16).is_integer()  # 16 images per split
    assert 0 < result["halfway_training_time"] <= result["final_training_time"] <= result["total_time"]
    assert result["device"] == "cpu" and result["execution"]["bf16"] is False


def test_same_seed_same_result(tiny_cifar):
    protocol = TrainingProtocol(epochs=1, batch_size=16, shape=TINY_SHAPE, seed=3)
    runs = [train_and_evaluate(SMALL_CELL, tiny_cifar, protocol, ExecutionOptions(device="cpu")) for _ in range(2)]
    accuracies = [{k: v for k, v in run.items() if k.endswith("accuracy")} for run in runs]
    assert accuracies[0] == accuracies[1]


def test_too_few_images_for_one_step_is_an_error(tiny_cifar):
    with pytest.raises(ValueError, match="less than one step"):
        train_and_evaluate(
            SMALL_CELL, tiny_cifar, TrainingProtocol(epochs=1, batch_size=256), ExecutionOptions(device="cpu")
        )


def make_step(total_steps: int = 10) -> TrainStep:
    torch.manual_seed(0)
    model = build_network(SMALL_CELL, TINY_SHAPE)
    optimizer = TFRMSprop(model.parameters(), weight_decay=1e-4)
    return TrainStep(model, optimizer, total_steps=total_steps, base_lr=0.2, bf16=False)


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(4, 3, 32, 32, generator=generator), torch.randint(0, 10, (4,), generator=generator)


def test_step_zero_only_initializes():
    """As the official run: the first step has learning rate 0; weights stay, batch-norm statistics move."""
    step = make_step()
    weights = [p.detach().clone() for p in step.model.parameters()]
    running_mean = step.model.stem[1].running_mean.clone()
    step(*batch())
    assert all(torch.equal(a, b) for a, b in zip(weights, step.model.parameters()))
    assert not torch.equal(running_mean, step.model.stem[1].running_mean)
    step(*batch(1))
    assert not all(torch.equal(a, b) for a, b in zip(weights, step.model.parameters()))
    assert int(step.step_count) == 2


def test_warm_up_is_undone():
    step = make_step()
    step(*batch())  # some state to restore, not just the initial one
    before = {k: v.clone() for k, v in step.model.state_dict().items()}
    optimizer_before = {id(p): {k: v.clone() for k, v in s.items()} for p, s in step.optimizer.state.items()}
    warm_up_and_undo(step, *batch(1), steps=2)
    assert all(torch.equal(before[k], v) for k, v in step.model.state_dict().items())
    for p, state in step.optimizer.state.items():
        assert all(torch.equal(optimizer_before[id(p)][k], v) for k, v in state.items())
    assert int(step.step_count) == 1


def test_execution_defaults_on_cpu():
    options = ExecutionOptions(device="cpu", cuda_graph=True).resolved()
    assert options.bf16 is False and options.channels_last is False and options.cuda_graph is False
