"""Real child training: the NAS-Bench-101 network in PyTorch, its protocols, and verification runs.

- `network`      the network built around a cell, layer for layer the official TF builder
- `channels`     the official vertex-channel rule and the macro skeleton (`NetworkShape`)
- `param_count`  the trainable-parameter count in closed form, without building anything
- `param_check`  that count against a dataset file's `trainable_parameters`
- `cifar`        CIFAR-10 pickles, the benchmark's split, augmentation on the device
- `digits`       scikit-learn's digits in the same layout (no download), its own normalization
- `datasets`     the two behind one name (`--dataset cifar10|digits`)
- `optim`        TF-1 RMSProp and the per-step cosine learning rate
- `train_step`   the train step, plain or captured as a CUDA graph
- `training`     the protocol (presets "benchmark" and "small-data"): train one cell, evaluate at halfway and the end
- `cell_lists`   reading the cells to train (search output JSON, or CSV)
- `results_log`  the append-only, resumable JSON-lines results file
- `verify`       train a list of cells, sequentially or as Ray tasks
- `zero_cost`    scores of a cell at initialisation (synflow, gradient norm, Jacobian covariance), cached
"""

import importlib

_EXPORTS = {
    "ExecutionOptions": "training",
    "NasBench101Network": "network",
    "NetworkShape": "channels",
    "TrainingProtocol": "training",
    "build_network": "network",
    "compute_vertex_channels": "channels",
    "count_parameters": "param_count",
    "train_and_evaluate": "training",
    "trainable_parameters": "network",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import on first use, so that `predictor.child.datasets` (names only) does not pull in torch."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
