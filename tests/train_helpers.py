"""Tiny training configs shared by the training-loop tests: seconds per run on 16-32 px crops."""

from __future__ import annotations

from pathlib import Path

from fbnet.training.config import TrainConfig
from fbnet.training.defaults import default_config

TINY_PARAMS = {
    "deep_cnn": {
        "expansion_filters": 4,
        "spatial_filters": [4, 4],
        "spatial_kernel_sizes": [3, 3],
        "head_filters": [4],
    },
    "fbnet": {
        "levels": 2,
        "feature_filters": [4, 8],
        "flow_filters": [8, 4],
        "flow_kernel_sizes": [3, 1],
        "fusion_filters": [4, 8],
    },
    "sin_gan": {
        "encoder_filters": [4, 4, 4, 4],
        "decoder_filters": [4, 4, 4, 4],
        "discriminator_filters": [4, 4, 4, 4],
    },
    "dncnn": {"depth": 2, "filters": 4},
}

# The same deep_cnn as command-line overrides, for tests that run train.py in a subprocess.
TINY_DEEP_CNN_ARGS = [
    "--set", "model.params.expansion_filters=4",
    "--set", "model.params.spatial_filters=[4, 4]",
    "--set", "model.params.spatial_kernel_sizes=[3, 3]",
    "--set", "model.params.head_filters=[4]",
]  # fmt: skip


def tiny_config(data_dir: Path, model: str = "deep_cnn", **training) -> TrainConfig:
    """A validated two-epoch, three-step run of a tiny ``model`` on ``data_dir``; ``training``
    overrides ``TrainConfig.training`` fields."""
    config = default_config(model)
    config.model.params = dict(TINY_PARAMS[model])
    config.data.dir = str(data_dir)
    config.data.crop = 32 if model == "sin_gan" else 16
    config.data.batch_size = 2
    config.training.epochs = 2
    config.training.steps_per_epoch = 3
    config.training.validation_steps = 1
    config.training.log_every_steps = 1
    config.training.checkpoint_every_steps = 2
    config.training.image_windows = 2
    config.training.seed = 1
    for key, value in training.items():
        setattr(config.training, key, value)
    return config.validate()
