"""FBNet as a whole: sizes, time input, clipping, saving, configs, parameter count, precision."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fbnet.models import build_model
from fbnet.models.fbnet_model import FBNet
from fbnet.ops.warp import dense_image_warp
from tests.layer_harness import (
    TINY_FBNET,
    check_call_shape,
    check_config_roundtrip,
    check_keras_roundtrip,
)

SLIDES_PARAMETERS = 1_199_971


def _inputs(height: int, width: int, batch: int = 2, time: list[float] | None = None) -> dict:
    rng = np.random.default_rng(height * 1000 + width)
    inputs = {
        "frame0": tf.constant(rng.uniform(0, 1, (batch, height, width, 3)), tf.float32),
        "frame1": tf.constant(rng.uniform(0, 1, (batch, height, width, 3)), tf.float32),
    }
    if time is not None:
        inputs["time"] = tf.constant(time, tf.float32)
    return inputs


def _perturb(model: keras.Model, seed: int = 0, scale: float = 0.05) -> None:
    """Make the output convolutions (zero or near-zero at init) large so every path contributes."""
    rng = np.random.default_rng(seed)
    for estimator in model.flow.estimators:
        kernel = estimator.to_flow.kernel
        kernel.assign(rng.normal(0, scale, kernel.shape).astype(np.float32))
        estimator.to_flow.bias.assign(rng.normal(0, 1.0, 2).astype(np.float32))
    kernel = model.fusion.to_rgb.kernel
    kernel.assign(rng.normal(0, scale, kernel.shape).astype(np.float32))


@pytest.fixture(scope="module")
def default_model() -> FBNet:
    model = FBNet()
    model(_inputs(16, 16))
    return model


def test_default_parameter_count_is_within_10_percent_of_the_slides(default_model) -> None:
    count = default_model.count_params()
    parts = {layer.name: layer.count_params() for layer in default_model.layers}
    print(f"FBNet default parameters: {count:,} (slides: {SLIDES_PARAMETERS:,}), parts {parts}")
    assert abs(count - SLIDES_PARAMETERS) <= 0.10 * SLIDES_PARAMETERS, count
    assert sum(parts.values()) == count


@pytest.mark.parametrize("height, width", [(37, 53), (64, 64), (2, 3)])
def test_untrained_model_is_nearly_the_time_weighted_blend_at_any_size(
    default_model, height, width
) -> None:
    inputs = _inputs(height, width, time=[0.3, 0.8])
    out = check_call_shape(default_model, inputs, expected_shape=(2, height, width, 3))
    aux = default_model.call_with_aux(inputs)
    # Zero-initialised fusion output and a tiny random flow output: almost no motion, no
    # correction. The flows are small but not zero (see the next test).
    flows = np.concatenate([aux["flow0"].numpy(), aux["flow1"].numpy()])
    assert 0 < np.abs(flows).max() < 0.25, np.abs(flows).max()
    t = inputs["time"].numpy()[:, None, None, None]
    expected = (1 - t) * inputs["frame0"].numpy() + t * inputs["frame1"].numpy()
    np.testing.assert_allclose(out.numpy(), expected, atol=0.1)
    assert np.abs(out.numpy() - expected).mean() < 0.01
    assert {k: tuple(v.shape) for k, v in aux.items()} == {
        "frame": (2, height, width, 3),
        "warped0": (2, height, width, 3),
        "warped1": (2, height, width, 3),
        "flow0": (2, height, width, 2),
        "flow1": (2, height, width, 2),
    }


def test_untrained_flow_path_receives_gradient() -> None:
    """At exactly zero flow the warp's flow gradient vanishes (tfa's rule at integer samples),
    so an untrained model must start off zero or its flow never learns."""
    model = FBNet()
    inputs = _inputs(32, 32, batch=1, time=[0.5])
    shifted = tf.roll(inputs["frame0"], shift=2, axis=2)
    inputs["frame1"] = tf.roll(shifted, shift=2, axis=2)
    model(inputs)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(model(inputs) - shifted))
    kernels = [estimator.to_flow.kernel for estimator in model.flow.estimators]
    grads = tape.gradient(loss, kernels)
    for level, grad in enumerate(grads):
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 1e-6, level


def test_large_odd_size_with_motion() -> None:
    model = FBNet()
    inputs = _inputs(130, 250, batch=1, time=[0.5])
    model(_inputs(16, 16, batch=1))
    _perturb(model)
    aux = model.call_with_aux(inputs)
    assert tuple(aux["frame"].shape) == (1, 130, 250, 3)
    frame = aux["frame"].numpy()
    assert np.isfinite(frame).all() and frame.min() >= 0.0 and frame.max() <= 1.0
    assert np.abs(aux["flow0"].numpy()).max() > 0.1  # the flow path is active
    # The aux outputs explain the frame: warped inputs and the flows that produced them (away
    # from the bottom/right edge, where the model warps its padded frames).
    np.testing.assert_allclose(
        aux["warped0"].numpy()[:, :120, :240],
        dense_image_warp(inputs["frame0"], aux["flow0"]).numpy()[:, :120, :240],
        atol=1e-5,
    )


def test_time_defaults_to_half_and_flows_scale_with_time() -> None:
    model = FBNet(**TINY_FBNET)
    model(_inputs(24, 40))
    _perturb(model)
    inputs = _inputs(24, 40)
    np.testing.assert_allclose(
        model(inputs).numpy(), model({**inputs, "time": tf.constant([0.5, 0.5])}).numpy()
    )
    # One time for the whole batch is broadcast.
    np.testing.assert_allclose(
        model({**inputs, "time": tf.constant(0.5)}).numpy(), model(inputs).numpy()
    )
    quarter = model.call_with_aux({**inputs, "time": tf.constant([0.25, 0.25])})
    half = model.call_with_aux({**inputs, "time": tf.constant([0.5, 0.5])})
    # flow0 = t * flow_01 and flow1 = (1 - t) * flow_10 with the same underlying flows.
    np.testing.assert_allclose(2 * quarter["flow0"].numpy(), half["flow0"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(quarter["flow1"].numpy(), 1.5 * half["flow1"].numpy(), rtol=1e-5)


def test_output_is_clipped_at_inference_but_not_in_training() -> None:
    model = FBNet(**TINY_FBNET)
    inputs = _inputs(16, 24, time=[0.5, 0.5])
    model(inputs)
    model.fusion.to_rgb.bias.assign([0.6, 0.6, 0.6])
    inference = model(inputs).numpy()
    training = model(inputs, training=True).numpy()
    assert inference.max() == 1.0 and training.max() > 1.0
    np.testing.assert_allclose(inference, np.clip(training, 0.0, 1.0), atol=1e-6)


def test_keras_file_roundtrip_gives_identical_outputs(tmp_path) -> None:
    model = FBNet(**{**TINY_FBNET, "pad_mode": "edge"})
    inputs = _inputs(21, 30, time=[0.2, 0.7])
    model(inputs)
    _perturb(model)
    loaded = check_keras_roundtrip(model, inputs, tmp_path)
    assert isinstance(loaded, FBNet) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(
        loaded.call_with_aux(inputs)["flow1"].numpy(),
        model.call_with_aux(inputs)["flow1"].numpy(),
        atol=1e-6,
    )


def test_config_roundtrip_and_registry() -> None:
    model = FBNet(**TINY_FBNET, flow_shared_from_level=1, activation="elu", pad_mode="SYMMETRIC")
    clone = check_config_roundtrip(model)
    assert clone.flow.estimator_for(2) is clone.flow.estimator_for(1)
    built = build_model("fbnet", **TINY_FBNET)
    assert isinstance(built, FBNet) and built.fusion_filters == TINY_FBNET["fusion_filters"]


def test_sharing_coarse_flow_levels_drops_exactly_one_estimator(default_model) -> None:
    shared = FBNet(flow_shared_from_level=2)
    shared(_inputs(16, 16))
    dropped = default_model.flow.estimators[3].count_params()
    assert shared.count_params() == default_model.count_params() - dropped


def test_bad_config_and_inputs_are_rejected_with_the_value() -> None:
    with pytest.raises(ValueError, match=r"\[16, 48\]"):
        FBNet(fusion_filters=[16, 48])
    with pytest.raises(ValueError, match="WRAP"):
        FBNet(pad_mode="WRAP")
    model = FBNet(**TINY_FBNET)
    model(_inputs(8, 8))
    with pytest.raises(ValueError, match="frame0"):
        model({"frame0": tf.zeros([1, 8, 8, 3])})


def test_dynamic_size_tf_function_matches_eager() -> None:
    model = FBNet(**TINY_FBNET)
    model(_inputs(16, 16))
    _perturb(model)
    spec = {
        "frame0": tf.TensorSpec([None, None, None, 3], tf.float32),
        "frame1": tf.TensorSpec([None, None, None, 3], tf.float32),
        "time": tf.TensorSpec([None], tf.float32),
    }
    serve = tf.function(lambda inputs: model(inputs), input_signature=[spec])
    for height, width in [(19, 26), (32, 17)]:
        inputs = _inputs(height, width, time=[0.4, 0.6])
        np.testing.assert_allclose(serve(inputs).numpy(), model(inputs).numpy(), atol=1e-5)


def test_mixed_precision_output_is_float32_and_close_to_float32() -> None:
    inputs = _inputs(16, 24, time=[0.3, 0.6])
    reference = FBNet(**TINY_FBNET)
    reference(inputs)
    _perturb(reference)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        mixed = FBNet(**TINY_FBNET)
        mixed(inputs)
    finally:
        keras.config.set_dtype_policy(previous)
    mixed.set_weights(reference.get_weights())
    aux = mixed.call_with_aux(inputs)
    assert aux["frame"].dtype == tf.float32 and aux["flow0"].dtype == tf.float32
    np.testing.assert_allclose(aux["frame"].numpy(), reference(inputs).numpy(), atol=2e-2)
