"""Named ENAS and assessment settings, torch-free so that command lines can offer them.

"default" is `EnasConfig` itself: made for digits, about a minute on two CPU cores. "cpu" is
the reduced CIFAR-10 search (docs/enas.md): the same proxy network (3 stacks of 1 module,
stem 16), each epoch training the shared weights on 5,120 images drawn anew from the 40,000
training images, rewards and derivation scored on the first 1,000 validation images, and 40
derivation samples; measured at 9.5 minutes on two loaded CPU cores (docs/enas.md).

An assessment preset names an ENAS preset, the stand-alone protocol (a child-training preset
and overrides) and the sizes of the assessment. "cpu" is the reduced CIFAR-10 assessment for
two CPU cores: the "cpu" search, stand-alone trainings on the child's "cpu" protocol with half
its training images (one epoch of 4,000 images at stem 16, 1,000 images scored per set), two
seeds, the clean op set and one poisoned level, and 20 cells for the Kendall tau.
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

ASSESSMENT_PRESETS: dict[str, dict] = {
    "default": {"enas": "default", "standalone": {}},
    "cpu": {
        "enas": "cpu",
        "standalone": {"preset": "cpu", "train_images": 4000},
        "seeds": 2,
        "levels": (0, 4),
        "tau_cells": 20,
    },
}
