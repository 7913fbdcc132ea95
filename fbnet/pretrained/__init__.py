"""Models trained by this project that ship inside the package (no download needed).

Each shipped model ``NAME`` is two files in this folder: ``NAME.keras`` (the whole model, saved
without optimizer state) and ``NAME.json`` (its model card: registry model, data, steps,
hardware, time, licence and attribution). ``fbnet`` is the default of ``fbnet interpolate`` and
``fbnet evaluate``. Models take and return the package-wide tensors (``fbnet/__init__.py``):
two-frame models ``{"frame0", "frame1", "time"}`` -> ``[B, H, W, 3]`` float32 in [0, 1];
``dncnn`` takes ``{"context": [B, 6, H, W, 3]}``.

Nothing here imports TensorFlow until a model is loaded. To load a model from any source (a
shipped name, a file, a run or an export) use :func:`fbnet.loading.load_model`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from fbnet.models.params import load_keras_file, spec_for_model

DEFAULT_MODEL = "fbnet"


def pretrained_dir() -> Path:
    """The folder holding the shipped ``.keras`` files and model cards."""
    return Path(str(resources.files("fbnet") / "pretrained"))


def available() -> list[str]:
    """Names of the shipped models (those with a ``.keras`` file), sorted."""
    folder = pretrained_dir()
    return sorted(path.stem for path in folder.glob("*.keras")) if folder.is_dir() else []


def model_path(name: str = DEFAULT_MODEL) -> Path:
    """``NAME.keras`` in the shipped folder; ``FileNotFoundError`` naming the available models.

    The one place that maps a shipped name to its file (``fbnet.loading``, ``export.py
    --pretrained`` and the default model of ``fbnet interpolate`` all come here).
    """
    path = pretrained_dir() / f"{name}.keras"
    if not path.is_file():
        raise FileNotFoundError(
            f"no such shipped model {name!r} ({path} is missing); shipped: {available()}"
        )
    return path


def model_card(name: str = DEFAULT_MODEL) -> dict[str, Any]:
    """The model card ``NAME.json`` as a dict (``FileNotFoundError`` if it is missing)."""
    path = pretrained_dir() / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"shipped model {name!r} has no model card ({path} is missing)")
    return json.loads(path.read_text(encoding="utf-8"))


def check_card(name: str, model: Any) -> None:
    """``ValueError`` when ``model``'s class is not the registry model its card names."""
    card_path = pretrained_dir() / f"{name}.json"
    if not card_path.is_file():
        return
    expected = model_card(name).get("registry_model")
    spec = spec_for_model(model)
    got = spec.name if spec is not None else type(model).__name__
    if expected is not None and got != expected:
        raise ValueError(
            f"{model_path(name)}: its model card says registry model {expected!r}, the file "
            f"holds {got!r}"
        )


def load_pretrained(name: str = DEFAULT_MODEL) -> Any:
    """Load shipped model ``name`` as an uncompiled ``keras.Model``.

    The model's class must be the one its card names in the registry (``registry_model``);
    a mismatch is a ``ValueError``, so a mislabelled file is never used silently.
    """
    model = load_keras_file(model_path(name))
    check_card(name, model)
    return model
