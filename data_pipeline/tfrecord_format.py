"""The TFRecord format: one ``tf.train.Example`` per window of K consecutive frames.

Keys (i = 0 .. K-1, frame i of the window; the middle frame ``K // 2`` is the usual target):

* ``frame_{i}/encoded``: PNG bytes of an 8-bit RGB frame (lossless);
* ``frame_{i}/height``, ``frame_{i}/width``: int64 frame size in pixels;
* ``window_size``: int64 K;
* ``source``: bytes, the clip id the window comes from;
* ``index``: int64, frame number of the window's first frame in its clip;
* optional (datasets built with ``--teacher-flow``): ``teacher_flow/inputs``,
  ``teacher_flow/middle`` (16-bit PNGs) and ``teacher_flow/scale`` (float), see
  :mod:`data_pipeline.teacher_flow`. Records without them parse as before.

Decoded windows are uint8 ``[K, H, W, 3]``; the pipeline converts to float32 in [0, 1] after
cropping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf


def encoded_key(i: int) -> str:
    return f"frame_{i}/encoded"


def serialize_window(
    encoded_frames: Sequence[bytes],
    sizes: Sequence[tuple[int, int]],
    source: str,
    index: int,
    extra_features: Mapping[str, tf.train.Feature] | None = None,
) -> bytes:
    """Serialise one window: PNG bytes and ``(height, width)`` per frame, clip id, first frame,
    plus ``extra_features`` (e.g. :func:`data_pipeline.teacher_flow.teacher_features`)."""
    if len(encoded_frames) != len(sizes) or not encoded_frames:
        raise ValueError(
            f"need one size per frame, got {len(encoded_frames)} frames and {len(sizes)} sizes"
        )

    def int64(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    def raw(value: bytes) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    feature = {
        "window_size": int64(len(encoded_frames)),
        "source": raw(source.encode("utf-8")),
        "index": int64(index),
    }
    for i, (data, (height, width)) in enumerate(zip(encoded_frames, sizes)):
        feature[encoded_key(i)] = raw(data)
        feature[f"frame_{i}/height"] = int64(height)
        feature[f"frame_{i}/width"] = int64(width)
    feature.update(extra_features or {})
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString()


def feature_spec(
    window: int, *, with_sizes: bool = False, frames: Sequence[int] | None = None
) -> dict[str, tf.io.FixedLenFeature]:
    """Parsing spec for K-frame windows: the encoded frames (all, or those in ``frames``), plus
    sizes and ids if asked."""
    indices = range(window) if frames is None else frames
    spec = {encoded_key(i): tf.io.FixedLenFeature([], tf.string) for i in indices}
    if with_sizes:
        for i in range(window):
            spec[f"frame_{i}/height"] = tf.io.FixedLenFeature([], tf.int64)
            spec[f"frame_{i}/width"] = tf.io.FixedLenFeature([], tf.int64)
        spec["window_size"] = tf.io.FixedLenFeature([], tf.int64)
        spec["source"] = tf.io.FixedLenFeature([], tf.string)
        spec["index"] = tf.io.FixedLenFeature([], tf.int64)
    return spec


def parse_encoded(
    serialized: tf.Tensor, window: int, frames: Sequence[int] | None = None
) -> list[tf.Tensor]:
    """PNG strings of a serialised window, one scalar string tensor per frame: all K frames, or
    only those listed in ``frames`` (in that order; the others are not copied out).

    ``serialized`` may also be a vector of windows (parsed in one op): each frame's tensor is then
    a vector of strings, one per window.
    """
    indices = list(range(window)) if frames is None else list(frames)
    if any(not 0 <= i < window for i in indices):
        raise ValueError(f"frame indices must lie in [0, {window}), got {indices}")
    spec = feature_spec(window, frames=sorted(set(indices)))
    serialized = tf.convert_to_tensor(serialized, tf.string)
    if serialized.shape.rank == 1:
        parsed = tf.io.parse_example(serialized, spec)
    else:
        parsed = tf.io.parse_single_example(serialized, spec)
    return [parsed[encoded_key(i)] for i in indices]


def decode_window(serialized: tf.Tensor, window: int) -> tf.Tensor:
    """Serialised example -> uint8 window [K, H, W, 3] (frames of a window share one size)."""
    encoded = parse_encoded(serialized, window)
    return tf.stack([tf.io.decode_png(encoded[i], channels=3) for i in range(window)])
