"""Named ENAS settings (overrides of `EnasConfig`'s defaults), torch-free so that command lines can offer them.

"default" is `EnasConfig` itself: made for digits, about a minute on two CPU cores. "cpu" is
the reduced CIFAR-10 search (docs/enas.md): the same proxy network (3 stacks of 1 module,
stem 16), each epoch training the shared weights on 5,120 images drawn anew from the 40,000
training images, rewards and derivation scored on the first 1,000 validation images, and 40
derivation samples; measured at 9.5 minutes on two loaded CPU cores (docs/enas.md).
"""

from __future__ import annotations

ENAS_PRESETS: dict[str, dict] = {
    "default": {},
    "cpu": {
        "epochs": 10,
        "warmup_epochs": 4,
        "train_images": 5120,
        "valid_images": 1000,
        "controller_steps": 10,
        "derive_samples": 40,
    },
}
