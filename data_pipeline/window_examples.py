"""One example from one stored window, and a batch of them in the model's inputs.

The single augmentation path of :func:`data_pipeline.make_dataset`, shared by the streaming
training pipeline (windows as PNG strings, decoded here) and the cached or evaluation pipeline
(windows already decoded):

1. :func:`window_example`, per window: pick the target frame (and its time), take the used
   frames in temporal order, reversed when the draws say so (training only; ``time -> 1 - time``,
   teacher flows swapped), decode the strings among them, and crop every frame at one position
   (random in training, centred in evaluation). Teacher flows are cropped with the frames.
2. :func:`to_model_inputs`, per batch: flips and transposition drawn per example (training only)
   and the conversion of uint8 to float32 in [0, 1], then the split into the model's inputs.

Frames are BHWC (``[H, W, 3]`` per window, ``[B, H, W, 3]`` per batch), uint8 until the last
step; teacher flows are float32 ``[..., 2]`` per flow, (dy, dx) in pixels, as in
:mod:`data_pipeline.teacher_flow`. The random numbers are a window's vector of draws
(:mod:`data_pipeline.augment`), so a seeded pipeline repeats itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from data_pipeline import teacher_flow as teacher
from data_pipeline.augment import crop_offsets, flip_transpose_batch, maybe_reversed, reverse_order
from data_pipeline.dataset_plan import DatasetPlan


def decode_frame(plan: DatasetPlan, encoded: tf.Tensor) -> tf.Tensor:
    """A stored PNG string -> uint8 ``[H, W, 3]`` at the dataset's frame size."""
    return tf.ensure_shape(tf.io.decode_png(encoded, channels=3), [*plan.frame_hw, 3])


def window_flows(
    plan: DatasetPlan,
    stored_flows: tf.Tensor,
    scale: tf.Tensor,
    reverse: tf.Tensor,
    top: tf.Tensor,
    left: tf.Tensor,
) -> tf.Tensor:
    """Stored uint16 flows ``[H, W, 8]`` -> float32 ``[h, w, 2 * len(plan.flow_keys)]``, cropped
    at ``(top, left)`` and swapped for a reversed window."""
    stored_flows = tf.ensure_shape(stored_flows, [*plan.frame_hw, 8])
    flows = tf.slice(stored_flows, tf.stack([top, left, 0]), [*plan.out_hw, 8])
    flows = tf.where(reverse, teacher.reverse_flows(flows), flows)
    return teacher.to_pixels(flows[..., : 2 * len(plan.flow_keys)], scale)


def window_example(
    plan: DatasetPlan,
    items: Sequence[tf.Tensor],
    draws: tf.Tensor,
    stored_flows: tuple[tf.Tensor, tf.Tensor] | None = None,
) -> tuple:
    """One window -> ``(frames, time, draws)``, plus its flows when ``stored_flows`` is given.

    ``items``: one tensor per frame in ``plan.stored``, each a PNG string (decoded only if the
    example uses it) or a decoded uint8 ``[H, W, 3]`` frame. ``draws``: the window's float32
    ``[7]`` draws. ``stored_flows``: the window's stored flows and their scale. ``frames`` is a
    tuple of uint8 ``[h, w, 3]`` in the order the model sees them (first, target, last in pair
    mode; the whole window in context mode).
    """
    scalars = tf.unstack(draws)  # one op for all the draws
    target, time = plan.pick(scalars)
    used = plan.select(items, target)
    reverse = reverse_order(scalars) if plan.training else tf.constant(False)
    if plan.training:
        used = maybe_reversed(used, reverse)
        time = tf.where(reverse, 1.0 - time, time)
    frames = [decode_frame(plan, item) if item.dtype == tf.string else item for item in used]
    top, left = tf.constant(0), tf.constant(0)
    if plan.crop_hw is not None:
        top, left = crop_offsets(plan.frame_hw, plan.out_hw, scalars if plan.training else None)
        begin = tf.stack([top, left, 0])
        frames = [tf.slice(frame, begin, [*plan.out_hw, 3]) for frame in frames]
    if stored_flows is None:
        return tuple(frames), time, draws
    flows = window_flows(plan, *stored_flows, reverse, top, left)
    return tuple(frames), time, draws, flows


def to_model_inputs(
    plan: DatasetPlan,
    frames: Sequence[tf.Tensor],
    time: tf.Tensor,
    draws: tf.Tensor,
    flows: tf.Tensor | None = None,
) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """A batch of uint8 windows -> ``(inputs, target)``, augmented (training) float32 in [0, 1].

    ``frames``: one ``[B, h, w, 3]`` tensor per position of :func:`window_example`'s frames;
    ``time`` ``[B]``; ``draws`` ``[B, 7]``; ``flows`` ``[B, h, w, 2 * len(plan.flow_keys)]``.
    """
    if plan.training:
        frames = flip_transpose_batch(frames, draws, transpose=plan.rotate)
        if flows is not None:
            flows = teacher.flip_transpose_flows(flows, draws, transpose=plan.rotate)
        floats = [tf.cast(f, tf.float32) * (1.0 / 255.0) for f in frames]
    else:
        # x / 255 in one pass over the data (cast-then-scale takes two outside XLA)
        floats = [
            tf.quantization.dequantize(tf.bitcast(f, tf.quint8), 0.0, 1.0, mode="MIN_COMBINED")
            for f in frames
        ]
    if plan.input_mode == "context":
        mid = plan.mid
        return {"context": tf.stack(floats[:mid] + floats[mid + 1 :], axis=1)}, floats[mid]
    inputs = {"frame0": floats[0], "frame1": floats[2], "time": time}
    if flows is not None:
        inputs.update({key: flows[..., 2 * i : 2 * i + 2] for i, key in enumerate(plan.flow_keys)})
    return inputs, floats[1]
