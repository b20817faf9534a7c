"""scikit-learn's handwritten digits: real images that ship inside a package, no download.

1,797 images of 8x8 pixels (values 0..16), 10 classes. They are scaled to uint8 (0..255)
and replicated to 3 channels so the NAS-Bench-101 network and every CIFAR-10 code path
take them unchanged. The split is fixed by a seed: 1,200 train, 300 validation, 297 test;
`train_eval` (the set on which train accuracy is measured) is the first 300 training images.

On the device they are normalized with the training split's own mean and standard
deviation and never augmented: a crop or a mirror of an 8x8 digit changes what it shows
(a mirrored 2 is no 2).
"""

from __future__ import annotations

import numpy as np

from predictor.child.cifar import CifarSplits, DeviceCifar, Split

NUM_TRAIN, NUM_VALID = 1_200, 300
TRAIN_EVAL = 300
IMAGE_SHAPE = (3, 8, 8)


def load_digits_splits(seed: int = 0) -> CifarSplits:
    """The digits as (N, 3, 8, 8) uint8 images in a seeded train/validation/test split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None].repeat(3, axis=1)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    train, valid, test = np.split(order, [NUM_TRAIN, NUM_TRAIN + NUM_VALID])
    return CifarSplits(
        train=Split(images[train], labels[train]),
        train_eval=Split(images[train[:TRAIN_EVAL]], labels[train[:TRAIN_EVAL]]),
        valid=Split(images[valid], labels[valid]),
        test=Split(images[test], labels[test]),
    )


def device_digits(device: str = "cpu", seed: int = 0) -> DeviceCifar:
    """The seeded split on `device`, normalized with its training statistics, without augmentation."""
    splits = load_digits_splits(seed)
    train = np.asarray(splits.train.images, dtype=np.float64)
    mean = tuple(train.mean(axis=(0, 2, 3)).tolist())
    std = tuple(train.std(axis=(0, 2, 3)).tolist())
    return DeviceCifar(splits, device, mean=mean, std=std, augment=False)
