"""FBNet's layers: pyramid, cascaded features, flow refinement arithmetic, fusion, configs."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fbnet.layers.bidirectional_flow import BiDirectionalFlowEstimation, swap_pair, upsample_flow
from fbnet.layers.flow_estimator import FlowEstimator
from fbnet.layers.fusion import WarpedFeatureFusion
from fbnet.layers.image_pyramid import ImagePyramid
from fbnet.layers.pyramid_features import PyramidFeatureExtraction, cascaded_channels
from tests.layer_harness import check_call_shape, check_config_roundtrip


def _images(batch: int = 2, height: int = 16, width: int = 24, channels: int = 3) -> tf.Tensor:
    rng = np.random.default_rng(0)
    return tf.constant(rng.uniform(0, 1, (batch, height, width, channels)).astype(np.float32))


def test_image_pyramid_is_2x2_block_mean() -> None:
    images = _images()
    pyramid = ImagePyramid(levels=3)(images)
    assert [tuple(p.shape) for p in pyramid] == [(2, 16, 24, 3), (2, 8, 12, 3), (2, 4, 6, 3)]
    expected = images.numpy()
    for level in pyramid[1:]:
        b, h, w, c = expected.shape
        expected = expected.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
        np.testing.assert_allclose(level.numpy(), expected, rtol=1e-6, atol=1e-7)
    check_config_roundtrip(ImagePyramid(levels=5))


def test_cascaded_features_concatenate_the_documented_convolutions() -> None:
    layer = PyramidFeatureExtraction(levels=4, filters=[4, 5, 6])
    images = _images()
    features = layer(images)
    assert layer.channels == [4, 9, 15, 15] == cascaded_channels([4, 5, 6], 4)
    assert [f.shape[-1] for f in features] == layer.channels
    assert [tuple(f.shape[1:3]) for f in features] == [(16, 24), (8, 12), (4, 6), (2, 3)]
    pyramid = ImagePyramid(4)(images)
    conv0, conv1, conv2 = layer.convs
    pool = keras.layers.AveragePooling2D(2)
    for n in range(4):
        # Level n: conv_0 of image n, conv_1 of image n-1, conv_2 of image n-2, in that order.
        parts = [conv0(pyramid[n])]
        if n >= 1:
            parts.append(conv1(pool(conv0(pyramid[n - 1]))))
        if n >= 2:
            parts.append(conv2(pool(conv1(pool(conv0(pyramid[n - 2]))))))
        np.testing.assert_allclose(
            features[n].numpy(), tf.concat(parts, -1).numpy(), rtol=1e-5, atol=1e-6
        )


def test_feature_extractor_rejects_bad_config() -> None:
    with pytest.raises(ValueError, match="0"):
        PyramidFeatureExtraction(levels=0)
    with pytest.raises(ValueError, match=r"\[\]"):
        PyramidFeatureExtraction(filters=[])
    check_config_roundtrip(PyramidFeatureExtraction(levels=3, filters=[8, 16], kernel_size=5))


def test_untrained_flow_estimator_is_nearly_the_identity_refinement() -> None:
    estimator = FlowEstimator(filters=[8, 8], kernel_sizes=[3, 1], flow_init_stddev=1e-3)
    target, source = _images(channels=6), _images(channels=6)[::-1]
    flow = tf.random.normal([2, 16, 24, 2])
    # The last convolution starts with tiny random weights and a zero bias: the residual update
    # is a small, non-zero correction (zero would leave the warp at its zero-gradient point).
    delta = estimator((target, source, flow)).numpy() - flow.numpy()
    assert 0 < np.abs(delta).max() < 0.05, np.abs(delta).max()
    start = estimator((target, source)).numpy()
    assert 0 < np.abs(start).max() < 0.05, np.abs(start).max()
    assert estimator((target, source)).dtype == tf.float32
    with pytest.raises(ValueError, match=r"\[8\]"):
        FlowEstimator(filters=[8], kernel_sizes=[3, 1])
    with pytest.raises(ValueError, match="flow_init_stddev.*0.0"):
        FlowEstimator(flow_init_stddev=0.0)
    check_config_roundtrip(estimator)


def test_upsample_flow_doubles_size_and_values() -> None:
    flow = tf.constant(np.full([1, 3, 5, 2], [0.75, -1.5], np.float32))
    up = upsample_flow(flow)
    assert tuple(up.shape) == (1, 6, 10, 2)
    np.testing.assert_allclose(up.numpy(), np.full([1, 6, 10, 2], [1.5, -3.0]), rtol=1e-6)


def test_coarse_to_fine_flow_accumulates_with_x2_scaling() -> None:
    levels = 4
    layer = BiDirectionalFlowEstimation(levels, filters=[4], kernel_sizes=[1])
    features = PyramidFeatureExtraction(levels, [3, 4])(_images(batch=4))
    layer(features)
    step = np.array([0.25, -0.5], np.float32)
    for estimator in layer.estimators:
        estimator.to_flow.kernel.assign(tf.zeros_like(estimator.to_flow.kernel))
        estimator.to_flow.bias.assign(step)
    flows = layer(features)
    # Every level adds `step` to the x2-upsampled, x2-scaled coarser flow, so level l holds
    # (2 ** (levels - l) - 1) * step everywhere.
    for level, flow in enumerate(flows):
        assert tuple(flow.shape) == (4, 16 >> level, 24 >> level, 2)
        np.testing.assert_allclose(
            flow.numpy(), np.broadcast_to((2 ** (levels - level) - 1) * step, flow.shape), rtol=1e-5
        )


def test_flow_estimators_are_per_level_or_shared_from_a_level() -> None:
    own = BiDirectionalFlowEstimation(levels=4, filters=[4], kernel_sizes=[1])
    shared = BiDirectionalFlowEstimation(
        levels=4, filters=[4], kernel_sizes=[1], shared_from_level=2
    )
    assert len(own.estimators) == 4
    assert len(shared.estimators) == 3
    assert shared.estimator_for(3) is shared.estimator_for(2) is shared.estimators[2]
    with pytest.raises(ValueError, match="4"):
        BiDirectionalFlowEstimation(levels=4, shared_from_level=4)
    check_config_roundtrip(shared)


def test_swap_pair_exchanges_the_two_frames() -> None:
    pair = tf.constant(np.arange(6, dtype=np.float32).reshape(6, 1))
    np.testing.assert_array_equal(swap_pair(pair).numpy().ravel(), [3, 4, 5, 0, 1, 2])


def test_fusion_starts_at_zero_and_decodes_to_full_resolution() -> None:
    fusion = WarpedFeatureFusion(filters=[4, 6, 8], convs_per_level=1)
    warped = [_images(batch=4, height=16 >> n, width=24 >> n, channels=5) for n in range(3)]
    time = tf.constant([0.25, 0.5])
    out = check_call_shape(fusion, (warped, time), expected_shape=(2, 16, 24, 3))
    assert out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy(), 0.0)
    fusion.to_rgb.kernel.assign(tf.random.normal(fusion.to_rgb.kernel.shape))
    changed = fusion((warped, time)).numpy()
    # The time plane reaches the output: two different times, two different frames.
    assert not np.allclose(changed, fusion((warped, 1.0 - time)).numpy())
    with pytest.raises(ValueError, match="3 levels, got 2"):
        fusion((warped[:2], time))
    check_config_roundtrip(fusion)
