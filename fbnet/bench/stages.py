"""Where FBNet's inference time goes: each stage of one call timed on its own.

:class:`StagedFBNet` runs an :class:`~fbnet.models.fbnet_model.FBNet` as the chain of stages its
``call`` is made of, each one a separate ``tf.function`` (the model's own sub-layers and stage
methods, so the values are those of ``call``; :meth:`StagedFBNet.run` returns the same frame):

==================  ==============================================================
``uint8_to_float``  uint8 frames -> float32 in [0, 1] (what ``fbnet interpolate`` feeds)
``pad``             both frames pair-batched and padded to the size multiple
``features``        the shared cascaded feature pyramid of both frames
``flow_level_L``    flow estimation at level L, coarsest first (with ``flow_finest_level``
                    > 0 the finer levels are only the x2 upsampling of the flow)
``warp_features``   flows scaled to ``time``, both feature pyramids warped by them
``fusion``          the decoder: warped features -> 3-channel correction
``warp_images``     both full-resolution frames warped to ``time``
``blend_crop``      time-weighted blend + correction, crop back, clip to [0, 1]
``to_numpy``        the float frame copied out of TensorFlow (as the interpolators do)
``float_to_uint8``  rounding to uint8 (``fbnet.interpolate.schedule.to_uint8``)
==================  ==============================================================

:func:`profile_stages` times each stage (median of ``repeats`` calls after one warm-up) and
the whole call through :class:`~fbnet.loading.KerasInterpolator` the same way; the
stages' sum exceeds the whole call by the cost of running them as separate graphs.
"""

from __future__ import annotations

import statistics
import time as clock
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from fbnet.interpolate.schedule import to_uint8


def _function(fn: Callable) -> Callable:
    return tf.function(fn, reduce_retracing=True)


class StagedFBNet:
    """An FBNet split into separately compiled stages (see the module docstring)."""

    def __init__(self, model: Any) -> None:
        from fbnet.models.fbnet_model import FBNet

        if not isinstance(model, FBNet):
            raise ValueError(f"stage profiles need an FBNet, got {type(model).__name__}")
        self.model = model
        self.levels = model.flow_levels
        self.stages: dict[str, Callable] = {
            "uint8_to_float": _function(self._to_float),
            "pad": _function(self._pad),
            "features": _function(lambda images: model.features(images)),
            **{f"flow_level_{level}": self._flow_stage(level) for level in self.flow_levels},
            "warp_features": _function(
                lambda features, flows, time: model._warp_features(
                    features[: model.levels], flows[: model.levels], time
                )
            ),
            "fusion": _function(lambda warped, time: model.fusion((warped, time))),
            "warp_images": _function(model._warp_images),
            "blend_crop": _function(self._blend_crop),
            "to_numpy": lambda frame: frame.numpy(),
            "float_to_uint8": to_uint8,
        }

    @property
    def flow_levels(self) -> list[int]:
        """Flow levels in the order they run, coarsest first."""
        return list(reversed(range(self.levels)))

    @staticmethod
    def _to_float(frame0: tf.Tensor, frame1: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(frame0, tf.float32) / 255.0, tf.cast(frame1, tf.float32) / 255.0

    def _pad(self, frame0: tf.Tensor, frame1: tf.Tensor, time: tf.Tensor):
        frame0, frame1, time = self.model._unpack(
            {"frame0": frame0, "frame1": frame1, "time": time}
        )
        images, original_hw = self.model._pad(tf.concat([frame0, frame1], axis=0))
        return images, original_hw, time

    def _flow_stage(self, level: int) -> Callable:
        flow = self.model.flow
        if level == self.levels - 1:
            return _function(lambda source: flow.level_flow(level, source, None))
        return _function(lambda source, coarser: flow.level_flow(level, source, coarser))

    def _blend_crop(self, warped, flow, correction, time, original_hw) -> tf.Tensor:
        outputs = self.model._outputs(warped, flow, correction, time, original_hw)
        return tf.clip_by_value(outputs["frame"], 0.0, 1.0)

    def calls(self, frame0: np.ndarray, frame1: np.ndarray, time: np.ndarray):
        """Yields ``(stage name, thunk)`` in order; calling each thunk runs that stage on the
        outputs of the previous ones (run each once before the next is yielded)."""
        s = self.stages
        results: dict[str, Any] = {}

        def step(name: str, *args: Any) -> Callable[[], Any]:
            def thunk() -> Any:
                results[name] = s[name](*args)
                return results[name]

            return thunk

        yield "uint8_to_float", step("uint8_to_float", tf.constant(frame0), tf.constant(frame1))
        float0, float1 = results["uint8_to_float"]
        yield "pad", step("pad", float0, float1, tf.constant(time, tf.float32))
        images, original_hw, time_t = results["pad"]
        yield "features", step("features", images)
        features = results["features"]
        flows: list[Any] = list(features)
        coarser = None
        for level in self.flow_levels:
            name = f"flow_level_{level}"
            args = (features[level],) if coarser is None else (features[level], coarser)
            yield name, step(name, *args)
            flows[level] = coarser = results[name]
        yield "warp_features", step("warp_features", features, flows, time_t)
        to_t, warped_features = results["warp_features"]
        yield "fusion", step("fusion", warped_features, time_t)
        yield "warp_images", step("warp_images", images, to_t[0])
        blend_args = (results["warp_images"], to_t[0], results["fusion"], time_t, original_hw)
        yield "blend_crop", step("blend_crop", *blend_args)
        yield "to_numpy", step("to_numpy", results["blend_crop"])
        yield "float_to_uint8", step("float_to_uint8", results["to_numpy"])

    def run(self, frame0: np.ndarray, frame1: np.ndarray, time: np.ndarray) -> np.ndarray:
        """The interpolated float32 frames ``[B, H, W, 3]``, stage by stage."""
        out = None
        for name, thunk in self.calls(frame0, frame1, time):
            value = thunk()
            if name == "to_numpy":
                out = value
        return out


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    # Eager calls of tf.functions return computed tensors on CPU, so wall time is their cost.
    times = []
    for _ in range(repeats):
        start = clock.perf_counter()
        fn()
        times.append(clock.perf_counter() - start)
    return statistics.median(times)


def profile_stages(
    model: Any, width: int, height: int, repeats: int = 3, batch: int = 1
) -> dict[str, Any]:
    """Stage times (ms) of ``model`` on one ``width x height`` random pair with motion.

    Returns:
        ``{"size", "batch_size", "repeats", "stages_ms": {stage: ms}, "stages_total_ms",
        "whole_call_ms", "stage_share": {stage: fraction of stages_total_ms}}``.
    """
    from fbnet.loading import KerasInterpolator

    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rng = np.random.default_rng(0)
    frame0 = rng.integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    frame1 = np.roll(frame0, 4, axis=2)
    time = np.full((batch,), 0.5, np.float32)
    staged = StagedFBNet(model)
    stages_ms = {}
    for name, thunk in staged.calls(frame0, frame1, time):
        thunk()  # warm-up (traces), and the input of the next stage
        stages_ms[name] = round(1000.0 * _median_seconds(thunk, repeats), 2)
    whole = KerasInterpolator(model, name="fbnet")
    whole.interpolate(frame0, frame1, time)
    whole_ms = 1000.0 * _median_seconds(
        lambda: to_uint8(whole.interpolate(frame0, frame1, time)), repeats
    )
    total = sum(stages_ms.values())
    return {
        "size": f"{width}x{height}",
        "batch_size": batch,
        "repeats": repeats,
        "stages_ms": stages_ms,
        "stages_total_ms": round(total, 2),
        "whole_call_ms": round(whole_ms, 2),
        "stage_share": {k: round(v / total, 4) for k, v in stages_ms.items()},
    }
