"""The image sets child training runs on, behind one name: CIFAR-10 (the benchmark's) or digits (in the box).

`resolve_dataset` picks CIFAR-10 when its files are there; without them it says where to put
them and how to train on digits instead, rather than guessing. Each set brings the protocol
preset it is meant for (see `training.PROTOCOL_PRESETS`). The names import without torch
(command lines offer them as choices before anything is trained); loading imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from predictor.child.cifar import DeviceCifar

DATASETS = ("cifar10", "digits")
DEFAULT_PROTOCOL = {"cifar10": "benchmark", "digits": "small-data"}
DIGITS_SPLIT_SEED = 0  # the digits split is fixed; the training seed only changes initialisation and order
DIGITS_HINT = "or train on scikit-learn's digits, which need no download: --dataset digits"


def resolve_dataset(name: str | None, cifar_path: str | Path) -> str:
    """`name` (default "cifar10") once its data is known to be there; CifarNotFoundError when it is not."""
    name = name or "cifar10"
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    check_dataset(name, cifar_path)
    return name


def check_dataset(name: str, cifar_path: str | Path) -> None:
    """When CIFAR-10 is asked for: CifarNotFoundError (its hint naming digits too) if it is missing,
    CifarDataError if a batch file is damaged."""
    if name != "cifar10":
        return
    from predictor.child.cifar import CifarNotFoundError, check_cifar10

    try:
        check_cifar10(cifar_path)
    except CifarNotFoundError as error:
        raise CifarNotFoundError(str(error), f"{error.hint}; {DIGITS_HINT}") from None


def load_device_data(name: str, cifar_path: str | Path, device: str) -> DeviceCifar:
    """The named image set, on `device`, with its own normalisation and augmentation."""
    if name == "digits":
        from predictor.child.digits import device_digits

        return device_digits(device, DIGITS_SPLIT_SEED)
    if name == "cifar10":
        from predictor.child.cifar import DeviceCifar

        return DeviceCifar.from_path(cifar_path, device)
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
