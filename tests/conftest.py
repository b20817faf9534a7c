"""Fixtures shared by the test modules."""
from __future__ import annotations

from pathlib import Path

import pytest

from predictor.space import Space, load_space


@pytest.fixture(scope="session")
def full_space_cache_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's enumeration of the full space is cached."""
    return tmp_path_factory.mktemp("space") / "space.npz"


@pytest.fixture(scope="session")
def full_space(full_space_cache_path: Path) -> Space:
    """The full NAS-Bench-101 space, enumerated once per session (about ten seconds)."""
    return load_space(full_space_cache_path, progress=False)
