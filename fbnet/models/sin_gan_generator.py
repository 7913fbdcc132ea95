"""SIN-GAN generator: a U-Net from two frames to the middle frame (Koren, Menda, Sharma).

Call contract (as every two-frame model): ``{"frame0": [B, H, W, 3], "frame1": [B, H, W, 3],
"time": [B]}`` float32 in [0, 1] -> the middle frame [B, H, W, 3] float32. ``time`` is ignored
(the network only ever predicts t = 0.5). Any H, W >= 2: the input is padded (symmetric, bottom
and right) to a multiple of ``2 ** len(encoder_filters)`` (16 by default, one halving per
encoder block) and the output cropped back.

Both frames have the fixed per-channel ``mean_rgb`` subtracted and are stacked into 6 channels;
the network predicts the mean-subtracted middle frame and the mean is added back. With
``residual=True`` (not in the paper) it predicts a correction to the average of the two frames
instead, and its last convolution starts at zero: an untrained generator is frame averaging, so
short trainings start from a sensible image rather than from noise. The output is
NOT clipped: the SIN-GAN clip loss penalises values outside [0, 1], and viewers/metrics clip.

Flow-guided variant (``flow_guide``, not in the paper): a frozen FBNet
(:class:`fbnet.models.flow_guide.FlowGuide`) warps both frames to t = 0.5; the U-Net sees the two
frames and the two warped frames (12 channels, mean-subtracted) and predicts a correction to the
average of the warped frames (``residual`` is implied), so an untrained generator is the flow
model's blend and training buys occlusions and detail.

Layout (paper notation C32-C64-C64-C128, D128-D64-D64-D32): encoder blocks conv-bn-lrelu x2 then
2x2 max-pool; decoder blocks bilinear x2 then conv-bn-lrelu x2 and dropout; decoder block j > 0
takes the previous decoder output stacked with the encoder output of the same resolution; then
a tanh block (conv-bn-lrelu, conv-bn-tanh to 3 channels) and a 1x1 conv to the image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from fbnet.layers.padding import crop_to, pad_to_multiple
from fbnet.layers.unet_conv_block import UNetConvBlock
from fbnet.models.flow_guide import FlowGuide, restoring_flow_guide

# ImageNet per-channel RGB mean: a fixed, dataset-independent centre for natural images.
DEFAULT_MEAN_RGB = (0.485, 0.456, 0.406)


def check_mean_rgb(mean_rgb: Sequence[float]) -> tuple[float, float, float]:
    """``mean_rgb`` as a tuple of three floats; ``ValueError`` otherwise."""
    values = tuple(float(v) for v in mean_rgb)
    if len(values) != 3:
        raise ValueError(f"mean_rgb must have 3 values (R, G, B), got {mean_rgb!r}")
    return values


def check_frame_inputs(inputs, model_name: str) -> tuple[tf.Tensor, tf.Tensor]:
    """``(frame0, frame1)`` as float32 from a two-frame input dict; ``ValueError`` otherwise."""
    if not isinstance(inputs, dict) or "frame0" not in inputs or "frame1" not in inputs:
        keys = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
        raise ValueError(f"{model_name} expects a dict with 'frame0' and 'frame1', got {keys}")
    return tf.cast(inputs["frame0"], tf.float32), tf.cast(inputs["frame1"], tf.float32)


@keras.saving.register_keras_serializable(package="fbnet")
class SinGanGenerator(keras.Model):
    """U-Net generator of the SIN-GAN (see the module docstring for the contract).

    Args:
        encoder_filters: channels of the encoder (C) blocks, finest first.
        decoder_filters: channels of the decoder (D) blocks, coarsest first; same length.
        encoder_kernel_size: kernel size in the encoder (3 in the paper).
        decoder_kernel_size: kernel size in the decoder and the tanh block (4 in the paper).
        dropout_rate: dropout on every decoder block output (training only).
        mean_rgb: per-channel mean subtracted from the inputs and added to the output.
        negative_slope: LeakyReLU slope.
        residual: predict a correction to the average of the two frames (see above).
        flow_guide: :class:`~fbnet.models.flow_guide.FlowGuide` arguments (``{"fbnet": {...},
            "weights_from": path}``) for the flow-guided variant; ``None``: the paper's
            generator.
    """

    def __init__(
        self,
        encoder_filters: Sequence[int] = (32, 64, 64, 128),
        decoder_filters: Sequence[int] = (128, 64, 64, 32),
        encoder_kernel_size: int = 3,
        decoder_kernel_size: int = 4,
        dropout_rate: float = 0.5,
        mean_rgb: Sequence[float] = DEFAULT_MEAN_RGB,
        negative_slope: float = 0.2,
        residual: bool = False,
        flow_guide: Mapping[str, Any] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if len(encoder_filters) < 1 or len(encoder_filters) != len(decoder_filters):
            raise ValueError(
                "encoder_filters and decoder_filters must be non-empty and of equal length, got "
                f"{list(encoder_filters)} and {list(decoder_filters)}"
            )
        self.encoder_filters = tuple(int(f) for f in encoder_filters)
        self.decoder_filters = tuple(int(f) for f in decoder_filters)
        self.encoder_kernel_size = encoder_kernel_size
        self.decoder_kernel_size = decoder_kernel_size
        self.dropout_rate = dropout_rate
        self.mean_rgb = check_mean_rgb(mean_rgb)
        self.negative_slope = negative_slope
        self.flow_guide = None if flow_guide is None else dict(flow_guide)
        self.residual = bool(residual) or self.flow_guide is not None
        self.pad_multiple = 2 ** len(self.encoder_filters)
        self.guide = None
        if self.flow_guide is not None:
            self.guide = FlowGuide(**self.flow_guide, name="flow_guide")
            self.flow_guide.pop("restoring", None)

        policy = self.dtype_policy
        self.encoder_blocks = [
            UNetConvBlock(f, encoder_kernel_size, "down", negative_slope=negative_slope,
                          name=f"encoder{i}", dtype=policy)
            for i, f in enumerate(self.encoder_filters)
        ]  # fmt: skip
        self.decoder_blocks = [
            UNetConvBlock(f, decoder_kernel_size, "up", dropout_rate, negative_slope=negative_slope,
                          name=f"decoder{i}", dtype=policy)
            for i, f in enumerate(self.decoder_filters)
        ]  # fmt: skip
        self.tanh_block = UNetConvBlock(
            3, decoder_kernel_size, "none", final_activation="tanh",
            negative_slope=negative_slope, name="tanh_block", dtype=policy,
        )  # fmt: skip
        # float32 output layer so the model works under mixed precision.
        self.output_conv = keras.layers.Conv2D(
            3,
            1,
            kernel_initializer="zeros" if self.residual else "glorot_uniform",
            name="output_conv",
            dtype="float32",
        )
        self.build()

    def build(self, input_shape=None) -> None:
        """Create all weights; they depend on channel counts only, never on H and W."""
        channels = 6 if self.guide is None else 12
        for block in self.encoder_blocks:
            block.build((None, None, None, channels))
            channels = block.filters
        for i, block in enumerate(self.decoder_blocks):
            skip = self.encoder_filters[-1 - i] if i > 0 else 0
            block.build((None, None, None, channels + skip))
            channels = block.filters
        self.tanh_block.build((None, None, None, channels))
        self.output_conv.build((None, None, None, 3))

    def call(self, inputs, training=None):
        frame0, frame1 = check_frame_inputs(inputs, "SinGanGenerator")
        mean = tf.constant(self.mean_rgb, tf.float32)
        images = [frame0, frame1]
        if self.guide is not None:
            half = tf.fill(tf.shape(frame0)[:1], 0.5)
            warped0, warped1 = self.guide({"frame0": frame0, "frame1": frame1, "time": half})
            images += [warped0, warped1]
        x = tf.concat([image - mean for image in images], axis=-1)
        x, original_hw = pad_to_multiple(x, self.pad_multiple, mode="SYMMETRIC")
        skips = []
        for block in self.encoder_blocks:
            x = block(x, training=training)
            skips.append(x)
        for i, block in enumerate(self.decoder_blocks):
            if i > 0:
                x = tf.concat([x, skips[-1 - i]], axis=-1)
            x = block(x, training=training)
        x = self.output_conv(self.tanh_block(x, training=training))
        base = 0.5 * (images[-2] + images[-1]) if self.residual else mean
        return crop_to(tf.cast(x, tf.float32), original_hw) + base

    def compute_output_spec(self, inputs, training=None):
        frame0 = inputs["frame0"]
        return keras.KerasTensor(frame0.shape, dtype="float32")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder_filters=list(self.encoder_filters),
            decoder_filters=list(self.decoder_filters),
            encoder_kernel_size=self.encoder_kernel_size,
            decoder_kernel_size=self.decoder_kernel_size,
            dropout_rate=self.dropout_rate,
            mean_rgb=list(self.mean_rgb),
            negative_slope=self.negative_slope,
            residual=self.residual,
        )
        if self.flow_guide is not None:
            config["flow_guide"] = self.flow_guide
        return config

    @classmethod
    def from_config(cls, config: dict) -> SinGanGenerator:
        return cls(**restoring_flow_guide(config))
