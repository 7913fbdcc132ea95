"""Per-level robust flow distillation from a classical teacher flow, and its annealing schedule.

Used only at training time (the teacher flows come from the dataset, see
:mod:`data_pipeline.teacher_flow`); nothing here ends up in an exported model.

Conventions (FBNet's, :mod:`fbnet.models.fbnet_model`): flows are float32 ``[N, h, w, 2]``,
channel 0 vertical (rows), channel 1 horizontal (columns), in pixels of their level, with
``dense_image_warp(image, flow)[y, x] = image[y - flow_y, x - flow_x]``. Images are BHWC float in
[0, 1].

* Student: FBNet's flow pyramid, finest first, *pair-batched*: each level ``[2B, h_l, w_l, 2]``
  holds ``flow_01`` (warps frame 0 onto frame 1) for the batch, then ``flow_10``; level ``l`` is
  ``ceil(H / 2**l) x ceil(W / 2**l)`` (``FBNet.call_with_aux(..., flow_pyramid=True)``).
* Teacher: the full-resolution ``teacher_01`` / ``teacher_10`` ``[B, H, W, 2]`` for the same two
  directions (``teacher_flow_01`` / ``teacher_flow_10`` of ``make_dataset``).

Per image and direction, the loss is ``sum_l level_weight_l * mean_pixels(w_l * rho(S_l - T_l))``
with ``rho(d) = sqrt(|d|**2 + epsilon**2) - epsilon`` (Charbonnier on the flow vector, 0 for equal
flows), ``T_l`` the teacher downsampled ``l`` times by 2x2 average pooling (``"SAME"`` padding)
with its values halved each time (one level-``l`` pixel spans ``2**l`` pixels), and ``w_l`` the
reliability weight pooled the same way; ``call`` returns the mean over the two directions,
``[B]``.

Reliability (computed at full resolution, 0 or 1 per pixel, the product of the checks enabled):

* forward-backward consistency of the teacher pair (Sundaram et al. 2010): with
  ``back = dense_image_warp(teacher_10, teacher_01)`` (the reverse flow where each pixel's
  content came from), a pixel is kept where ``|teacher_01 + back|**2 <= fb_alpha1 *
  (|teacher_01|**2 + |back|**2) + fb_alpha2``; likewise for ``teacher_10``;
* the teacher's warp reconstructs the target at least as well as the student's finest flow
  (no gradient through this test): ``E(teacher) <= E(student) + photometric_margin`` with ``E`` the
  channel-mean absolute error of ``dense_image_warp(source, flow)`` against the target, averaged
  over 3x3 pixels.

:class:`DistillationSchedule` anneals the weight over training steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

from fbnet.ops.warp import dense_image_warp

SCHEDULES = ("cosine", "linear")


def charbonnier_flow(difference: tf.Tensor, epsilon: float) -> tf.Tensor:
    """``sqrt(|d|**2 + epsilon**2) - epsilon`` per pixel of a ``[..., 2]`` flow difference."""
    squared = tf.reduce_sum(tf.square(difference), axis=-1)
    return tf.sqrt(squared + epsilon**2) - epsilon


def downsample_flow(flow: tf.Tensor) -> tf.Tensor:
    """One pyramid level down: 2x2 average pooling (``"SAME"``), values halved."""
    return 0.5 * tf.nn.avg_pool2d(flow, 2, 2, "SAME")


def _swap_pair(pair: tf.Tensor) -> tf.Tensor:
    first, second = tf.split(pair, 2, axis=0)
    return tf.concat([second, first], axis=0)


def _box3(values: tf.Tensor) -> tf.Tensor:
    return tf.nn.avg_pool2d(values, 3, 1, "SAME")


class FlowDistillationLoss:
    """Charbonnier flow distillation per pyramid level, masked where the teacher is unreliable.

    Args:
        epsilon: Charbonnier ``epsilon`` in pixels (> 0).
        level_weights: one weight per pyramid level, finest first; ``None`` weighs level ``l``
            by ``level_growth ** l`` (differences are in each level's own pixels).
        level_growth: the weight ratio of each level to the next finer one when
            ``level_weights`` is ``None``: 1 weighs every level alike, 2 counts every level's
            differences in full-resolution pixels (so coarse levels, which carry large motion,
            weigh as much as the finest); any pyramid depth.
        fb_check: drop forward-backward inconsistent teacher pixels.
        fb_alpha1, fb_alpha2: the relative and absolute (px**2) tolerances of that check.
        photometric_check: drop pixels where the teacher warp reconstructs the target worse
            than the student's finest-level warp.
        photometric_margin: how much worse (mean absolute error in [0, 1] units) the teacher
            may be there.
        warp_jit_compile: run the check warps XLA-compiled (see ``dense_image_warp``).
    """

    def __init__(
        self,
        epsilon: float = 0.01,
        level_weights: Sequence[float] | None = None,
        level_growth: float = 1.0,
        fb_check: bool = True,
        fb_alpha1: float = 0.01,
        fb_alpha2: float = 0.5,
        photometric_check: bool = True,
        photometric_margin: float = 0.0,
        warp_jit_compile: bool = True,
    ) -> None:
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        if level_weights is not None and any(not w >= 0 for w in level_weights):
            raise ValueError(f"level_weights must be >= 0, got {list(level_weights)}")
        if not level_growth > 0:
            raise ValueError(f"level_growth must be > 0, got {level_growth}")
        if not (fb_alpha1 >= 0 and fb_alpha2 >= 0):
            raise ValueError(f"fb_alpha1 and fb_alpha2 must be >= 0, got {fb_alpha1}, {fb_alpha2}")
        if not photometric_margin >= 0:
            raise ValueError(f"photometric_margin must be >= 0, got {photometric_margin}")
        self.epsilon = float(epsilon)
        self.level_weights = None if level_weights is None else [float(w) for w in level_weights]
        self.level_growth = float(level_growth)
        self.fb_check = bool(fb_check)
        self.fb_alpha1 = float(fb_alpha1)
        self.fb_alpha2 = float(fb_alpha2)
        self.photometric_check = bool(photometric_check)
        self.photometric_margin = float(photometric_margin)
        self.warp_jit_compile = bool(warp_jit_compile)

    def _warp(self, image: tf.Tensor, flow: tf.Tensor) -> tf.Tensor:
        return dense_image_warp(image, flow, jit_compile=self.warp_jit_compile)

    def fb_consistency(self, flow: tf.Tensor, reverse: tf.Tensor) -> tf.Tensor:
        """``[N, H, W, 1]``: 1 where ``flow`` and ``reverse`` (its opposite direction) agree."""
        back = self._warp(reverse, flow)
        mismatch = tf.reduce_sum(tf.square(flow + back), -1, keepdims=True)
        magnitude = tf.reduce_sum(tf.square(flow) + tf.square(back), -1, keepdims=True)
        return tf.cast(mismatch <= self.fb_alpha1 * magnitude + self.fb_alpha2, tf.float32)

    def photometric(
        self, source: tf.Tensor, target: tf.Tensor, teacher: tf.Tensor, student: tf.Tensor
    ) -> tf.Tensor:
        """1 where warping ``source`` by ``teacher`` matches ``target`` at least as well (within
        the margin) as warping it by ``student``, else 0, ``[N, H, W, 1]``."""

        def error(flow: tf.Tensor) -> tf.Tensor:
            residual = tf.abs(self._warp(source, flow) - target)
            return _box3(tf.reduce_mean(residual, -1, keepdims=True))

        better = error(teacher) <= error(tf.stop_gradient(student)) + self.photometric_margin
        return tf.cast(better, tf.float32)

    def reliability(
        self,
        frame0: tf.Tensor,
        frame1: tf.Tensor,
        teacher: tf.Tensor,
        student: tf.Tensor | None = None,
    ) -> tf.Tensor:
        """Pair-batched reliability weight ``[2B, H, W, 1]`` of ``teacher`` ``[2B, H, W, 2]``
        (``teacher_01`` then ``teacher_10``); ``student`` (pair-batched, full resolution) is
        needed for the photometric check."""
        weight = tf.ones_like(teacher[..., :1])
        if self.fb_check:
            weight *= self.fb_consistency(teacher, _swap_pair(teacher))
        if self.photometric_check:
            if student is None:
                raise ValueError("the photometric check needs the student's flow, got None")
            sources = tf.cast(tf.concat([frame0, frame1], 0), tf.float32)
            targets = tf.cast(tf.concat([frame1, frame0], 0), tf.float32)
            weight *= self.photometric(sources, targets, teacher, tf.cast(student, tf.float32))
        return tf.stop_gradient(weight)

    def pair_loss(
        self, student_pyramid: Sequence[tf.Tensor], teacher: tf.Tensor, weight: tf.Tensor
    ) -> tf.Tensor:
        """Pair-batched per-image loss ``[2B]``, given the full-resolution weight
        ``[2B, H, W, 1]``."""
        levels = len(student_pyramid)
        level_weights = self.level_weights or [self.level_growth**level for level in range(levels)]
        if len(level_weights) != levels:
            raise ValueError(
                f"level_weights needs one entry per pyramid level ({levels}), got {level_weights}"
            )
        teacher = tf.stop_gradient(tf.cast(teacher, tf.float32))
        total = 0.0
        for level, (student, factor) in enumerate(zip(student_pyramid, level_weights)):
            if level > 0:
                teacher = downsample_flow(teacher)
                weight = tf.nn.avg_pool2d(weight, 2, 2, "SAME")
            if factor == 0:
                continue
            rho = charbonnier_flow(tf.cast(student, tf.float32) - teacher, self.epsilon)
            total += factor * tf.reduce_mean(weight[..., 0] * rho, axis=[1, 2])
        return total

    def __call__(
        self,
        student_pyramid: Sequence[tf.Tensor],
        teacher_01: tf.Tensor,
        teacher_10: tf.Tensor,
        frame0: tf.Tensor,
        frame1: tf.Tensor,
    ) -> tf.Tensor:
        """Per-image loss ``[B]``: mean over the two directions (see the module docstring)."""
        teacher = tf.cast(tf.concat([teacher_01, teacher_10], axis=0), tf.float32)
        weight = self.reliability(frame0, frame1, teacher, student_pyramid[0])
        first, second = tf.split(self.pair_loss(student_pyramid, teacher, weight), 2, axis=0)
        return 0.5 * (first + second)

    def get_config(self) -> dict:
        return {
            "epsilon": self.epsilon,
            "level_weights": self.level_weights,
            "level_growth": self.level_growth,
            "fb_check": self.fb_check,
            "fb_alpha1": self.fb_alpha1,
            "fb_alpha2": self.fb_alpha2,
            "photometric_check": self.photometric_check,
            "photometric_margin": self.photometric_margin,
            "warp_jit_compile": self.warp_jit_compile,
        }


class DistillationSchedule:
    """The distillation weight at an optimizer step: held, then annealed, then constant.

    ``weight`` for ``step < hold_steps``; then over ``anneal_steps`` steps from ``weight`` down to
    ``final_fraction * weight`` (``"cosine"``: half a cosine; ``"linear"``); then
    ``final_fraction * weight``. ``anneal_steps = 0`` keeps ``weight`` for the whole run.

    Example:
        >>> DistillationSchedule(1.0, anneal_steps=100)(50)  # 0.5 (cosine at half way)
    """

    def __init__(
        self,
        weight: float,
        anneal_steps: int = 0,
        hold_steps: int = 0,
        final_fraction: float = 0.0,
        kind: str = "cosine",
    ) -> None:
        if not weight >= 0:
            raise ValueError(f"distillation weight must be >= 0, got {weight}")
        if anneal_steps < 0 or hold_steps < 0:
            raise ValueError(
                f"anneal_steps and hold_steps must be >= 0, got {anneal_steps}, {hold_steps}"
            )
        if not 0.0 <= final_fraction <= 1.0:
            raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
        self.weight = float(weight)
        self.anneal_steps = int(anneal_steps)
        self.hold_steps = int(hold_steps)
        self.final_fraction = float(final_fraction)
        self.kind = kind

    def __call__(self, step: tf.Tensor | int) -> tf.Tensor:
        """float32 scalar weight at ``step`` (a Python int or an integer/float tensor)."""
        step = tf.cast(step, tf.float32)
        if self.anneal_steps == 0:
            return tf.constant(self.weight, tf.float32)
        progress = tf.clip_by_value((step - self.hold_steps) / self.anneal_steps, 0.0, 1.0)
        if self.kind == "cosine":
            remaining = 0.5 * (1.0 + tf.cos(math.pi * progress))
        else:
            remaining = 1.0 - progress
        final = self.final_fraction
        return self.weight * (final + (1.0 - final) * remaining)
