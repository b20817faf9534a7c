"""Ray is optional (`pip install '.[ray]'`): one import check and one hint for every command that offers it."""

from __future__ import annotations

RAY_INSTALL_HINT = "Ray is not installed; install it with: pip install '.[ray]'  (or: pip install 'ray>=2.9')"


class RayUnavailableError(ImportError):
    """Ray was asked for but cannot be imported."""


def import_ray():
    """The `ray` module; RayUnavailableError (with the install hint) when it is not installed."""
    try:
        import ray
    except ImportError:
        raise RayUnavailableError(RAY_INSTALL_HINT) from None
    return ray
