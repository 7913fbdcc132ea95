"""Every way ``fbnet interpolate`` and ``fbnet evaluate`` get an interpolator, by one name.

:func:`load_interpolator` accepts the classical references ``"average"`` and ``"flow"``
(:mod:`fbnet.interpolate.classical`) and otherwise whatever :func:`fbnet.loading.load_model`
accepts (``None`` for the shipped default, a shipped name, a ``.keras`` file, a run directory
with ``checkpoint``, an export directory). Loading models, the interpolator protocol and its
Keras and SavedModel implementations live in :mod:`fbnet.loading`; the names are importable
from here too.
"""

from __future__ import annotations

from pathlib import Path

from fbnet import loading
from fbnet.interpolate.classical import AverageInterpolator, FlowInterpolator
from fbnet.loading import (
    Interpolator,
    KerasInterpolator,
    SavedModelInterpolator,
    find_saved_model,
    is_run_dir,
    responds_to_time,
)
from fbnet.models.params import check_two_frame_model, load_keras_file, spec_for_model
from fbnet.pretrained import model_path

# Former names of these helpers, kept importable from here.
registry_spec_for = spec_for_model

CLASSICAL_METHODS = ("average", "flow")

__all__ = [
    "CLASSICAL_METHODS",
    "Interpolator",
    "KerasInterpolator",
    "SavedModelInterpolator",
    "check_two_frame_model",
    "find_saved_model",
    "is_run_dir",
    "load_interpolator",
    "load_keras_file",
    "pretrained_path",
    "registry_spec_for",
    "responds_to_time",
    "spec_for_model",
]


def load_interpolator(model: str | Path | None, checkpoint: str = "best") -> Interpolator:
    """A classical method by name, else the model ``model`` names (see the module docstring)."""
    if model is not None and str(model) in CLASSICAL_METHODS and not Path(model).exists():
        return AverageInterpolator() if str(model) == "average" else FlowInterpolator()
    try:
        return loading.load_interpolator(model, checkpoint)
    except FileNotFoundError as error:
        if model is None or Path(model).exists():
            raise
        raise FileNotFoundError(f"{error}, or one of {list(CLASSICAL_METHODS)}") from None


def pretrained_path() -> Path:
    """The default shipped model's file (``fbnet.pretrained.model_path()``)."""
    return model_path()
