"""A tiny CIFAR-10 look-alike in the real pickle format, for tests that must not need the download."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


def write_synthetic_cifar(folder: Path, images_per_file: int = 16, seed: int = 0) -> Path:
    """Write cifar-10-batches-py/ with `images_per_file` random images per batch file; returns the folder.

    Each file's images are filled with a value that encodes the file number, so tests can
    tell which file an image came from: pixel value 10 * (file index + 1) in the first
    channel's top-left pixel, random elsewhere.
    """
    rng = np.random.default_rng(seed)
    target = Path(folder) / "cifar-10-batches-py"
    target.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(FILES):
        data = rng.integers(0, 256, size=(images_per_file, 3 * 32 * 32), dtype=np.uint8)
        data[:, 0] = 10 * (index + 1)
        labels = rng.integers(0, 10, size=images_per_file).tolist()
        with open(target / name, "wb") as file:
            pickle.dump(
                {
                    b"batch_label": name.encode(),
                    b"data": data,
                    b"labels": labels,
                    b"filenames": [b"x.png"] * images_per_file,
                },
                file,
            )
    return target
