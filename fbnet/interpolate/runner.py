"""One interface over every way to get an interpolator: exports, runs, .keras files, classics.

An interpolator has ``name``, ``supports_time`` (whether its output depends on ``time``; probed
once for models, since some ignore their time input) and
``interpolate(frame0, frame1, time) -> frames``: ``frame0`` and ``frame1`` are uint8 RGB
``[B, H, W, 3]`` arrays of the same shape, ``time`` float32 ``[B]`` (or ``[1]``, broadcast) in
[0, 1]; the result is float32 ``[B, H, W, 3]`` in [0, 1] (numpy).

:func:`load_interpolator` accepts

* ``"average"`` or ``"flow"``: the classical references (:mod:`fbnet.interpolate.classical`);
* a SavedModel written by ``export.py``: its base directory (the highest version is used) or one
  version directory;
* a training run directory (``config.yaml`` + ``checkpoints/``), with ``checkpoint`` ``"best"``,
  ``"last"`` or a path;
* a ``.keras`` file;
* ``None``: the default model shipped in ``fbnet/pretrained/``.

Context models (``input_mode == "context"`` in the registry, e.g. dncnn) need six frames and are
refused with a clear error.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fbnet.interpolate.classical import AverageInterpolator, FlowInterpolator
from fbnet.models.registry import get_spec, list_models

CLASSICAL_METHODS = ("average", "flow")
DEFAULT_PRETRAINED = "fbnet.keras"  # fbnet.pretrained.DEFAULT_MODEL


class Interpolator(Protocol):
    """What every interpolator provides (see the module docstring for shapes)."""

    name: str
    supports_time: bool

    def interpolate(
        self, frame0: np.ndarray, frame1: np.ndarray, time: np.ndarray
    ) -> np.ndarray: ...


def responds_to_time(interpolator: Any) -> bool:
    """Whether the output changes with ``time`` (probed on one random 16x16 pair)."""
    rng = np.random.default_rng(0)
    frame0 = rng.integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    frame1 = rng.integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    early = interpolator.interpolate(frame0, frame1, np.array([0.25], np.float32))
    late = interpolator.interpolate(frame0, frame1, np.array([0.75], np.float32))
    return not np.allclose(early, late, atol=1e-4)


class _ProbesTime:
    """``supports_time`` found by probing the model once, on first use."""

    _supports_time: bool | None = None

    @property
    def supports_time(self) -> bool:
        if self._supports_time is None:
            self._supports_time = responds_to_time(self)
        return self._supports_time


def _time_batch(time: Any, batch: int) -> np.ndarray:
    time = np.asarray(time, np.float32).reshape(-1)
    if time.shape[0] not in (1, batch):
        raise ValueError(f"time must have 1 or {batch} entries, got shape {time.shape}")
    return np.broadcast_to(time, (batch,)).copy()


class KerasInterpolator(_ProbesTime):
    """Wraps a two-frame ``keras.Model``; one traced graph serves every frame size."""

    def __init__(self, model: Any, name: str = "model") -> None:
        import tensorflow as tf

        check_two_frame_model(model)
        self.model = model
        self.name = name
        spec = tf.TensorSpec([None, None, None, 3], tf.uint8)
        self._run = tf.function(
            self._graph, input_signature=[spec, spec, tf.TensorSpec([None], tf.float32)]
        )

    def _graph(self, frame0: Any, frame1: Any, time: Any) -> Any:
        import tensorflow as tf

        inputs = {
            "frame0": tf.cast(frame0, tf.float32) / 255.0,
            "frame1": tf.cast(frame1, tf.float32) / 255.0,
            "time": time,
        }
        out = self.model(inputs, training=False)
        return tf.clip_by_value(tf.cast(out, tf.float32), 0.0, 1.0)

    def interpolate(self, frame0: np.ndarray, frame1: np.ndarray, time: np.ndarray) -> np.ndarray:
        time = _time_batch(time, frame0.shape[0])
        return self._run(frame0, frame1, time).numpy()


class SavedModelInterpolator(_ProbesTime):
    """Calls a SavedModel written by ``export.py`` through its signature that takes ``time``.

    That is ``interpolate_at_time`` (see :mod:`fbnet.export.serving`); exports made before it
    existed took ``time`` in ``serving_default``, and are called through that one.
    """

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        import tensorflow as tf

        self.path = Path(path)
        self.name = name or f"saved_model:{self.path}"
        self._loaded = tf.saved_model.load(str(self.path))
        signatures = self._loaded.signatures
        key = next((k for k in ("interpolate_at_time", "serving_default") if k in signatures), None)
        if key is None:
            raise ValueError(
                f"{self.path} has neither an 'interpolate_at_time' nor a 'serving_default' "
                f"signature (it has {sorted(signatures)})"
            )
        self._fn = signatures[key]
        inputs = set(self._fn.structured_input_signature[1])
        outputs = set(self._fn.structured_outputs)
        if not {"frame0", "frame1", "time"} <= inputs or "frame_float" not in outputs:
            raise ValueError(
                f"{self.path} is not a frame-interpolation export: {key} takes "
                f"{sorted(inputs)} and returns {sorted(outputs)}"
            )

    def interpolate(self, frame0: np.ndarray, frame1: np.ndarray, time: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        time = _time_batch(time, frame0.shape[0])
        out = self._fn(
            frame0=tf.constant(frame0, tf.uint8),
            frame1=tf.constant(frame1, tf.uint8),
            time=tf.constant(time, tf.float32),
        )
        return out["frame_float"].numpy()


def registry_spec_for(model: Any) -> Any:
    """The registry spec whose factory built ``model``'s class, or ``None``."""
    factory = f"{type(model).__module__}:{type(model).__name__}"
    for name in list_models():
        spec = get_spec(name)
        if spec.factory == factory:
            return spec
    return None


def check_two_frame_model(model: Any) -> None:
    """``ValueError`` when ``model`` is a registered context model (it needs 6 frames)."""
    spec = registry_spec_for(model)
    if spec is not None and spec.input_mode != "pair":
        pair_models = [n for n in list_models() if get_spec(n).input_mode == "pair"]
        raise ValueError(
            f"model {spec.name!r} takes a {spec.window - 1}-frame context "
            f"(input_mode={spec.input_mode!r}) and cannot be used as a two-frame "
            f"interpolator; use one of {pair_models}"
        )


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
    """Load a whole-model ``.keras`` file (strict: any unloadable weight is an error)."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    import_model_modules()
    return keras.models.load_model(path, compile=False)


def find_saved_model(path: str | Path) -> Path | None:
    """The SavedModel directory for an export base or version directory, else ``None``."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = [
        child
        for child in path.iterdir()
        if child.name.isdigit() and (child / "saved_model.pb").is_file()
    ]
    if not versions:
        return None
    return max(versions, key=lambda child: int(child.name))


def is_run_dir(path: str | Path) -> bool:
    path = Path(path)
    return (path / "config.yaml").is_file() and (path / "checkpoints").is_dir()


def pretrained_path() -> Path:
    """The default model shipped in ``fbnet/pretrained/``; ``FileNotFoundError`` if absent."""
    from fbnet.pretrained import pretrained_dir

    candidate = pretrained_dir() / DEFAULT_PRETRAINED
    if not candidate.is_file():
        raise FileNotFoundError(
            f"no pretrained model shipped with this install ({candidate} is missing); "
            "pass --model EXPORT_DIR, RUN_DIR or FILE.keras"
        )
    return candidate


def load_interpolator(model: str | Path | None, checkpoint: str = "best") -> Interpolator:
    """Resolve ``model`` (see the module docstring) to an interpolator."""
    if model is None:
        path = pretrained_path()
        return KerasInterpolator(load_keras_file(path), name=f"pretrained:{path.stem}")
    if str(model) in CLASSICAL_METHODS and not Path(model).exists():
        return AverageInterpolator() if str(model) == "average" else FlowInterpolator()
    path = Path(model)
    if not path.exists():
        raise FileNotFoundError(
            f"--model {model}: no such file or directory (expected an export directory, a run "
            f"directory, a .keras file, or one of {list(CLASSICAL_METHODS)})"
        )
    if path.is_file():
        if path.suffix != ".keras":
            raise ValueError(f"--model {path}: model files must be .keras, got {path.suffix!r}")
        return KerasInterpolator(load_keras_file(path), name=path.stem)
    saved_model = find_saved_model(path)
    if saved_model is not None:
        return SavedModelInterpolator(saved_model)
    if is_run_dir(path):
        from fbnet.export.restore import restore_run_model

        keras_model = restore_run_model(path, checkpoint)
        return KerasInterpolator(keras_model, name=f"{path.name}:{checkpoint}")
    raise ValueError(
        f"--model {path}: not an export (no saved_model.pb in it or in a numbered version "
        "directory) and not a run directory (config.yaml + checkpoints/)"
    )
