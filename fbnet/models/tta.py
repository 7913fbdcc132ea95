"""Test-time augmentation: average an interpolator over mirrored and time-reversed inputs.

A frame-interpolation model should give the mirror image of its output for mirrored inputs, and
the same frame for the reversed pair at ``1 - time``. Averaging those passes (as RIFE and AMT do)
cancels part of each pass's error. Modes (``TTA_MODES``):

* ``"none"``: one pass, the plain model;
* ``"flip"``: plus the horizontally mirrored inputs, output mirrored back (2 passes);
* ``"reverse"``: plus ``(frame1, frame0, 1 - time)`` (2 passes);
* ``"full"``: all four combinations (4 passes).

Cost grows with the passes, so TTA is off by default everywhere. Inputs follow
:mod:`fbnet.models.fbnet_model`: BHWC frames, ``time`` ``[B]`` in [0, 1]; the passes use only
slicing with a negative step, ``1 - time`` and a mean, so :func:`tta_average` runs unchanged on
numpy arrays (:class:`TTAInterpolator`: any interpolator, including SavedModels and the
classical references) and on TensorFlow tensors (:class:`fbnet.models.tta_model.TestTimeAugmented`,
a Keras model that can be exported, so the averaging is inside the SavedModel). This module
imports neither TensorFlow nor Keras, so command-line parsers can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TTA_MODES = ("none", "flip", "reverse", "full")
PASSES = {
    "none": ((False, False),),
    "flip": ((False, False), (True, False)),
    "reverse": ((False, False), (False, True)),
    "full": ((False, False), (True, False), (False, True), (True, True)),
}


def check_mode(mode: str) -> str:
    """``mode`` if it is one of ``TTA_MODES``, else a ``ValueError`` naming it."""
    if mode not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {mode!r}")
    return mode


def _mirror(frames: Any) -> Any:
    return frames[:, :, ::-1]


def tta_average(
    call: Callable[[Any, Any, Any], Any], frame0: Any, frame1: Any, time: Any, mode: str
) -> Any:
    """Mean of ``call(frame0, frame1, time)`` over the passes of ``mode`` (each mapped back).

    ``call`` returns frames in the layout of its inputs; the mean is in the dtype ``call``
    returns (float for models).
    """
    outputs = []
    for flip, reverse in PASSES[check_mode(mode)]:
        a, b, t = (frame1, frame0, 1.0 - time) if reverse else (frame0, frame1, time)
        if flip:
            a, b = _mirror(a), _mirror(b)
        out = call(a, b, t)
        outputs.append(_mirror(out) if flip else out)
    total = outputs[0]
    for out in outputs[1:]:
        total = total + out
    return total / float(len(outputs)) if len(outputs) > 1 else total


class TTAInterpolator:
    """Wraps any interpolator (``interpolate(frame0, frame1, time)`` on numpy arrays)."""

    def __init__(self, inner: Any, mode: str) -> None:
        self.inner = inner
        self.mode = check_mode(mode)
        self.name = inner.name if mode == "none" else f"{inner.name}+tta:{mode}"

    @property
    def supports_time(self) -> bool:
        return self.inner.supports_time

    def interpolate(self, frame0: Any, frame1: Any, time: Any) -> Any:
        import numpy as np

        time = np.broadcast_to(np.asarray(time, np.float32).reshape(-1), (frame0.shape[0],))

        def call(a: Any, b: Any, t: Any) -> Any:
            return self.inner.interpolate(np.ascontiguousarray(a), np.ascontiguousarray(b), t)

        return tta_average(call, frame0, frame1, time, self.mode)
