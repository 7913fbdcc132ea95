"""FBNet: pyramid features, bidirectional flow, warped feature fusion (the "Frame Booster" model).

Inputs and outputs (the project's two-frame contract):

* ``{"frame0": [B, H, W, 3], "frame1": [B, H, W, 3], "time": [B]}``, float32 images in [0, 1],
  ``time`` in [0, 1] (0 = frame0, 1 = frame1); ``time`` may be omitted and then is 0.5. Any
  ``H, W >= 2``: inputs are padded at the bottom/right to a multiple of ``2 ** (L - 1)``
  (``pad_mode``), ``L = levels + flow_coarse_levels``, and tiny ones to at least ``2 ** L`` so the
  coarsest level is 2x2 or larger; every output is cropped back.
* ``call`` returns the frame at ``time``, ``[B, H, W, 3]`` float32. It is clipped to [0, 1] at
  inference; with ``training=True`` it is left unclipped so the loss has gradients everywhere.

Flows (see :mod:`fbnet.layers.bidirectional_flow`) are float32 ``[B, h, w, 2]``, channel 0
vertical (rows), channel 1 horizontal (columns), in pixels of their level, applied with
``dense_image_warp(image, flow)[y, x] = image[y - flow_y, x - flow_x]``. ``flow_01`` maps frame 0
onto frame 1, ``flow_10`` frame 1 onto frame 0. Assuming linear motion, frame 0 is warped to time
``t`` by ``t * flow_01`` and frame 1 by ``(1 - t) * flow_10`` (at every level, in that level's
pixels). Flows are upsampled between levels by x2 bilinear resizing with values times 2.

Pipeline: a shared (siamese) cascaded feature pyramid for both frames; coarse-to-fine residual
flow estimation in both directions with one estimator per level shared by the two directions;
both feature pyramids warped to ``t``; a decoder fuses them coarse to fine into a 3-channel
correction that is added to ``(1 - t) * warped frame0 + t * warped frame1``.

Motion range: a flow estimator sees a few pixels around each pixel of its level, so the coarsest
level bounds the motion found directly (about +-16 px at full resolution for the slides' 4 levels
and 5x5 receptive field). ``flow_coarse_levels = n`` adds ``n`` coarser levels used for flow only:
their features come from the same shared cascade convolutions and their flow from the coarsest
level's estimator (shared), so they add no weights, the fusion still sees ``levels`` levels, and a
trained 4-level model's weights load unchanged; each extra level doubles the range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import tensorflow as tf

from fbnet.layers.bidirectional_flow import BiDirectionalFlowEstimation
from fbnet.layers.fusion import WarpedFeatureFusion
from fbnet.layers.padding import PAD_MODES, crop_to, pad_to_multiple
from fbnet.layers.pyramid_features import PyramidFeatureExtraction
from fbnet.ops.warp import dense_image_warp

DEFAULT_TIME = 0.5


@keras.saving.register_keras_serializable(package="fbnet")
class FBNet(keras.Model):
    """Frame interpolation by pyramid features, bidirectional flow and warped feature fusion.

    Args:
        levels: pyramid levels (>= 1); inputs are padded to a multiple of ``2 ** (levels - 1)``.
        feature_filters: channels of the shared cascaded feature convolutions.
        feature_kernel_size: their kernel size.
        flow_filters: hidden channels of each flow estimator.
        flow_kernel_sizes: their kernel sizes (same length as ``flow_filters``).
        flow_shared_from_level: levels from this one on share one flow estimator; ``None``
            gives each level its own (with ``flow_coarse_levels``, every level from
            ``levels - 1`` on shares the coarsest one).
        flow_finest_level: finest level with a flow estimator. 0 (the slides) estimates flow
            at every level; 1 estimates none at full resolution and uses the level-1 flow
            upsampled x2 (bilinear, values x2) there, which removes about a third of the
            multiply-adds. The levels kept have the same layers as in the default model, so
            :func:`fbnet.models.weight_transfer.copy_matching_weights` warm-starts it from one.
        flow_coarse_levels: extra flow-only levels coarser than ``levels`` (no new weights; see
            the module docstring).
        fusion_filters: decoder channels per level, finest first (``levels`` entries).
        fusion_kernel_size: decoder kernel size.
        fusion_convs_per_level: decoder convolutions per level.
        activation: activation of all hidden convolutions.
        pad_mode: ``"REFLECT"``, ``"SYMMETRIC"`` or ``"EDGE"`` padding to the size multiple.
        warp_jit_compile: run the warps XLA-compiled (the fast default); ``False`` gives the same
            values with plain TensorFlow ops (used for SavedModel exports, so that servers
            without XLA JIT can run them).

    ``call`` returns the frame; :meth:`call_with_aux` also returns the warped inputs and flows.

    Example:
        >>> model = FBNet()
        >>> frame = model({"frame0": a, "frame1": b, "time": tf.fill([batch], 0.5)})
    """

    # Constructor arguments that leave the weights as they are (a warm start may change them).
    WEIGHT_FREE_ARGS = ("flow_coarse_levels", "pad_mode", "warp_jit_compile")

    def __init__(
        self,
        levels: int = 4,
        feature_filters: Sequence[int] = (16, 32, 64),
        feature_kernel_size: int = 3,
        flow_filters: Sequence[int] = (32, 64, 64, 16),
        flow_kernel_sizes: Sequence[int] = (3, 3, 1, 1),
        flow_shared_from_level: int | None = None,
        fusion_filters: Sequence[int] = (16, 48, 112, 112),
        fusion_kernel_size: int = 3,
        fusion_convs_per_level: int = 2,
        activation: str = "relu",
        pad_mode: str = "REFLECT",
        warp_jit_compile: bool = True,
        flow_finest_level: int = 0,
        flow_coarse_levels: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if int(levels) < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        if int(flow_coarse_levels) < 0:
            raise ValueError(f"flow_coarse_levels must be >= 0, got {flow_coarse_levels}")
        if (
            int(flow_coarse_levels) > 0
            and flow_shared_from_level is not None
            and int(flow_shared_from_level) >= int(levels)
        ):
            raise ValueError(
                f"with flow_coarse_levels, flow_shared_from_level must be <= levels - 1 "
                f"({int(levels) - 1}), got {flow_shared_from_level}"
            )
        if not 0 <= int(flow_finest_level) < int(levels):
            raise ValueError(
                f"flow_finest_level must be in [0, {int(levels) - 1}], got {flow_finest_level}"
            )
        if len(fusion_filters) != int(levels):
            raise ValueError(
                f"fusion_filters needs one entry per level ({levels}), got {list(fusion_filters)}"
            )
        if pad_mode.upper() not in PAD_MODES:
            raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
        self.levels = int(levels)
        self.feature_filters = [int(f) for f in feature_filters]
        self.feature_kernel_size = int(feature_kernel_size)
        self.flow_filters = [int(f) for f in flow_filters]
        self.flow_kernel_sizes = [int(k) for k in flow_kernel_sizes]
        self.flow_shared_from_level = (
            None if flow_shared_from_level is None else int(flow_shared_from_level)
        )
        self.fusion_filters = [int(f) for f in fusion_filters]
        self.fusion_kernel_size = int(fusion_kernel_size)
        self.fusion_convs_per_level = int(fusion_convs_per_level)
        self.activation = activation
        self.pad_mode = pad_mode.upper()
        self.warp_jit_compile = bool(warp_jit_compile)
        self.flow_finest_level = int(flow_finest_level)
        self.flow_coarse_levels = int(flow_coarse_levels)
        shared = self.flow_shared_from_level
        if self.flow_coarse_levels and shared is None:
            shared = self.levels - 1
        self.features = PyramidFeatureExtraction(
            self.flow_levels,
            self.feature_filters,
            self.feature_kernel_size,
            activation,
            name="pyramid_features",
        )
        self.flow = BiDirectionalFlowEstimation(
            self.flow_levels,
            self.flow_filters,
            self.flow_kernel_sizes,
            activation,
            shared_from_level=shared,
            warp_jit_compile=self.warp_jit_compile,
            finest_level=self.flow_finest_level,
            name="bidirectional_flow",
        )
        self.fusion = WarpedFeatureFusion(
            self.fusion_filters,
            self.fusion_kernel_size,
            self.fusion_convs_per_level,
            activation,
            name="fusion",
        )

    @property
    def flow_levels(self) -> int:
        """Levels of the feature and flow pyramids: ``levels + flow_coarse_levels``."""
        return self.levels + self.flow_coarse_levels

    @property
    def size_multiple(self) -> int:
        """Inputs are padded internally to a multiple of this (``2 ** (flow_levels - 1)``)."""
        return 2 ** (self.flow_levels - 1)

    def _unpack(self, inputs: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        if not isinstance(inputs, Mapping) or "frame0" not in inputs or "frame1" not in inputs:
            keys = list(inputs) if isinstance(inputs, Mapping) else type(inputs).__name__
            raise ValueError(f"FBNet expects a dict with 'frame0' and 'frame1', got {keys}")
        frame0 = tf.cast(inputs["frame0"], tf.float32)
        frame1 = tf.cast(inputs["frame1"], tf.float32)
        batch = tf.shape(frame0)[:1]
        time = inputs.get("time")
        if time is None:
            time = tf.fill(batch, DEFAULT_TIME)
        # [B], [B, 1] or a single value for the whole batch.
        time = tf.broadcast_to(tf.reshape(tf.cast(time, tf.float32), [-1]), batch)
        return frame0, frame1, time

    def _pad(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Pad to a multiple of ``size_multiple`` and to at least twice that per side.

        The second condition keeps the coarsest level at least 2x2, the smallest image the
        bilinear warp accepts; it only adds (mirrored) rows or columns to tiny inputs.
        """
        multiple = self.size_multiple
        padded, original_hw = pad_to_multiple(images, multiple, self.pad_mode)
        shape = tf.shape(padded)
        # padded sides are >= multiple, so a symmetric pad of up to `multiple` is always valid.
        extra_h = tf.maximum(2 * multiple - shape[1], 0)
        extra_w = tf.maximum(2 * multiple - shape[2], 0)
        padded = tf.pad(padded, [[0, 0], [0, extra_h], [0, extra_w], [0, 0]], mode="SYMMETRIC")
        return padded, original_hw

    def _interpolate(
        self, inputs: Mapping[str, tf.Tensor], flow_pyramid: bool = False
    ) -> dict[str, tf.Tensor]:
        frame0, frame1, time = self._unpack(inputs)
        # Pair-batched: frame 0's batch, then frame 1's, through the same layers in one call.
        images, original_hw = self._pad(tf.concat([frame0, frame1], axis=0))
        features = self.features(images)
        flows = self.flow(features)  # flow_01 then flow_10, per level
        # The flow-only coarse levels stop here: the fusion sees the first `levels` levels.
        to_t, warped_features = self._warp_features(
            features[: self.levels], flows[: self.levels], time
        )
        correction = self.fusion((warped_features, time))
        warped = self._warp_images(images, to_t[0])
        outputs = self._outputs(warped, to_t[0], correction, time, original_hw)
        if flow_pyramid:  # per level, cropped to the part covering the input (ceil(size / 2**l))
            sizes = [(original_hw + 2**level - 1) // 2**level for level in range(len(flows))]
            outputs["flow_pyramid"] = [crop_to(f, size) for f, size in zip(flows, sizes)]
        return outputs

    # The stages of _interpolate, also timed one by one by fbnet.bench.stages.

    def _warp_features(
        self, features: Sequence[tf.Tensor], flows: Sequence[tf.Tensor], time: tf.Tensor
    ) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
        """Flows scaled to ``time`` and both feature pyramids warped by them."""
        t = tf.reshape(time, [-1, 1, 1, 1])
        # Linear motion: frame 0 reaches t with t * flow_01, frame 1 with (1 - t) * flow_10.
        scale = tf.concat([t, 1.0 - t], axis=0)
        to_t = [scale * flow for flow in flows]
        jit = self.warp_jit_compile
        warped_features = [dense_image_warp(f, w, jit_compile=jit) for f, w in zip(features, to_t)]
        return to_t, warped_features

    def _warp_images(self, images: tf.Tensor, flow: tf.Tensor) -> tf.Tensor:
        return dense_image_warp(images, flow, jit_compile=self.warp_jit_compile)

    def _outputs(
        self,
        warped: tf.Tensor,
        flow: tf.Tensor,
        correction: tf.Tensor,
        time: tf.Tensor,
        original_hw: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        t = tf.reshape(time, [-1, 1, 1, 1])
        warped0, warped1 = tf.split(warped, 2, axis=0)
        flow0, flow1 = tf.split(flow, 2, axis=0)
        frame = (1.0 - t) * warped0 + t * warped1 + correction
        outputs = {
            "frame": frame,
            "warped0": warped0,
            "warped1": warped1,
            "flow0": flow0,
            "flow1": flow1,
        }
        return {key: crop_to(value, original_hw) for key, value in outputs.items()}

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool | None = None) -> tf.Tensor:
        frame = self._interpolate(inputs)["frame"]
        return frame if training else tf.clip_by_value(frame, 0.0, 1.0)

    def call_with_aux(
        self,
        inputs: Mapping[str, tf.Tensor],
        training: bool | None = None,
        flow_pyramid: bool = False,
    ) -> dict[str, tf.Tensor]:
        """The frame plus what explains it (for TensorBoard), all cropped to the input size.

        Returns:
            ``{"frame", "warped0", "warped1", "flow0", "flow1"}``: ``frame`` as :meth:`call`
            returns it; ``warped0 = dense_image_warp(frame0, flow0)`` and
            ``warped1 = dense_image_warp(frame1, flow1)`` are the inputs warped to ``time``
            (``[B, H, W, 3]``; computed on the internally padded frames, so samples that fall
            past the bottom/right edge see the padding instead of the clamped edge pixel);
            ``flow0 = time * flow_01`` and ``flow1 = (1 - time) * flow_10`` are the
            finest-level flows that do it (``[B, H, W, 2]`` float32, pixels, channel 0
            vertical). Without the fusion's correction the frame would be
            ``(1 - time) * warped0 + time * warped1``.
            With ``flow_pyramid=True`` also ``"flow_pyramid"``: the list of pair-batched
            ``flow_01``/``flow_10`` per flow level (``flow_levels`` of them), finest first,
            each ``[2B, h_l, w_l, 2]`` (frame 0's batch first) with ``h_l = ceil(H / 2**l)``,
            in that level's pixels (used by the flow-distillation loss,
            :mod:`fbnet.losses.flow_distillation`).
        """
        outputs = self._interpolate(inputs, flow_pyramid)
        if not training:
            outputs["frame"] = tf.clip_by_value(outputs["frame"], 0.0, 1.0)
        return outputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "levels": self.levels,
                "feature_filters": self.feature_filters,
                "feature_kernel_size": self.feature_kernel_size,
                "flow_filters": self.flow_filters,
                "flow_kernel_sizes": self.flow_kernel_sizes,
                "flow_shared_from_level": self.flow_shared_from_level,
                "fusion_filters": self.fusion_filters,
                "fusion_kernel_size": self.fusion_kernel_size,
                "fusion_convs_per_level": self.fusion_convs_per_level,
                "activation": self.activation,
                "pad_mode": self.pad_mode,
                "warp_jit_compile": self.warp_jit_compile,
            }
        )
        if self.flow_finest_level:
            # Only when set: configs (and run checkpoints) of the default model stay as they
            # were before the option existed, so strict config checks still accept them.
            config["flow_finest_level"] = self.flow_finest_level
        if self.flow_coarse_levels:
            config["flow_coarse_levels"] = self.flow_coarse_levels
        return config
