"""Coarse-to-fine bidirectional flow between two feature pyramids (``BiDirectionalFlowEstimation``).

Tensors are BHWC; pyramids are lists, finest first (level 0 = full resolution, level ``l`` has
``1 / 2**l`` of the size in each axis). Both frames travel together, *pair-batched*: a tensor
``[2B, ...]`` holds frame 0's batch in its first half and frame 1's in its second half, so both
directions run through the same convolutions and warps in one call.

Flows are float32 ``[2B, h, w, 2]``, channel 0 vertical (rows, y), channel 1 horizontal (columns,
x), in pixels of their own level, with the meaning of :func:`fbnet.ops.warp.dense_image_warp`
(``out[y, x] = image[y - flow_y, x - flow_x]``):

* first half, ``flow_01``, maps frame 0 onto frame 1: ``dense_image_warp(features0, flow_01) ~
  features1``. At a pixel ``p`` of frame 1 it is the displacement of that content since frame 0
  (the motion 0 -> 1 sampled on frame 1's grid);
* second half, ``flow_10``, maps frame 1 onto frame 0 (motion 1 -> 0 on frame 0's grid).

Both start at zero at the coarsest level. At every level each one is refined by that level's
:class:`~fbnet.layers.flow_estimator.FlowEstimator` (a residual update); between levels it is
upsampled x2 bilinearly and its values are multiplied by 2, because one pixel of level ``l + 1``
spans two pixels of level ``l``.

With ``finest_level = k > 0`` no flow is estimated below level ``k``: the flows of levels
``k - 1 ... 0`` are the level-``k`` flow upsampled the same way (x2 bilinear, values x2, once per
level), as RIFE- and FILM-style models do at full resolution. Estimator ``i`` is named
``estimator_{i}`` for its level whatever ``k`` is, so the estimators of a ``k > 0`` layer have the
names and shapes of the same levels of a ``k = 0`` layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from fbnet.layers.flow_estimator import FlowEstimator


def upsample_flow(flow: tf.Tensor) -> tf.Tensor:
    """x2 bilinear upsampling of a flow field, with its values scaled by 2 to match."""
    size = 2 * tf.shape(flow)[1:3]
    return 2.0 * tf.image.resize(flow, size, method="bilinear")


def swap_pair(pair: tf.Tensor) -> tf.Tensor:
    """``[2B, ...]`` with its two halves swapped (frame 1's batch first)."""
    first, second = tf.split(pair, 2, axis=0)
    return tf.concat([second, first], axis=0)


@keras.saving.register_keras_serializable(package="fbnet")
class BiDirectionalFlowEstimation(keras.layers.Layer):
    """Estimates the ``flow_01`` / ``flow_10`` pyramid from a pair-batched feature pyramid.

    One :class:`FlowEstimator` per level, used for both directions (the problem is symmetric, so
    the weights are too). Levels ``>= shared_from_level`` reuse a single estimator, which suits
    pyramid levels whose features are built the same way at every scale.

    Args:
        levels: pyramid levels (>= 1).
        filters: hidden channels of each estimator.
        kernel_sizes: their kernel sizes.
        activation: activation of the hidden convolutions.
        shared_from_level: first level of the shared estimator, in
            ``[finest_level, levels - 1]``; ``None`` gives every level its own estimator.
        warp_jit_compile: run the warps XLA-compiled (see :func:`fbnet.ops.warp.dense_image_warp`).
        finest_level: finest level with a flow estimator, in ``[0, levels - 1]``; finer levels
            get the upsampled flow (see the module docstring).

    Call:
        list of ``levels`` pair-batched feature maps ``[2B, h, w, C]``, finest first -> list of
        ``levels`` pair-batched float32 flows ``[2B, h, w, 2]`` (``flow_01`` then ``flow_10``).
    """

    def __init__(
        self,
        levels: int = 4,
        filters: Sequence[int] = (32, 64, 64, 16),
        kernel_sizes: Sequence[int] = (3, 3, 1, 1),
        activation: str = "relu",
        shared_from_level: int | None = None,
        warp_jit_compile: bool = True,
        finest_level: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if int(levels) < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        if not 0 <= int(finest_level) < int(levels):
            raise ValueError(f"finest_level must be in [0, {int(levels) - 1}], got {finest_level}")
        if shared_from_level is not None and not (
            int(finest_level) <= int(shared_from_level) < int(levels)
        ):
            raise ValueError(
                f"shared_from_level must be None or in [{int(finest_level)}, {int(levels) - 1}], "
                f"got {shared_from_level}"
            )
        self.levels = int(levels)
        self.filters = [int(f) for f in filters]
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.activation = activation
        self.shared_from_level = None if shared_from_level is None else int(shared_from_level)
        self.warp_jit_compile = bool(warp_jit_compile)
        self.finest_level = int(finest_level)
        count = self.levels if shared_from_level is None else self.shared_from_level + 1
        # estimators[i] serves level finest_level + i (and the shared one every coarser level).
        self.estimators = [
            FlowEstimator(
                self.filters,
                self.kernel_sizes,
                activation,
                warp_jit_compile=self.warp_jit_compile,
                name=f"estimator_{i}",
            )
            for i in range(self.finest_level, count)
        ]

    def estimator_for(self, level: int) -> FlowEstimator:
        """The estimator used at ``level`` (``ValueError`` below ``finest_level``)."""
        if not self.finest_level <= level < self.levels:
            raise ValueError(
                f"levels {self.finest_level}..{self.levels - 1} have an estimator, got {level}"
            )
        return self.estimators[min(level - self.finest_level, len(self.estimators) - 1)]

    def level_flow(self, level: int, source: tf.Tensor, coarser: tf.Tensor | None) -> tf.Tensor:
        """The flow of ``level`` from its features and the flow of ``level + 1`` (one step of
        :meth:`call`; ``coarser`` is ``None`` at the coarsest level)."""
        if level < self.finest_level:
            return upsample_flow(coarser)
        # Frame 1's features are the target of flow_01, frame 0's the target of flow_10.
        target = swap_pair(source)
        estimator = self.estimator_for(level)
        if coarser is None:
            return estimator((target, source))
        return estimator((target, source, upsample_flow(coarser)))

    def call(self, features: Sequence[tf.Tensor]) -> list[tf.Tensor]:
        if len(features) != self.levels:
            raise ValueError(f"expected a pyramid of {self.levels} levels, got {len(features)}")
        flows: list[tf.Tensor] = list(features)
        flow = None
        for level in reversed(range(self.levels)):
            flow = self.level_flow(level, features[level], flow)
            flows[level] = flow
        return flows

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "levels": self.levels,
                "filters": self.filters,
                "kernel_sizes": self.kernel_sizes,
                "activation": self.activation,
                "shared_from_level": self.shared_from_level,
                "warp_jit_compile": self.warp_jit_compile,
                "finest_level": self.finest_level,
            }
        )
        return config
