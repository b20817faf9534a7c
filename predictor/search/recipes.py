"""Training configs of the predictor inside a search, by name.

- `paper`: the paper-faithful recipe (`TrainConfig.paper()`), for the one-shot protocol;
- `recommended`: the library's recommended recipe (`TrainConfig.recommended()`);
- `search`: the paper's recipe changed for search, where a model is refitted dozens of
  times on a few to a few hundred modules, and only the order of its predictions matters:
  * a fixed number of optimizer steps (`StepBudget`) instead of epochs: 300 epochs are a
    handful of steps on 16 modules (an underfit model) and thousands on 500 (a slow one);
  * a pairwise logistic ranking loss alone, no regression term: on the search's own
    training sets (few modules, most of them good) it more than doubles the share of
    top-1% modules among the next picks compared with the regression loss;
  * a smaller network (64 wide) and a larger learning rate (2e-3), for the short budget;
  * from the recommended setting: the output vertex's features in the readout, weight decay 1e-4.
No recipe (None) leaves the fit function to its own defaults: for stand-in fit functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from predictor.data.encodings import NUM_REAL_OPS
from predictor.gcn.config import TrainConfig

RECIPES = ("search", "recommended", "paper")

SEARCH_STEPS = 300
SEARCH_SETTINGS = {
    "hidden": 64,
    "readout_hidden": 64,
    "readout": "mean-output",
    "batch_size": 16,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "ranking_weight": 1.0,
    "regression_weight": 0.0,
}


@dataclass(frozen=True)
class StepBudget:
    """A training config whose epochs are chosen per fit so that each fit makes about `steps` steps."""

    config: TrainConfig
    steps: int

    def for_size(self, num_modules: int) -> TrainConfig:
        steps_per_epoch = max(1, num_modules // self.config.batch_size)
        return self.config.replace(epochs=max(1, math.ceil(self.steps / steps_per_epoch)))


def config_for_size(config: TrainConfig | StepBudget, num_modules: int) -> TrainConfig:
    """The config to fit `num_modules` modules with (a `StepBudget` resolves to concrete epochs)."""
    return config.for_size(num_modules) if isinstance(config, StepBudget) else config


def training_config(recipe: str | None, num_op_types: int = NUM_REAL_OPS) -> TrainConfig | StepBudget | None:
    """The named recipe for a vertex op vocabulary of `num_op_types` (more than 3 with zero ops); None for None."""
    if recipe is None:
        return None
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
    if recipe == "paper":
        return TrainConfig.paper().replace(num_op_types=num_op_types)
    if recipe == "recommended":
        return TrainConfig.recommended().replace(num_op_types=num_op_types)
    return StepBudget(TrainConfig.paper().replace(**SEARCH_SETTINGS, num_op_types=num_op_types), SEARCH_STEPS)
