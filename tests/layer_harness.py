"""Shared checks for Keras layers and models (shape, config, .keras round-trip, one fit step).

Use them from per-layer tests on small (16-64 px) inputs, e.g.::

    layer = WarpedFeatureFusion(filters=[16, 32])
    out = check_call_shape(layer, inputs, expected_shape=(2, 32, 32, 3))
    check_config_roundtrip(layer)
    check_keras_roundtrip(model, inputs, tmp_path)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# A small FBNet (3 levels, narrow convolutions) for fast model tests.
TINY_FBNET = {
    "levels": 3,
    "feature_filters": [8, 16],
    "flow_filters": [16, 16],
    "flow_kernel_sizes": [3, 1],
    "fusion_filters": [8, 16, 16],
    "fusion_convs_per_level": 1,
}


def _as_numpy(value: Any) -> Any:
    return tf.nest.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), value)


def check_call_shape(layer: Any, inputs: Any, expected_shape: tuple[int, ...]) -> Any:
    """Call ``layer`` eagerly and assert the (first) output's shape; returns the output."""
    out = layer(inputs)
    first = tf.nest.flatten(out)[0]
    assert tuple(first.shape) == tuple(expected_shape), (tuple(first.shape), expected_shape)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(first)))
    return out


def check_config_roundtrip(layer: Any) -> Any:
    """``from_config(get_config())`` rebuilds an object with the same config."""
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    return clone


def check_keras_roundtrip(
    model: keras.Model, inputs: Any, tmp_path: Path, atol: float = 1e-6
) -> keras.Model:
    """Save to ``.keras``, load, and assert identical outputs on ``inputs``."""
    before = _as_numpy(model(inputs, training=False))
    path = Path(tmp_path) / f"{model.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    after = _as_numpy(loaded(inputs, training=False))
    tf.nest.map_structure(lambda a, b: np.testing.assert_allclose(a, b, atol=atol), before, after)
    return loaded


def check_one_fit_step(model: keras.Model, inputs: Any, target: Any, loss: Any = "mae") -> float:
    """One ``fit`` step changes the weights and gives a finite loss; returns that loss.

    The model is called once on ``inputs`` first, so an unbuilt subclassed model has weights.
    """
    if not model.built or not model.trainable_weights:
        model(inputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    history = model.fit(inputs, target, epochs=1, batch_size=len(target), verbose=0)
    value = float(history.history["loss"][-1])
    assert np.isfinite(value), value
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "no weight changed"
    return value


def fbnet_inputs(height: int, width: int, batch: int = 2, seed: int = 0) -> dict:
    """Random frames, frame 1 being frame 0 rolled 2 px right, at t from 0.3 to 0.7."""
    rng = np.random.default_rng(seed)
    frame0 = rng.uniform(0, 1, (batch, height, width, 3)).astype(np.float32)
    return {
        "frame0": tf.constant(frame0),
        "frame1": tf.constant(np.roll(frame0, 2, axis=2)),
        "time": tf.constant(np.linspace(0.3, 0.7, batch), tf.float32),
    }


def perturb_fbnet(model: keras.Model, seed: int = 0) -> None:
    """Give an FBNet non-trivial flow and fusion outputs (both start near zero)."""
    rng = np.random.default_rng(seed)
    for estimator in model.flow.estimators:
        kernel = estimator.to_flow.kernel
        kernel.assign(rng.normal(0, 0.05, kernel.shape).astype(np.float32))
    kernel = model.fusion.to_rgb.kernel
    kernel.assign(rng.normal(0, 0.05, kernel.shape).astype(np.float32))
