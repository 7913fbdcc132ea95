"""The serving function wrapped around a two-frame model: uint8 frames in, uint8 frame out.

Two signatures (method ``tensorflow/serving/predict``):

* ``serving_default``: ``frame0``, ``frame1`` -> the middle frame (time 0.5). Being two-input,
  it is called the same way by TF Serving and by plain TensorFlow
  (``tf.saved_model.load(d).signatures["serving_default"](frame0=a, frame1=b)``).
* ``interpolate_at_time``: ``frame0``, ``frame1``, ``time`` -> the frame at ``time``.

Inputs and outputs:

* ``frame0``: uint8 ``[B, H, W, 3]``, the first frame (RGB), any H, W >= 2.
* ``frame1``: uint8 ``[B, H, W, 3]``, the second frame, same shape as ``frame0``.
* ``time`` (``interpolate_at_time`` only): float32 ``[B]`` or ``[1]``; 0 = frame0, 1 = frame1;
  a one-element ``time`` is broadcast over the batch.
* output ``frame``: uint8 ``[B, H, W, 3]``, the interpolated frame, rounded.
* output ``frame_float``: float32 ``[B, H, W, 3]``, the same in [0, 1] before rounding.

Inputs are validated inside
the graph, so a malformed request fails with an ``InvalidArgumentError`` whose message names the
input and the expected shape. Frames are padded (edge mode) at the bottom/right to
``pad_multiple`` and the output is cropped back to H x W inside the graph; models also pad
internally, so ``pad_multiple`` defaults to 1.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from fbnet.layers.padding import crop_to, pad_to_multiple

DEFAULT_TIME = 0.5
INPUT_NAMES = ("frame0", "frame1", "time")
DEFAULT_SIGNATURE = "serving_default"
TIME_SIGNATURE = "interpolate_at_time"
OUTPUT_NAMES = ("frame", "frame_float")


def input_signature(with_time: bool = True) -> list[tf.TensorSpec]:
    """TensorSpecs of ``frame0``, ``frame1`` and (``with_time``) ``time``.

    They are declared with unknown rank on purpose: TF Serving feeds request tensors without
    checking them against the declared shapes, and a declared (but violated) rank lets kernels
    abort the server process. The graph checks the real shapes at run time instead (see
    :func:`_validate`) and restores the static ``[B, H, W, 3]`` shape after the checks.
    """
    specs = [
        tf.TensorSpec(None, tf.uint8, name="frame0"),
        tf.TensorSpec(None, tf.uint8, name="frame1"),
    ]
    if with_time:
        specs.append(tf.TensorSpec(None, tf.float32, name="time"))
    return specs


def _padded_shape(tensor: tf.Tensor) -> tf.Tensor:
    """``tf.shape(tensor)`` padded/truncated to 4 entries, so indexing it never fails."""
    return tf.concat([tf.shape(tensor), tf.zeros([4], tf.int32)], axis=0)[:4]


def _validate(frame0: tf.Tensor, frame1: tf.Tensor, time: tf.Tensor) -> list[tf.Operation]:
    """Run-time checks whose messages name the offending input.

    Every condition is computed without ops that can fail themselves (no out-of-range
    indexing), because the executor may evaluate them in any order.
    """
    checks = []
    for name, frame in (("frame0", frame0), ("frame1", frame1)):
        shape = _padded_shape(frame)
        valid = tf.logical_and(tf.equal(tf.rank(frame), 4), tf.equal(shape[3], 3))
        valid = tf.logical_and(valid, tf.reduce_all(shape[:3] >= [1, 2, 2]))
        message = f"{name} must be uint8 [B, H, W, 3] (RGB, B >= 1, H and W >= 2); got shape"
        checks.append(tf.debugging.Assert(valid, [message, tf.shape(frame)], summarize=8))
    same = tf.logical_and(
        tf.equal(tf.rank(frame0), tf.rank(frame1)),
        tf.reduce_all(tf.equal(_padded_shape(frame0), _padded_shape(frame1))),
    )
    message = "frame0 and frame1 must have the same shape; got"
    checks.append(
        tf.debugging.Assert(same, [message, tf.shape(frame0), tf.shape(frame1)], summarize=8)
    )
    batch = _padded_shape(frame0)[0]
    time_ok = tf.logical_and(
        tf.less_equal(tf.rank(time), 1),
        tf.logical_or(tf.equal(tf.size(time), 1), tf.equal(tf.size(time), batch)),
    )
    message = "time must be float32 [B] or [1]; got shape"
    checks.append(
        tf.debugging.Assert(time_ok, [message, tf.shape(time), "for batch", batch], summarize=8)
    )
    in_range = tf.reduce_all(tf.logical_and(time >= 0.0, time <= 1.0))
    message = "time must be in [0, 1]; got"
    checks.append(tf.debugging.Assert(in_range, [message, time], summarize=16))
    return checks


def make_serving_fn(model: Any, pad_multiple: int = 1) -> Any:
    """A Python function ``(frame0, frame1, time=[0.5]) -> {"frame", "frame_float"}``.

    Wrap it with ``tf.function(input_signature=input_signature())`` or pass it to
    ``keras.export.ExportArchive.add_endpoint`` (the default of ``time`` becomes the
    SignatureDef default).
    """
    if pad_multiple < 1:
        raise ValueError(f"pad_multiple must be a positive integer, got {pad_multiple}")

    def serve(
        frame0: tf.Tensor,
        frame1: tf.Tensor,
        time: tf.Tensor = tf.constant([DEFAULT_TIME], tf.float32),  # noqa: B008
    ) -> dict[str, tf.Tensor]:
        with tf.control_dependencies(_validate(frame0, frame1, time)):
            frame0 = tf.ensure_shape(frame0, [None, None, None, 3])
            frame1 = tf.ensure_shape(frame1, [None, None, None, 3])
            batch = tf.shape(frame0)[0]
            images = tf.cast(tf.concat([frame0, frame1], axis=0), tf.float32) / 255.0
            time = tf.broadcast_to(tf.reshape(time, [-1]), [batch])
        padded, original_hw = pad_to_multiple(images, pad_multiple, mode="EDGE")
        inputs = {"frame0": padded[:batch], "frame1": padded[batch:], "time": time}
        prediction = tf.cast(model(inputs, training=False), tf.float32)
        frame_float = tf.clip_by_value(crop_to(prediction, original_hw), 0.0, 1.0)
        frame = tf.cast(tf.round(frame_float * 255.0), tf.uint8)
        return {
            "frame": tf.identity(frame, name="frame"),
            "frame_float": tf.identity(frame_float, name="frame_float"),
        }

    return serve


def make_middle_frame_fn(model: Any, pad_multiple: int = 1) -> Any:
    """``(frame0, frame1) -> {"frame", "frame_float"}`` at time 0.5 (``serving_default``)."""
    serve = make_serving_fn(model, pad_multiple)

    def serve_middle(frame0: tf.Tensor, frame1: tf.Tensor) -> dict[str, tf.Tensor]:
        return serve(frame0, frame1, tf.constant([DEFAULT_TIME], tf.float32))

    return serve_middle
