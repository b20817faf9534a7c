"""The image splits as normalised float tensors on one device: what one-shot and stand-alone training read.

Both the search and the stand-alone trainings of the assessment draw plain shuffled
minibatches from these tensors (no augmentation), so digits and CIFAR-10 go through the
same code on CPU or GPU. Normalisation is per channel with the training set's own mean and
standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from predictor.child.cifar import CifarSplits, Split

DATASETS = ("digits", "cifar10")


@dataclass(frozen=True)
class ImageTensors:
    """Train / validation / test as `Split`s of tensors on one device: images (N, C, H, W) float32, normalised."""

    train: Split
    valid: Split
    test: Split

    @property
    def device(self) -> torch.device:
        return self.train.images.device

    @classmethod
    def from_splits(cls, splits: CifarSplits, device: torch.device | str = "cpu") -> ImageTensors:
        train_images = torch.as_tensor(splits.train.images, dtype=torch.float32)
        mean = train_images.mean(dim=(0, 2, 3), keepdim=True)
        std = train_images.std(dim=(0, 2, 3), keepdim=True).clamp(min=1e-6)

        def put(split: Split) -> Split:
            images = (torch.as_tensor(split.images, dtype=torch.float32) - mean) / std
            return Split(images.to(device), torch.as_tensor(split.labels, dtype=torch.int64).to(device))

        return cls(put(splits.train), put(splits.valid), put(splits.test))


def load_image_tensors(
    dataset: str, seed: int = 0, device: torch.device | str = "cpu", cifar_path: str | Path = "data"
) -> ImageTensors:
    """`digits` (scikit-learn's, split by `seed`) or `cifar10` (NAS-Bench-101's split, read from `cifar_path`)."""
    if dataset == "digits":
        from predictor.child.digits import load_digits_splits

        return ImageTensors.from_splits(load_digits_splits(seed), device)
    if dataset == "cifar10":
        from predictor.child.cifar import load_cifar10

        return ImageTensors.from_splits(load_cifar10(cifar_path), device)
    raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")


def shuffled_batches(count: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch of index batches in a seeded random order (the last one may be smaller)."""
    order = torch.randperm(count, generator=generator)
    return list(order.split(batch_size))


@torch.no_grad()
def accuracy(model: torch.nn.Module, split: Split, batch_size: int = 512, **forward_kwargs) -> float:
    """Top-1 accuracy of `model(images, **forward_kwargs)` over a whole split, in the model's current mode."""
    correct = 0
    for start in range(0, len(split), batch_size):
        logits = model(split.images[start : start + batch_size], **forward_kwargs)
        correct += int((logits.argmax(dim=1) == split.labels[start : start + batch_size]).sum())
    return correct / len(split)
