"""SIN-GAN generator, discriminator and U-Net block: shapes, contracts, serialization."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fbnet.layers.unet_conv_block import UNetConvBlock
from fbnet.models.sin_gan import SinGan
from fbnet.models.sin_gan_discriminator import SinGanDiscriminator
from fbnet.models.sin_gan_generator import DEFAULT_MEAN_RGB, SinGanGenerator
from tests.layer_harness import check_call_shape, check_config_roundtrip, check_keras_roundtrip

SMALL = dict(encoder_filters=(4, 8), decoder_filters=(8, 4))


def _pair(batch: int, height: int, width: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    frames = rng.uniform(size=(2, batch, height, width, 3)).astype(np.float32)
    return {"frame0": frames[0], "frame1": frames[1], "time": np.full(batch, 0.5, np.float32)}


def test_parameter_counts():
    generator, discriminator = SinGanGenerator(), SinGanDiscriminator()
    print(f"\nSIN-GAN generator: {generator.count_params():,} parameters")
    print(f"SIN-GAN discriminator: {discriminator.count_params():,} parameters")
    # Closed form for the first encoder block: two 3x3 convs (6->32, 32->32) and two batch norms.
    first = generator.encoder_blocks[0]
    assert first.count_params() == (9 * 6 * 32 + 32) + (9 * 32 * 32 + 32) + 2 * 4 * 32
    # Decoder block 1 sees 128 (decoder 0) + 64 (encoder 2) channels through 4x4 kernels.
    assert generator.decoder_blocks[1].convs[0].kernel.shape == (4, 4, 192, 64)
    assert discriminator.convs[0].kernel.shape == (4, 4, 9, 8)
    assert SinGan().count_params() == generator.count_params() + discriminator.count_params()


@pytest.mark.parametrize(
    "resample, expected_hw", [("down", (9, 12)), ("up", (34, 46)), ("none", (17, 23))]
)
def test_unet_block_shapes(resample, expected_hw):
    block = UNetConvBlock(5, 3, resample, dropout_rate=0.5)
    x = tf.random.uniform((2, 17, 23, 4))
    check_call_shape(block, x, (2, *expected_hw, 5))
    assert block.compute_output_shape((2, 17, 23, 4)) == (2, *expected_hw, 5)
    check_config_roundtrip(block)


def test_unet_block_tanh_bounds_output_and_rejects_bad_arguments():
    block = UNetConvBlock(3, 3, "none", final_activation="tanh")
    out = block(10.0 * tf.random.normal((1, 8, 8, 2)), training=True)
    assert np.abs(out.numpy()).max() <= 1.0
    with pytest.raises(ValueError, match="sideways"):
        UNetConvBlock(3, resample="sideways")
    with pytest.raises(ValueError, match="1.5"):
        UNetConvBlock(3, dropout_rate=1.5)


@pytest.mark.parametrize("height, width", [(17, 23), (32, 48), (5, 7), (2, 2)])
def test_generator_any_size(height, width):
    generator = SinGanGenerator(**SMALL)
    out = check_call_shape(generator, _pair(2, height, width), (2, height, width, 3))
    assert out.dtype == tf.float32


def test_generator_adds_the_mean_back_unclipped():
    mean = (0.2, 0.5, 1.3)  # 1.3: the output is not clipped to [0, 1]
    generator = SinGanGenerator(mean_rgb=mean, **SMALL)
    conv = generator.output_conv
    conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    out = generator(_pair(1, 16, 16)).numpy()
    np.testing.assert_allclose(out, np.broadcast_to(mean, out.shape), atol=1e-7)


def test_residual_generator_starts_at_frame_averaging_and_learns_a_correction(tmp_path):
    generator = SinGanGenerator(residual=True, **SMALL)
    inputs = _pair(2, 17, 19)
    average = 0.5 * (inputs["frame0"] + inputs["frame1"])
    np.testing.assert_allclose(generator(inputs).numpy(), average, atol=1e-6)
    # The zero-initialised output convolution still gets gradient: the correction can train.
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(generator(inputs, training=True) - inputs["frame0"]))
    grad = tape.gradient(loss, generator.output_conv.kernel)
    assert float(tf.reduce_max(tf.abs(grad))) > 1e-4
    model = SinGan(residual=True, **SMALL)
    assert model.generator.residual and check_config_roundtrip(model).generator.residual


def test_generator_ignores_time_and_dropout_only_in_training():
    generator = SinGanGenerator(**SMALL)
    inputs = _pair(2, 16, 16)
    later = dict(inputs, time=np.full(2, 0.9, np.float32))
    np.testing.assert_array_equal(generator(inputs), generator(later))
    without_time = {k: v for k, v in inputs.items() if k != "time"}
    np.testing.assert_array_equal(generator(inputs), generator(without_time))
    assert not np.allclose(generator(inputs, training=True), generator(inputs, training=True))


def test_generator_uses_skip_connections():
    # Blanking the bottleneck still leaves a frame-dependent output through the skips.
    generator = SinGanGenerator(**SMALL)
    last = generator.encoder_blocks[-1].norms[1]
    last.set_weights([np.zeros_like(w) if i < 2 else w for i, w in enumerate(last.get_weights())])
    a, b = generator(_pair(1, 16, 16, seed=1)), generator(_pair(1, 16, 16, seed=2))
    assert not np.allclose(a, b)


def test_generator_rejects_missing_frames():
    with pytest.raises(ValueError, match="frame1"):
        SinGanGenerator(**SMALL)({"frame0": np.zeros((1, 16, 16, 3), np.float32)})
    with pytest.raises(ValueError, match="mean_rgb"):
        SinGanGenerator(mean_rgb=(0.5, 0.5))


def test_generator_serialization(tmp_path):
    generator = SinGanGenerator(mean_rgb=(0.1, 0.2, 0.3), dropout_rate=0.25, **SMALL)
    clone = check_config_roundtrip(generator)
    assert clone.mean_rgb == (0.1, 0.2, 0.3)
    loaded = check_keras_roundtrip(generator, _pair(2, 17, 19), tmp_path)
    assert isinstance(loaded, SinGanGenerator)


@pytest.mark.parametrize("height, width", [(16, 16), (17, 40), (3, 5)])
def test_discriminator_one_logit_per_patch(height, width):
    discriminator = SinGanDiscriminator()
    triplet = tf.random.uniform((2, height, width, 9))
    expected = (2, -(-height // 16), -(-width // 16), 1)
    out = check_call_shape(discriminator, triplet, expected)
    assert out.dtype == tf.float32
    with pytest.raises(ValueError, match="9"):
        discriminator(tf.zeros((1, 16, 16, 6)))


def test_discriminator_serialization(tmp_path):
    discriminator = SinGanDiscriminator(filters=(4, 8, 8), mean_rgb=DEFAULT_MEAN_RGB)
    check_config_roundtrip(discriminator)
    check_keras_roundtrip(discriminator, tf.random.uniform((2, 20, 24, 9)), tmp_path)


def test_sin_gan_call_is_the_generator(tmp_path):
    model = SinGan(discriminator_filters=(4, 8), **SMALL)
    inputs = _pair(2, 17, 21)
    np.testing.assert_array_equal(model(inputs), model.generator(inputs))
    check_config_roundtrip(model)
    loaded = check_keras_roundtrip(model, inputs, tmp_path)
    assert isinstance(loaded.generator, SinGanGenerator)
    assert isinstance(loaded.discriminator, SinGanDiscriminator)


def test_sin_gan_argument_checks():
    with pytest.raises(ValueError, match="-1"):
        SinGan(adversarial_weight=-1.0, **SMALL)
    with pytest.raises(ValueError, match="pretrain_steps"):
        SinGan(pretrain_steps=-3, **SMALL)
    model = SinGan(**SMALL)
    with pytest.raises(ValueError, match="loss"):
        model.compile(optimizer="adam", loss="mae")
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="different"):
        model.compile(g_optimizer=optimizer, d_optimizer=optimizer)


def test_generator_in_a_graph_with_unknown_sizes():
    # As an exported serving function sees it: batch, height and width all unknown.
    generator = SinGanGenerator(**SMALL)
    spec = tf.TensorSpec([None, None, None, 3], tf.float32)
    serve = tf.function(lambda f0, f1: generator({"frame0": f0, "frame1": f1}, training=False))
    serve = serve.get_concrete_function(spec, spec)
    inputs = _pair(2, 13, 27)
    np.testing.assert_allclose(
        serve(tf.constant(inputs["frame0"]), tf.constant(inputs["frame1"])),
        generator(inputs),
        atol=1e-5,
    )
