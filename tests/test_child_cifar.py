"""CIFAR-10 loading, the benchmark split, normalisation and device-side augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from predictor.child.cifar import (
    CIFAR_URL,
    PAD,
    RGB_MEAN,
    RGB_STD,
    CifarNotFoundError,
    DeviceCifar,
    ShuffledBatches,
    find_cifar_dir,
    load_cifar10,
)
from tests.synthetic_cifar import FILES, write_synthetic_cifar

PER_FILE = 12


@pytest.fixture
def cifar_root(tmp_path):
    write_synthetic_cifar(tmp_path, images_per_file=PER_FILE)
    return tmp_path


def file_marks(images) -> list[int]:
    """Which synthetic file each image came from (the writer stamps 10 * (file index + 1))."""
    return [int(v) // 10 - 1 for v in np.asarray(images)[:, 0, 0, 0]]


def test_split_follows_the_benchmark(cifar_root):
    splits = load_cifar10(cifar_root)
    assert len(splits.train) == 4 * PER_FILE
    assert file_marks(splits.train.images) == sorted([0, 1, 2, 3] * PER_FILE)
    assert file_marks(splits.train_eval.images) == [0] * PER_FILE  # train accuracy: data_batch_1 only
    assert file_marks(splits.valid.images) == [FILES.index("data_batch_5")] * PER_FILE
    assert file_marks(splits.test.images) == [FILES.index("test_batch")] * PER_FILE
    assert splits.train.images.dtype == np.uint8 and splits.train.images.shape[1:] == (3, 32, 32)
    assert splits.train.labels.dtype == np.int64 and set(splits.train.labels.tolist()) <= set(range(10))


def test_accepts_the_batches_folder_itself(cifar_root):
    assert find_cifar_dir(cifar_root / "cifar-10-batches-py") == find_cifar_dir(cifar_root)


def test_missing_data_says_what_to_download_and_where(tmp_path):
    with pytest.raises(CifarNotFoundError) as error:
        load_cifar10(tmp_path)
    message, hint = str(error.value), error.value.hint
    assert "\n" not in message and str(tmp_path) in message and "data_batch_1" in message
    assert CIFAR_URL in hint and "cifar-10-batches-py" in hint


def test_a_missing_file_is_named(cifar_root):
    (cifar_root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(CifarNotFoundError, match="missing: test_batch"):
        load_cifar10(cifar_root)


def test_normalisation_uses_the_official_mean_and_std(cifar_root):
    data = DeviceCifar.from_path(cifar_root, "cpu")
    images = torch.tensor(np.round(RGB_MEAN), dtype=torch.uint8).view(1, 3, 1, 1).expand(2, 3, 32, 32)
    normalised = data.normalize(images)
    expected = (torch.tensor(np.round(RGB_MEAN)) - torch.tensor(RGB_MEAN)) / torch.tensor(RGB_STD)
    assert normalised.dtype == torch.float32
    assert torch.allclose(normalised[:, :, 5, 7], expected.float().expand(2, 3))
    assert data.normalize(images, channels_last=True).is_contiguous(memory_format=torch.channels_last)


def test_augmentation_is_a_padded_crop_maybe_flipped(cifar_root):
    data = DeviceCifar.from_path(cifar_root, "cpu")
    generator = torch.Generator().manual_seed(0)
    indices = torch.arange(len(data.train))
    batch = data.augmented_batch(indices, generator)
    assert batch.shape == (len(indices), 3, 32, 32) and batch.dtype == torch.float32
    # the official order: zero (black) padding of the raw image, crop, flip, then normalisation
    padded = data.normalize(torch.nn.functional.pad(data.train.images, (PAD,) * 4, value=0))
    seen_offsets, seen_flips = set(), set()
    for i in range(len(indices)):
        matches = [
            (dy, dx, flip)
            for dy in range(2 * PAD + 1)
            for dx in range(2 * PAD + 1)
            for flip in (False, True)
            if torch.allclose(
                batch[i],
                (
                    padded[i, :, dy : dy + 32, dx : dx + 32].flip(-1)
                    if flip
                    else padded[i, :, dy : dy + 32, dx : dx + 32]
                ),
            )
        ]
        assert matches, f"image {i} is not a crop of its padded source"
        seen_offsets.add(matches[0][:2])
        seen_flips.add(matches[0][2])
    assert len(seen_offsets) > 5 and seen_flips == {False, True}


def test_shuffled_batches_cover_each_epoch_and_run_across_epochs():
    generator = torch.Generator().manual_seed(1)
    batches = ShuffledBatches(10, 4, generator, torch.device("cpu"))
    drawn = torch.cat([batches.next() for _ in range(5)])  # 20 indices = two full epochs
    assert sorted(drawn[:10].tolist()) == list(range(10)) and sorted(drawn[10:].tolist()) == list(range(10))
    assert drawn[:10].tolist() != list(range(10))
