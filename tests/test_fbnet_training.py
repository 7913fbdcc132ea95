"""FBNet learns: one fit step, a tiny overfit, and motion on held-out synthetic triplets.

Synthetic triplets come from ``data_pipeline.synthetic.shifted_window``: frame ``i`` is one
band-limited texture translated by exactly ``i * shift`` pixels (sub-pixel exact), so the middle
frame is the true intermediate frame and frame averaging is a real baseline, not the answer.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from data_pipeline.synthetic import shifted_window
from fbnet.losses import FBNetLoss
from fbnet.metrics import psnr
from fbnet.models.fbnet_model import FBNet
from tests.layer_harness import TINY_FBNET, check_one_fit_step

# The real feature and flow path (4 levels, 16/32/64 features, [32, 64, 64, 16] estimators);
# only the decoder is slimmer, to keep the test short.
REAL_FLOW_PATH = {"fusion_filters": [8, 16, 32, 32], "fusion_convs_per_level": 1}


def _triplets(size: int, shifts: list[tuple[float, float]], seed: int) -> tuple[dict, np.ndarray]:
    """``({"frame0", "frame1"}, middle)`` for windows moving by ``shift`` per frame."""
    windows = np.stack(
        [
            shifted_window(size, size, shift, window=3, seed=seed + i)
            for i, shift in enumerate(shifts)
        ]
    )
    return {"frame0": windows[:, 0], "frame1": windows[:, 2]}, windows[:, 1]


def _random_shifts(count: int, low: float, high: float, seed: int) -> list[tuple[float, float]]:
    """Per-frame shifts whose input-to-input displacement (2 x shift) is in [low, high] px."""
    rng = np.random.default_rng(seed)
    magnitude = rng.uniform(low, high, count) / 2.0
    angle = rng.uniform(0.0, 2.0 * np.pi, count)
    return [(m * np.sin(a), m * np.cos(a)) for m, a in zip(magnitude, angle)]


def _mean_psnr(target: np.ndarray, prediction: tf.Tensor) -> float:
    return float(tf.reduce_mean(psnr(tf.constant(target), prediction)))


@pytest.mark.slow
def test_one_fit_step_then_tiny_overfit() -> None:
    keras.utils.set_random_seed(0)
    shifts = [(1.3, -0.7), (-0.45, 1.8), (0.9, 0.35), (-1.6, -1.1)]
    inputs, target = _triplets(32, shifts, seed=10)
    model = FBNet(**TINY_FBNET)
    model(inputs)  # build, so the harness can compare weights before and after the step
    start = check_one_fit_step(model, inputs, target, loss=FBNetLoss())
    model.optimizer.learning_rate.assign(3e-3)
    history = model.fit(inputs, target, batch_size=len(target), epochs=100, verbose=0)
    losses = history.history["loss"]
    print(f"tiny overfit: start {start:.4f}, after {len(losses)} steps {losses[-1]:.4f}")
    assert min(losses) < 0.5 * start, (start, losses[-10:])


@pytest.mark.slow
def test_briefly_trained_fbnet_beats_frame_averaging_on_held_out_motion() -> None:
    """Inputs 3-6 px apart in random directions; held-out textures and shifts."""
    keras.utils.set_random_seed(0)
    train_inputs, train_target = _triplets(32, _random_shifts(128, 3.0, 6.0, seed=1), seed=1000)
    test_shifts = _random_shifts(4, 3.0, 6.0, seed=2)
    test_inputs, test_target = _triplets(32, test_shifts, seed=5000)
    model = FBNet(**REAL_FLOW_PATH)
    model.compile(optimizer=keras.optimizers.Adam(4e-3), loss=FBNetLoss())
    model.fit(train_inputs, train_target, batch_size=8, epochs=7, verbose=0)

    aux = model.call_with_aux(test_inputs)
    average = 0.5 * (test_inputs["frame0"] + test_inputs["frame1"])
    model_psnr = _mean_psnr(test_target, aux["frame"])
    average_psnr = _mean_psnr(test_target, average)
    print(f"held-out PSNR: FBNet {model_psnr:.2f} dB, frame average {average_psnr:.2f} dB")
    assert model_psnr > average_psnr + 1.0
    # The flow and warp carry the motion: frame 0 warped by flow0 is closer to the middle frame
    # than frame 0 itself.
    warped_psnr = _mean_psnr(test_target, aux["warped0"])
    unwarped_psnr = _mean_psnr(test_target, test_inputs["frame0"])
    print(f"frame0 vs middle: warped {warped_psnr:.2f} dB, unwarped {unwarped_psnr:.2f} dB")
    assert warped_psnr > unwarped_psnr + 1.0
