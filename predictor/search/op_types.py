"""The seam between a poisoned vocabulary and the GCN: fit and predict with 5 + K node types.

The GCN one-hot encodes a vertex as op code + 2 among `NUM_NODE_TYPES` = 5 columns (output,
input, conv3x3, conv1x1, maxpool3x3), clipping larger codes into the last one, so a zero op
(code 3 + j) would read as a maxpool. Until the GCN takes the number of op types as a setting,
`with_node_types` widens that one-hot for the duration of a fit or a prediction: zero op j gets
column 5 + j of its own. This module is the only place that knows how; swap its body for the
GCN's own setting once it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

GCN_NODE_TYPES = 5


@contextmanager
def _node_types(count: int) -> Iterator[None]:
    from predictor.gcn import features, fused

    saved = features.NUM_NODE_TYPES, fused.NUM_NODE_TYPES
    features.NUM_NODE_TYPES = fused.NUM_NODE_TYPES = count
    try:
        yield
    finally:
        features.NUM_NODE_TYPES, fused.NUM_NODE_TYPES = saved


@dataclass(frozen=True)
class _WideModel:
    model: Any
    node_types: int

    def predict(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        with _node_types(self.node_types):
            return self.model.predict(adjacency, operations, num_vertices)

    def predict_members(self, adjacency: np.ndarray, operations: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
        with _node_types(self.node_types):
            if callable(getattr(self.model, "predict_members", None)):
                return self.model.predict_members(adjacency, operations, num_vertices)
            return np.asarray(self.model.predict(adjacency, operations, num_vertices)).reshape(1, -1)


@dataclass(frozen=True)
class WithNodeTypes:
    """A GCN fit function whose models see `extra` more node types (codes 3..2+extra); picklable."""

    fit: Callable[..., Any]
    extra: int

    def __call__(self, *args: Any, **kwargs: Any) -> _WideModel:
        node_types = GCN_NODE_TYPES + self.extra
        with _node_types(node_types):
            return _WideModel(self.fit(*args, **kwargs), node_types)


def with_node_types(fit: Callable[..., Any], extra: int) -> Callable[..., Any]:
    """`fit` itself when there is nothing extra to encode, else its widened version."""
    return fit if extra == 0 else WithNodeTypes(fit, extra)
