"""The one HDF5 schema: dataset names, axes of the metrics block, and the format version.

Every reader and writer takes these names from here, so a file made by the converter and
one made by the public neuralpredictor.pytorch tool stay interchangeable.
"""

from __future__ import annotations

FORMAT_VERSION = 1
BUDGETS = (4, 12, 36, 108)  # epochs; axis 1 of `metrics`
NUM_REPEATS = 3  # axis 2 of `metrics`
EVALUATION_POINTS = ("halfway", "final")  # axis 3 of `metrics`
METRIC_FIELDS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")  # axis 4
DATASETS = ("hash", "num_vertices", "trainable_parameters", "adjacency", "operations", "metrics")
# shape of one module's row in each dataset (the first axis is the module)
SHAPES = {
    "num_vertices": (),
    "trainable_parameters": (),
    "adjacency": (7, 7),
    "operations": (7,),
    "metrics": (len(BUDGETS), NUM_REPEATS, len(EVALUATION_POINTS), len(METRIC_FIELDS)),
}
