"""Real child training: the NAS-Bench-101 network in PyTorch, its protocols, and verification runs.

- `network`      the network built around a cell, layer for layer the official TF builder
- `channels`     the official vertex-channel rule and the macro skeleton (`NetworkShape`)
- `param_count`  the trainable-parameter count in closed form, without building anything
- `param_check`  that count against a dataset file's `trainable_parameters`
- `cifar`        CIFAR-10 pickles, the benchmark's split, augmentation on the device
- `digits`       scikit-learn's digits in the same layout (no download), its own normalisation
- `datasets`     the two behind one name (`--dataset cifar10|digits`)
- `optim`        TF-1 RMSProp and the per-step cosine learning rate
- `train_step`   the train step, plain or captured as a CUDA graph
- `training`     the protocol (presets "benchmark" and "small-data"): train one cell, evaluate at halfway and the end
- `cell_lists`   reading the cells to train (search output JSON, or CSV)
- `results_log`  the append-only, resumable JSON-lines results file
- `verify`       train a list of cells, sequentially or as Ray tasks
"""

from predictor.child.channels import NetworkShape, compute_vertex_channels
from predictor.child.network import NasBench101Network, build_network, trainable_parameters
from predictor.child.param_count import count_parameters
from predictor.child.training import ExecutionOptions, TrainingProtocol, train_and_evaluate

__all__ = [
    "ExecutionOptions",
    "NasBench101Network",
    "NetworkShape",
    "TrainingProtocol",
    "build_network",
    "compute_vertex_channels",
    "count_parameters",
    "train_and_evaluate",
    "trainable_parameters",
]
