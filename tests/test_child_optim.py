"""TF-1 RMSProp semantics and the benchmark's learning-rate schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from predictor.child.optim import TFRMSprop, cosine_learning_rate, cosine_learning_rate_tensor


def tf_rmsprop_reference(var, grads, lrs, decay=0.9, momentum=0.9, epsilon=1.0, weight_decay=0.0):
    """The update of tf.train.RMSPropOptimizer (ms starts at 1, epsilon inside the root), in numpy."""
    ms, mom = np.ones_like(var), np.zeros_like(var)
    for grad, lr in zip(grads, lrs):
        g = grad + weight_decay * var
        ms = decay * ms + (1 - decay) * g * g
        mom = momentum * mom + lr * g / np.sqrt(ms + epsilon)
        var = var - mom
    return var


@pytest.mark.parametrize("lr_as_tensor", [False, True])
def test_rmsprop_matches_the_tf_update(lr_as_tensor):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(5, 3))
    grads = [rng.normal(size=(5, 3)) * 3 for _ in range(6)]
    lrs = [0.0, 0.2, 0.19, 0.15, 0.1, 0.05]  # the first step only initializes, as in the benchmark
    param = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    lr = torch.zeros((), dtype=torch.float64) if lr_as_tensor else 0.0
    optimizer = TFRMSprop([param], lr=lr, weight_decay=1e-4)
    for grad, step_lr in zip(grads, lrs):
        if lr_as_tensor:
            lr.fill_(step_lr)
        else:
            optimizer.param_groups[0]["lr"] = step_lr
        param.grad = torch.tensor(grad)
        optimizer.step()
    expected = tf_rmsprop_reference(start, grads, lrs, weight_decay=1e-4)
    np.testing.assert_allclose(param.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


def test_rmsprop_differs_from_torch_rmsprop():
    """Guard against silently using torch.optim.RMSprop (zero-initialized mean square, eps outside the root)."""
    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.ones(4))
    b = torch.nn.Parameter(torch.ones(4))
    grad = torch.randn(4)
    ours = TFRMSprop([a], lr=0.1)
    theirs = torch.optim.RMSprop([b], lr=0.1, alpha=0.9, eps=1.0, momentum=0.9)
    a.grad, b.grad = grad.clone(), grad.clone()
    ours.step()
    theirs.step()
    assert not torch.allclose(a, b)


def test_zero_learning_rate_leaves_weights_but_updates_the_mean_square():
    param = torch.nn.Parameter(torch.full((3,), 2.0))
    optimizer = TFRMSprop([param], lr=0.0)
    param.grad = torch.full((3,), 4.0)
    optimizer.step()
    assert torch.equal(param.detach(), torch.full((3,), 2.0))
    assert torch.allclose(optimizer.state[param]["ms"], torch.full((3,), 0.9 + 0.1 * 16))


def test_cosine_schedule():
    total = 16875  # int(108 * 40,000 / 256)
    assert cosine_learning_rate(0, total, 0.2) == 0.0
    assert cosine_learning_rate(1, total, 0.2) == pytest.approx(0.2, rel=1e-7)
    assert cosine_learning_rate(total // 2, total, 0.2) == pytest.approx(0.1, rel=1e-3)
    assert cosine_learning_rate(total, total, 0.2) == pytest.approx(0.0, abs=1e-12)
    steps = [0, 1, 100, total // 2, total - 1]
    on_device = [float(cosine_learning_rate_tensor(torch.tensor(s), total, 0.2)) for s in steps]
    assert on_device == pytest.approx(
        [cosine_learning_rate(s, total, 0.2) for s in steps], rel=1e-5, abs=1e-8
    )  # float32, as TF computed it
    assert math.isclose(cosine_learning_rate(total // 4, total, 0.2), 0.1 * (1 + math.cos(math.pi / 4)), rel_tol=1e-3)
