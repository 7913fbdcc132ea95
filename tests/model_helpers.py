"""Models, frames and run directories shared by the export, interpolate and evaluate tests.

``TinyBlend`` is a registered two-frame model small enough to export in seconds; ``make_run``
writes a run directory as train.py leaves it (config.yaml and checkpoints/best.keras) without
training.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import keras
import numpy as np

from fbnet.loading import KerasInterpolator

REPO_ROOT = Path(__file__).resolve().parents[1]


@keras.saving.register_keras_serializable(package="fbnet_tests")
class TinyBlend(keras.Model):
    """A tiny two-frame model: time-weighted blend plus a small learned residual."""

    def __init__(self, filters: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters = filters
        self.hidden = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")
        self.residual = keras.layers.Conv2D(3, 3, padding="same", kernel_initializer="he_normal")

    def call(self, inputs: dict, training: bool | None = None):
        frame0, frame1 = inputs["frame0"], inputs["frame1"]
        time = keras.ops.reshape(inputs.get("time", keras.ops.full((1,), 0.5)), (-1, 1, 1, 1))
        blend = (1.0 - time) * frame0 + time * frame1
        features = self.hidden(keras.ops.concatenate([frame0, frame1], axis=-1))
        return blend + 0.2 * self.residual(features)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters}


def tiny_model(seed: int = 0) -> TinyBlend:
    keras.utils.set_random_seed(seed)
    model = TinyBlend()
    frames = np.zeros((1, 8, 8, 3), np.float32)
    model({"frame0": frames, "frame1": frames, "time": np.full((1,), 0.5, np.float32)})
    return model


def random_pair(batch: int, height: int, width: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    shape = (batch, height, width, 3)
    return rng.integers(0, 256, shape, np.uint8), rng.integers(0, 256, shape, np.uint8)


def keras_grey_levels(model, frame0, frame1, time) -> np.ndarray:
    out = KerasInterpolator(model).interpolate(frame0, frame1, np.asarray(time, np.float32))
    return np.round(out * 255.0).astype(np.int32)


def texture(height: int, width: int, seed: int, blur: float = 3.0) -> np.ndarray:
    """Smooth random RGB texture, uint8."""
    noise = np.random.default_rng(seed).random((height, width, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), blur)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.round(smooth * 255).astype(np.uint8)


TINY_PARAMS = {
    "deep_cnn": {
        "expansion_filters": 4,
        "spatial_filters": [4, 4],
        "spatial_kernel_sizes": [3, 2],
        "head_filters": [4],
        "output_activation": "sigmoid",
    },
    "fbnet": {
        "levels": 3,
        "feature_filters": [4, 8],
        "flow_filters": [8, 8, 4],
        "flow_kernel_sizes": [3, 3, 1],
        "fusion_filters": [4, 8, 8],
        "fusion_convs_per_level": 1,
    },
    "dncnn": {"depth": 2, "filters": 4},
}


def make_run(root: Path, name: str, params: dict, checkpoint_params: dict | None = None) -> Path:
    """A run directory as train.py leaves it: config.yaml and checkpoints/best.keras."""
    from fbnet.training.build import build_model
    from fbnet.training.config import ModelConfig, TrainConfig
    from fbnet.training.config_io import save_config
    from fbnet.training.run_dir import RunDir

    run = RunDir.at(root / name).create()
    config = TrainConfig(model=ModelConfig(name=name, params=params))
    save_config(config, run.config_path)
    keras.utils.set_random_seed(1)
    written = TrainConfig(model=ModelConfig(name=name, params=checkpoint_params or params))
    build_model(written).save(run.checkpoints / "best.keras")
    return run.root
