"""Constructor parameters of registry models and strict loading of ``.keras`` model files.

A registry model (see :mod:`fbnet.models.registry`) is fully described by its class and its
constructor arguments, which Keras stores as the model's ``get_config()`` (plus the base keys
``name``, ``trainable`` and ``dtype`` every Keras config has). This module reads those back
(:func:`constructor_params`), compares a ``.keras`` file's stored config with a model's
(:func:`check_keras_file_matches`), loads a whole-model ``.keras`` file strictly
(:func:`load_keras_file`) and refuses context models where a two-frame model is needed
(:func:`require_two_frame`).

Everything above the models layer (training, pretrained, loading, export, interpolate) uses
these helpers; nothing here imports the rest of the package beyond :mod:`fbnet.models`.
"""

from __future__ import annotations

import importlib
import json
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from fbnet.models.registry import ModelSpec, get_spec, list_models

# Keys every Keras model config has that are not constructor arguments of our models.
BASE_KEYS = ("name", "trainable", "dtype")


def normalise(value: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python, recursively (YAML/JSON friendly)."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def params_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """The constructor arguments in a serialized Keras model config (base keys dropped)."""
    return normalise({k: v for k, v in config.items() if k not in BASE_KEYS})


def constructor_params(model: Any) -> dict[str, Any]:
    """The model's constructor arguments from its ``get_config()``."""
    return params_from_config(model.get_config())


def spec_for_model(model: Any) -> ModelSpec | None:
    """The registry spec whose factory built ``model``'s class, or ``None``."""
    factory = f"{type(model).__module__}:{type(model).__name__}"
    for name in list_models():
        spec = get_spec(name)
        if spec.factory == factory:
            return spec
    return None


def require_two_frame(spec: ModelSpec | None, where: str = "") -> None:
    """``ValueError`` when ``spec`` is a context model (it needs K-1 frames, not two).

    ``where`` (a run directory, a file) prefixes the message; ``None`` (a model class outside
    the registry) passes.
    """
    if spec is None or spec.input_mode == "pair":
        return
    pair_models = [n for n in list_models() if get_spec(n).input_mode == "pair"]
    prefix = f"{where}: " if where else ""
    raise ValueError(
        f"{prefix}model {spec.name!r} takes a {spec.window - 1}-frame context "
        f"(input_mode={spec.input_mode!r}) and cannot be used as a two-frame interpolator "
        f"(frame0/frame1 signature, fbnet interpolate); use one of {pair_models}"
    )


def check_two_frame_model(model: Any) -> None:
    """``ValueError`` when ``model`` is a registered context model (it needs 6 frames)."""
    require_two_frame(spec_for_model(model))


def import_model_modules() -> None:
    """Import every registered model module so ``.keras`` files can be deserialised."""
    for name in list_models():
        module_name = get_spec(name).factory.partition(":")[0]
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if not (error.name and module_name.startswith(error.name)):
                raise


def load_keras_file(path: str | Path) -> Any:
    """Load a whole-model ``.keras`` file, uncompiled (strict: an unloadable weight is an error)."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    import_model_modules()
    return keras.models.load_model(path, compile=False)


def keras_file_config(path: str | Path) -> dict[str, Any]:
    """The serialized model config (``config.json``) stored inside a ``.keras`` file."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a readable .keras model file: {error}") from None


def nested_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, tuple]:
    """Flat ``{"a.b": (old, new)}`` of the leaves that differ between two nested dicts."""
    changes: dict[str, tuple] = {}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            changes.update(nested_diff(a, b, f"{name}."))
        elif a != b:
            changes[name] = (a, b)
    return changes


def check_keras_file_matches(path: str | Path, model: Any, ignore: Collection[str] = ()) -> None:
    """``ValueError`` unless the ``.keras`` file was written by a model set up like ``model``.

    Constructor arguments named in ``ignore`` may differ (see ``WEIGHT_FREE_ARGS`` of a model
    class: arguments that change the computation but not the weights).
    """
    stored = keras_file_config(path)
    expected_class = type(model).__name__
    if stored.get("class_name") != expected_class:
        raise ValueError(
            f"checkpoint {path} holds a {stored.get('class_name')!r} model, the run's config "
            f"builds {expected_class!r}"
        )
    changes = nested_diff(params_from_config(stored.get("config", {})), constructor_params(model))
    changes = {k: v for k, v in changes.items() if k.split(".")[0] not in set(ignore)}
    if changes:
        details = "; ".join(
            f"{k}: checkpoint {a!r} vs config {b!r}" for k, (a, b) in changes.items()
        )
        raise ValueError(f"checkpoint {path} does not match the run's model config ({details})")
