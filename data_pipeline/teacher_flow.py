"""Teacher optical flow for training windows: OpenCV DIS at build time, stored as 16-bit PNG.

``fbnet data build --teacher-flow dis`` stores, per window of K frames (first = 0, mid = K // 2,
last = K - 1), four flows estimated by OpenCV's DIS on the full-resolution frames:

=============== ===================================================== ==================
record name     what ``dense_image_warp(source, flow)`` reconstructs   in FBNet's terms
=============== ===================================================== ==================
``first_last``  ``last`` from ``first`` (the "0->2" flow)              ``flow_01``
``last_first``  ``first`` from ``last`` (the "2->0" flow)              ``flow_10``
``first_mid``   ``mid`` from ``first`` (privileged "1->0", uses mid)   ``flow0`` at t = 1/2
``last_mid``    ``mid`` from ``last`` (privileged "1->2", uses mid)    ``flow1`` at t = 1/2
=============== ===================================================== ==================

Convention (FBNet's, :mod:`fbnet.ops.warp`): float32 ``[H, W, 2]`` (batched ``[B, H, W, 2]``),
channel 0 vertical (rows), channel 1 horizontal (columns), in pixels, on the grid of the frame
being reconstructed, with ``dense_image_warp(source, flow)[y, x] = source[y - flow_y, x - flow_x]``.
For content translating by ``(sy, sx)`` pixels per frame, ``first_last = (K - 1) * (sy, sx)``.

OpenCV's ``calc(prev, next)`` returns ``(dx, dy)`` with ``prev(y, x) ~ next(y + dy, x + dx)``;
so ``flow(source -> target) = -calc(target, source)[..., ::-1]`` (target's grid, swapped
channels, negated). :func:`estimate_flow` does exactly that.

Storage: two 4-channel 16-bit PNGs per window, ``teacher_flow/inputs`` (``first_last``,
``last_first``) and ``teacher_flow/middle`` (``first_mid``, ``last_mid``), channels
``(dy, dx, dy, dx)`` in file order, each value stored as ``round(flow * scale) + 32768``
(clipped), plus the float ``teacher_flow/scale`` (default 64: steps of 1/64 px, range +-512 px).
``make_dataset(..., teacher_flow=True)`` adds them to the inputs as ``INPUT_KEYS``
(``teacher_flow_01`` = ``first_last``, ``teacher_flow_10`` = ``last_first``, and for a middle
target ``teacher_flow0`` = ``first_mid``, ``teacher_flow1`` = ``last_mid``) and keeps them
consistent with crops, flips, transpositions and time reversal (:func:`reverse_flows`,
:func:`flip_transpose_flows`). OpenCV is only used here, at build time, never in a model graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

METHODS = ("dis",)
PRESETS = ("medium", "fine")
FLOW_NAMES = ("first_last", "last_first", "first_mid", "last_mid")
# Record features: each PNG holds two flows, (dy, dx) of the first then of the second.
PNG_KEYS = {"inputs": ("first_last", "last_first"), "middle": ("first_mid", "last_mid")}
SCALE_KEY = "teacher_flow/scale"
OFFSET = 32768
# Inputs that make_dataset(..., teacher_flow=True) adds, named after the FBNet flows they teach
# (in the order of the stored channels); the last two only when the target is the middle frame.
INPUT_KEYS = ("teacher_flow_01", "teacher_flow_10", "teacher_flow0", "teacher_flow1")


def png_key(group: str) -> str:
    return f"teacher_flow/{group}"


@dataclass(frozen=True)
class TeacherFlowConfig:
    """How teacher flows are estimated and stored; recorded in the manifest's ``settings``.

    Attributes:
        method: ``"dis"`` (OpenCV DIS optical flow).
        preset: ``"medium"`` (OpenCV's MEDIUM preset) or ``"fine"`` (MEDIUM refined down to
            full resolution: finest scale 0, slower).
        scale: stored units per pixel of flow (16-bit values, so flows are clipped to
            ``+-32768 / scale`` pixels).
    """

    method: str = "dis"
    preset: str = "medium"
    scale: float = 64.0
    encoding: str = "png16"
    convention: str = "fbnet: [H, W, (dy, dx)] px, warp(source, flow)[p] = source[p - flow(p)]"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"teacher flow method must be one of {METHODS}, got {self.method!r}")
        if self.preset not in PRESETS:
            raise ValueError(f"teacher flow preset must be one of {PRESETS}, got {self.preset!r}")
        if not 1.0 <= self.scale <= 4096.0:
            raise ValueError(f"teacher flow scale must be in [1, 4096], got {self.scale}")
        if self.encoding != "png16":
            raise ValueError(f"teacher flow encoding must be 'png16', got {self.encoding!r}")


class FlowEstimator:
    """OpenCV DIS flow in FBNet's convention, ``estimator(source, target) -> [H, W, 2]``.

    ``source`` and ``target`` are uint8 RGB ``[H, W, 3]`` (or greyscale ``[H, W]``) of one size;
    the result warps ``source`` onto ``target`` (see the module docstring).
    """

    def __init__(self, config: TeacherFlowConfig | None = None) -> None:
        import cv2

        self.config = config or TeacherFlowConfig()
        self._cv2 = cv2
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        if self.config.preset == "fine":
            self._dis.setFinestScale(0)

    def _grey(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise ValueError(f"teacher flow needs uint8 frames, got dtype {image.dtype}")
        if image.ndim == 3:
            return self._cv2.cvtColor(np.ascontiguousarray(image), self._cv2.COLOR_RGB2GRAY)
        if image.ndim != 2:
            raise ValueError(f"frames must be [H, W, 3] or [H, W], got shape {image.shape}")
        return np.ascontiguousarray(image)

    def __call__(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        src, dst = self._grey(source), self._grey(target)
        if src.shape != dst.shape:
            raise ValueError(f"frames differ in size: {src.shape} and {dst.shape}")
        # calc(prev=target, next=source): target(p) ~ source(p + d), d = (dx, dy).
        opencv = self._dis.calc(dst, src, None)
        return np.ascontiguousarray(-opencv[..., ::-1], dtype=np.float32)


def window_flows(frames: np.ndarray, estimator: FlowEstimator) -> dict[str, np.ndarray]:
    """The four teacher flows of one window ``[K, H, W, 3]`` uint8 (K odd, >= 3)."""
    k = len(frames)
    if k < 3 or k % 2 == 0:
        raise ValueError(f"teacher flows need an odd window of >= 3 frames, got {k}")
    first, mid, last = frames[0], frames[k // 2], frames[-1]
    return {
        "first_last": estimator(first, last),
        "last_first": estimator(last, first),
        "first_mid": estimator(first, mid),
        "last_mid": estimator(last, mid),
    }


def decode_png_rgb(data: bytes) -> np.ndarray:
    """PNG bytes of a stored frame -> uint8 RGB ``[H, W, 3]`` (for estimating at build time)."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"could not decode a PNG frame of {len(data)} bytes")
    return np.ascontiguousarray(image[..., ::-1])


def manifest_settings(manifest: Mapping) -> dict | None:
    """The teacher-flow settings a dataset was built with, ``None`` for datasets without."""
    settings = manifest.get("settings") or {}
    return settings.get("teacher_flow") or None


def _quantise(flows: tuple[np.ndarray, np.ndarray], scale: float) -> np.ndarray:
    stacked = np.concatenate([np.asarray(f, np.float64) for f in flows], axis=-1)
    if stacked.ndim != 3 or stacked.shape[-1] != 4:
        raise ValueError(f"flows must be two [H, W, 2] arrays, got shape {stacked.shape}")
    values = np.clip(np.round(stacked * scale) + OFFSET, 0, 65535)
    return values.astype(np.uint16)


def encode_flows(flows: Mapping[str, np.ndarray], scale: float, compression: int = 3) -> dict:
    """``{record key: PNG bytes}`` of the four named flows (16-bit RGBA, see the docstring)."""
    import cv2

    missing = [name for name in FLOW_NAMES if name not in flows]
    if missing:
        raise ValueError(f"teacher flows {missing} are missing, got {sorted(flows)}")
    encoded = {}
    for group, names in PNG_KEYS.items():
        values = _quantise((flows[names[0]], flows[names[1]]), scale)
        # OpenCV writes BGRA: reorder so the file's R, G, B, A hold our channels 0, 1, 2, 3.
        ok, buffer = cv2.imencode(
            ".png", values[..., [2, 1, 0, 3]], [cv2.IMWRITE_PNG_COMPRESSION, compression]
        )
        if not ok:
            raise ValueError(f"could not encode teacher flow PNG of shape {values.shape}")
        encoded[png_key(group)] = buffer.tobytes()
    return encoded


def teacher_features(flows: Mapping[str, np.ndarray], scale: float) -> dict:
    """``tf.train.Feature`` map of a window's flows (the two PNGs and the scale)."""
    features = {
        key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
        for key, data in encode_flows(flows, scale).items()
    }
    features[SCALE_KEY] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(scale)]))
    return features


def feature_spec() -> dict[str, tf.io.FixedLenFeature]:
    """Parsing spec of the teacher-flow features (present only in datasets built with them)."""
    spec = {png_key(group): tf.io.FixedLenFeature([], tf.string) for group in PNG_KEYS}
    spec[SCALE_KEY] = tf.io.FixedLenFeature([], tf.float32)
    return spec


def decode_stored(parsed: Mapping[str, tf.Tensor]) -> tf.Tensor:
    """Parsed features of one window -> the stored uint16 values ``[H, W, 8]``: ``(dy, dx)`` of
    ``first_last``, ``last_first``, ``first_mid``, ``last_mid``, in that order (see
    :func:`to_pixels`). Cropping and reordering before the conversion keeps caches small."""
    pngs = [tf.io.decode_png(parsed[png_key(g)], channels=4, dtype=tf.uint16) for g in PNG_KEYS]
    return tf.concat(pngs, axis=-1)


def to_pixels(stored: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
    """Stored uint16 flow values -> float32 flows in pixels."""
    return (tf.cast(stored, tf.float32) - float(OFFSET)) / tf.cast(scale, tf.float32)


def parse_flows(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """A serialised window -> ``{name: [H, W, 2] float32}`` of its four teacher flows."""
    parsed = tf.io.parse_single_example(serialized, feature_spec())
    flows = to_pixels(decode_stored(parsed), parsed[SCALE_KEY])
    return {name: flows[..., 2 * i : 2 * i + 2] for i, name in enumerate(FLOW_NAMES)}


def reverse_flows(flows: tf.Tensor) -> tf.Tensor:
    """Flows ``[..., 8]`` of a window played backwards: first and last frame swap roles, so
    ``first_last <-> last_first`` and ``first_mid <-> last_mid`` (values unchanged)."""
    return tf.gather(flows, [2, 3, 0, 1, 6, 7, 4, 5], axis=-1)


def flip_transpose_flows(flows: tf.Tensor, draws: tf.Tensor, *, transpose: bool) -> tf.Tensor:
    """The flips/transposition of :func:`data_pipeline.augment.flip_transpose_batch` for flows.

    ``flows`` is ``[B, H, W, 2n]`` (n flows of ``(dy, dx)``), ``draws`` the batch's ``[B, 7]``.
    A vertical flip reverses the rows and negates every ``dy``, a horizontal flip reverses the
    columns and negates every ``dx``; a transposition transposes the field and swaps ``dy`` and
    ``dx``. Flips come first, then the transposition, as for the frames.
    """
    from data_pipeline.augment import FLIP_H, FLIP_V, TRANSPOSE

    channels = flows.shape[-1]
    if channels is None or channels % 2:
        raise ValueError(f"flows need an even, known channel count, got shape {flows.shape}")
    chosen = (draws < 0.5)[:, :, None, None, None]
    negate_y = tf.constant([-1.0, 1.0] * (channels // 2), flows.dtype)
    negate_x = tf.constant([1.0, -1.0] * (channels // 2), flows.dtype)
    flows = tf.where(chosen[:, FLIP_V], tf.reverse(flows, [1]) * negate_y, flows)
    flows = tf.where(chosen[:, FLIP_H], tf.reverse(flows, [2]) * negate_x, flows)
    if transpose:
        swap = [i + 1 if i % 2 == 0 else i - 1 for i in range(channels)]
        transposed = tf.gather(tf.transpose(flows, [0, 2, 1, 3]), swap, axis=-1)
        flows = tf.where(chosen[:, TRANSPOSE], transposed, flows)
    return flows
