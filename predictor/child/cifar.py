"""CIFAR-10 for the NAS-Bench-101 protocol: the python pickle batches, the benchmark's split,
and batched augmentation on the training device.

Split (as the official `generate_cifar10_tfrecords.py`): train = data_batch_1..4
(40,000 images), validation = data_batch_5, test = test_batch; the "train accuracy"
is measured on data_batch_1 alone (the official `train_eval` input). Preprocessing
follows the official `cifar.py`: zero-pad 4 pixels, random 32x32 crop, random
horizontal flip, then per-channel normalisation with its RGB mean/std (0..255 scale),
so padded pixels are black before normalisation.

All images stay on the device as uint8 tensors; a training batch is cropped,
flipped and normalised there in a few batched kernels, so a GPU never waits for a
CPU input pipeline.
"""

from __future__ import annotations

import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-py"
TRAIN_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4")
TRAIN_EVAL_FILE = "data_batch_1"
VALID_FILE = "data_batch_5"
TEST_FILE = "test_batch"
ALL_FILES = (*TRAIN_FILES, VALID_FILE, TEST_FILE)

RGB_MEAN = (125.31, 122.95, 113.87)
RGB_STD = (62.99, 62.09, 66.70)
IMAGE_SHAPE = (3, 32, 32)
PAD = 4


NUM_CLASSES = 10
DOWNLOAD_HINT = (
    f"download {CIFAR_URL} (163 MB) and unpack it: mkdir -p data && curl -L {CIFAR_URL} | tar xz -C data "
    f"(gives data/{CIFAR_FOLDER}/; elsewhere pass that folder, or its parent, with --cifar)"
)
UNPACK_AGAIN = "unpack cifar-10-python.tar.gz again (the batch files must be the official python pickles)"


class CifarNotFoundError(FileNotFoundError):
    """CIFAR-10 is not where it was looked for. The message is one line; `hint` says what to do."""

    def __init__(self, message: str, hint: str = DOWNLOAD_HINT):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        return self.args[0]


class CifarDataError(ValueError):
    """A batch file is there but damaged or not CIFAR-10 (truncated, wrong shapes, labels out of range)."""


def find_cifar_dir(path: str | Path) -> Path:
    """The folder holding the batch files: `path` itself or its `cifar-10-batches-py` subfolder."""
    path = Path(path)
    if path.is_file():
        if tarfile.is_tarfile(path):
            raise CifarNotFoundError(
                f"{path} is the CIFAR-10 archive, not its unpacked folder",
                hint=f"unpack it first: mkdir -p data && tar xzf {path} -C data, then pass --cifar data",
            )
        raise CifarNotFoundError(f"{path} is a file, not the CIFAR-10 folder")
    for candidate in (path, path / CIFAR_FOLDER):
        if all((candidate / name).is_file() for name in ALL_FILES):
            return candidate
    looked = path / CIFAR_FOLDER if (path / CIFAR_FOLDER).is_dir() else path
    missing = [name for name in ALL_FILES if not (looked / name).is_file()]
    raise CifarNotFoundError(f"CIFAR-10 (python version) not found in {looked} (missing: {', '.join(missing)})")


def read_batch_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 3, 32, 32) uint8, labels (N,) int64) of one pickle batch file.

    Raises CifarDataError naming the file when it is truncated, not a batch pickle, has
    images of another shape, a label count that differs from the image count, or a label
    outside 0-9.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            batch = pickle.load(file, encoding="bytes")
        data, labels = batch[b"data"], batch[b"labels"]
        data = np.asarray(data)
        labels = np.asarray(labels)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise CifarDataError(
            f"{path}: truncated or not a CIFAR-10 batch file ({type(error).__name__}); {UNPACK_AGAIN}"
        ) from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != int(np.prod(IMAGE_SHAPE)) or not len(data):
        raise CifarDataError(
            f"{path}: images are {data.dtype} {data.shape}, expected uint8 (N, 3072) (32x32 RGB); {UNPACK_AGAIN}"
        )
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise CifarDataError(
            f"{path}: {len(data):,} images but labels of shape {labels.shape} ({labels.dtype}); {UNPACK_AGAIN}"
        )
    outside = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if len(outside):
        raise CifarDataError(
            f"{path}: label {int(labels[outside[0]])} of image {int(outside[0])} is outside 0-{NUM_CLASSES - 1} "
            f"({len(outside):,} such labels); {UNPACK_AGAIN}"
        )
    return data.reshape(-1, *IMAGE_SHAPE), labels.astype(np.int64)


def check_cifar10(path: str | Path) -> None:
    """Read and check every batch file (about a second), so that a damaged one fails before any training."""
    folder = find_cifar_dir(path)
    for name in ALL_FILES:
        read_batch_file(folder / name)


@dataclass(frozen=True)
class Split:
    """Images (N, 3, H, W) uint8 and labels (N,) int64; numpy arrays or tensors."""

    images: np.ndarray | torch.Tensor
    labels: np.ndarray | torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class CifarSplits:
    """The four sets of the benchmark protocol; `train_eval` is the first file of `train`."""

    train: Split
    train_eval: Split
    valid: Split
    test: Split


def load_cifar10(path: str | Path) -> CifarSplits:
    """Read the pickle batches and split them as NAS-Bench-101 did (see the module docstring)."""
    folder = find_cifar_dir(path)
    train_parts = [read_batch_file(folder / name) for name in TRAIN_FILES]
    train = Split(np.concatenate([p[0] for p in train_parts]), np.concatenate([p[1] for p in train_parts]))
    return CifarSplits(
        train=train,
        train_eval=Split(*train_parts[TRAIN_FILES.index(TRAIN_EVAL_FILE)]),
        valid=Split(*read_batch_file(folder / VALID_FILE)),
        test=Split(*read_batch_file(folder / TEST_FILE)),
    )


class DeviceCifar:
    """The splits as uint8 tensors on one device, with batched augmentation and normalisation there.

    Any image set in the CIFAR split layout fits (digits does too): `mean`/`std` are its
    per-channel statistics on the 0..255 scale, `augment` turns the crop and flip on.
    The training images are stored already zero-padded, so a random crop is a single gather.
    """

    def __init__(
        self,
        splits: CifarSplits,
        device: torch.device | str,
        mean: tuple[float, ...] = RGB_MEAN,
        std: tuple[float, ...] = RGB_STD,
        augment: bool = True,
    ):
        self.device = torch.device(device)
        self.augment = augment

        def put(split: Split) -> Split:
            return Split(
                torch.as_tensor(split.images, dtype=torch.uint8).to(self.device),
                torch.as_tensor(split.labels, dtype=torch.int64).to(self.device),
            )

        self.train, self.train_eval, self.valid, self.test = map(
            put, (splits.train, splits.train_eval, splits.valid, splits.test)
        )
        self.padded_train = torch.nn.functional.pad(self.train.images, (PAD, PAD, PAD, PAD))
        self.height, self.width = self.train.images.shape[-2:]
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)

    @classmethod
    def from_path(cls, path: str | Path, device: torch.device | str) -> DeviceCifar:
        return cls(load_cifar10(path), device)

    def normalize(self, images: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        """uint8 images -> float32, per-channel standardised with the official mean/std."""
        x = (images.to(torch.float32) - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    def augmented_batch(
        self, indices: torch.Tensor, generator: torch.Generator, channels_last: bool = False
    ) -> torch.Tensor:
        """Pad-4 random crop + random horizontal flip of the chosen training images, normalised.

        Without augmentation the images are only normalised (and no random numbers are drawn)."""
        if not self.augment:
            return self.normalize(self.train.images[indices], channels_last)
        n = len(indices)
        offsets = torch.randint(0, 2 * PAD + 1, (2, n), generator=generator, device=self.device)
        flip = torch.randint(0, 2, (n, 1), generator=generator, device=self.device).bool()
        rows = offsets[0, :, None] + torch.arange(self.height, device=self.device)
        columns = torch.arange(self.width, device=self.device).expand(n, -1)
        columns = offsets[1, :, None] + torch.where(flip, self.width - 1 - columns, columns)
        channels = torch.arange(self.train.images.shape[1], device=self.device)
        crops = self.padded_train[
            indices[:, None, None, None],
            channels[None, :, None, None],
            rows[:, None, :, None],
            columns[:, None, None, :],
        ]
        return self.normalize(crops, channels_last)


class ShuffledBatches:
    """Fixed-size batches of indices over endless reshuffled epochs, as TF's shuffle_and_repeat + batch.

    Batches run across epoch boundaries (156.25 batches of 256 per 40,000-image epoch),
    so every step sees a full batch; indices are drawn on the device without host syncs.
    """

    def __init__(self, num_items: int, batch_size: int, generator: torch.Generator, device: torch.device):
        self.num_items, self.batch_size, self.generator, self.device = num_items, batch_size, generator, device
        self._buffer = torch.empty(0, dtype=torch.int64, device=device)

    def next(self) -> torch.Tensor:
        while len(self._buffer) < self.batch_size:
            fresh = torch.randperm(self.num_items, generator=self.generator, device=self.device)
            self._buffer = torch.cat([self._buffer, fresh])
        batch, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
        return batch
