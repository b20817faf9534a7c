"""Errors raised alike by several wings (the GCN's fits, child training, weight-sharing search)."""

from __future__ import annotations


class TrainingDivergedError(ValueError):
    """A training run whose loss or predictions stopped being finite (NaN or inf): an error, never a result."""
