"""The README's main command (``train.py --model fbnet`` on the embedded synthetic data) learns.

Its default config, cut to two of its five epochs: validation PSNR must rise from the first epoch
to the second and end above frame averaging on the same validation windows, i.e. the flow
estimator has started to find the motion (a run that only learns to blend the inputs stops at
averaging). The full five epochs are the README's figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from data_pipeline.dataset import make_dataset
from fbnet.training.defaults import default_config
from fbnet.training.trainer import train


def _averaging_psnr(data_dir: Path) -> float:
    values = []
    for inputs, target in make_dataset(data_dir, "val", batch_size=16, training=False):
        blend = 0.5 * (inputs["frame0"] + inputs["frame1"])
        values.append(tf.image.psnr(blend, target, 1.0).numpy())
    return float(np.mean(np.concatenate(values)))


@pytest.mark.slow
def test_default_fbnet_run_learns_motion(tmp_path: Path) -> None:
    config = default_config("fbnet")
    config.data.synthetic_root = str(tmp_path / "data")
    config.training.epochs = 2
    config.training.seed = 0
    config.training.image_windows = 0
    result = train(config.validate(), tmp_path / "run", progress=False, log=lambda _: None)
    first, second = (epoch["val_psnr"] for epoch in result.history)
    averaging = _averaging_psnr(tmp_path / "data" / "synthetic-w3-dis")
    assert second > first + 1.0, (first, second)
    assert second > averaging + 1.0, (second, averaging)
