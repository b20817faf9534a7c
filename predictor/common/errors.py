"""Errors raised in one wing and caught or raised alike in others (torch-free, so any caller can import them)."""

from __future__ import annotations


class TrainingDivergedError(ValueError):
    """A training run whose loss or predictions stopped being finite (NaN or inf): an error, never a result."""


class TooFewKeptError(ValueError):
    """A two-stage fit whose classifier keeps fewer training modules than its regressor needs."""
