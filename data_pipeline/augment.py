"""Augmentations of training windows, drawn once per example and applied to all of its frames.

Randomness is stateless: all of an example's random numbers come from one draw
``window_draws(seed)`` (float32 ``[7]``, uniform in [0, 1)) for a per-example ``seed`` (int
``[2]``), or are its row of ``batch_draws(seed, batch_size)`` (``[batch_size, 7]``) for a
per-batch ``seed``, so a seeded pipeline repeats itself exactly. The work is split in two stages:

* per example, before batching, the choices that only pick data: the crop position
  (``crop_offsets``) and the temporal order (``reverse_order``: the frames are taken, and so
  decoded, last to first), which copy no pixels beyond the crop itself;
* per batch, ``flip_transpose_batch`` on the batched uint8 frames ``[B, H, W, C]`` of every window
  position: vertical and horizontal flips and a transposition, chosen per example by the draws
  batched alongside. It is written as per-example selects so that, compiled with XLA, the whole
  batch is flipped, transposed and converted to float in one pass over the pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

# Positions in the vector of draws.
TIME, TOP, LEFT, FLIP_V, FLIP_H, TRANSPOSE, REVERSE = range(7)
NUM_DRAWS = 7


def window_draws(seed: tf.Tensor) -> tf.Tensor:
    """All random numbers of one example: float32 ``[7]`` uniform in [0, 1)."""
    return tf.random.stateless_uniform([NUM_DRAWS], seed)


def batch_draws(seed: tf.Tensor, batch_size: int) -> tf.Tensor:
    """All random numbers of ``batch_size`` examples at once: float32 ``[batch_size, 7]``."""
    return tf.random.stateless_uniform([batch_size, NUM_DRAWS], seed)


def crop_offsets(
    frame_hw: tuple[int, int],
    crop_hw: tuple[int, int],
    draws: tf.Tensor | Sequence[tf.Tensor] | None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Top-left corner of a ``crop_hw`` crop: uniform from the draws, else centred.

    ``draws`` is an example's vector of draws (or the list of its elements).
    """

    def offset(spare: int, draw: tf.Tensor) -> tf.Tensor:
        if draws is None or spare == 0:
            return tf.constant(spare // 2)
        return tf.minimum(tf.cast(draw * (spare + 1), tf.int32), spare)

    top = offset(frame_hw[0] - crop_hw[0], None if draws is None else draws[TOP])
    left = offset(frame_hw[1] - crop_hw[1], None if draws is None else draws[LEFT])
    return top, left


def reverse_order(draws: tf.Tensor | Sequence[tf.Tensor]) -> tf.Tensor:
    """Whether an example plays backwards (probability 1/2): frames reversed, time -> 1 - time."""
    return draws[REVERSE] < 0.5


def maybe_reversed(items: Sequence[tf.Tensor], reverse: tf.Tensor) -> list[tf.Tensor]:
    """``items`` reversed where ``reverse`` holds; the tensors are passed on, not copied."""
    items = tuple(items)
    return list(tf.cond(reverse, lambda: items[::-1], lambda: items))


def flip_transpose_batch(
    frames: Sequence[tf.Tensor], draws: tf.Tensor, *, transpose: bool
) -> list[tf.Tensor]:
    """Per-example vertical and horizontal flips and (when ``transpose``) a transposition.

    ``frames``: one ``[B, H, W, C]`` tensor per window position; example ``b`` is flipped
    vertically where ``draws[b, FLIP_V] < 0.5``, horizontally where ``draws[b, FLIP_H] < 0.5``,
    then transposed (rows <-> columns) where ``draws[b, TRANSPOSE] < 0.5``; every frame of an
    example gets the same transform. Together these draw uniformly from the 8 symmetries of the
    square (rotations by 90 degrees included); ``transpose`` must only be set for square frames.
    Each select computes both of its sides, so run this under XLA (which fuses them into one
    pass); plain graph execution is correct but several times slower.
    """
    if transpose and frames[0].shape[1] != frames[0].shape[2]:
        raise ValueError(f"transposition needs square frames, got shape {frames[0].shape}")
    chosen = (draws < 0.5)[:, :, None, None, None]
    flip_v, flip_h = chosen[:, FLIP_V], chosen[:, FLIP_H]
    out = []
    for frame in frames:
        # The four flip combinations side by side rather than one flip applied to the other's
        # result: XLA's fused pass then indexes each pixel more simply (about 20 % faster).
        frame = tf.where(
            flip_v,
            tf.where(flip_h, tf.reverse(frame, [1, 2]), tf.reverse(frame, [1])),
            tf.where(flip_h, tf.reverse(frame, [2]), frame),
        )
        if transpose:
            frame = tf.where(chosen[:, TRANSPOSE], tf.transpose(frame, [0, 2, 1, 3]), frame)
        out.append(frame)
    return out
