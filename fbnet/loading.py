"""Load a model from anything: a shipped name, a ``.keras`` file, a training run or an export.

This is the one place every entry point (``fbnet interpolate``, ``fbnet evaluate``,
``export.py``, ``fbnet bench``, ``scripts/*.py``) turns a model source into something to run.
:func:`load_model` accepts

* ``None``: the default model shipped in ``fbnet/pretrained/`` (``fbnet``), its model card
  checked against the file;
* ``NAME``: a shipped model (``fbnet.pretrained.available()``), unless a file, export or run
  of that name exists (a plain folder named ``fbnet``, such as the package itself seen from the
  checkout's root, does not count);
* ``FILE.keras``: a whole-model file, loaded strictly (any unloadable weight is an error);
* ``RUN_DIR``: a training run (``config.yaml`` + ``checkpoints/``) with ``checkpoint``
  ``"best"``, ``"last"`` or a ``.keras`` path; the model is rebuilt from the run's config and
  a checkpoint that does not match it is an error, never a partial load;
* ``EXPORT_DIR``: a SavedModel written by ``export.py``, its base directory (highest version)
  or one version directory; it comes back as a :class:`SavedModelInterpolator`, since an
  export holds graphs, not a Keras model.

:func:`load_interpolator` wraps the result as an :class:`Interpolator`: ``name``,
``supports_time`` (whether the output depends on ``time``; probed once, since some models ignore
their time input) and ``interpolate(frame0, frame1, time) -> frames`` with ``frame0``,
``frame1`` uint8 RGB ``[B, H, W, 3]`` of the same shape, ``time`` float32 ``[B]`` (or ``[1]``,
broadcast) in [0, 1], and float32 ``[B, H, W, 3]`` in [0, 1] (numpy) out. Two-frame use refuses
context models (``input_mode == "context"`` in the registry, e.g. dncnn), for a run before
anything is loaded. The classical references ``average`` and ``flow`` are not models; they are
added by :func:`fbnet.interpolate.runner.load_interpolator`.

Layering: this module sits above :mod:`fbnet.models`, :mod:`fbnet.training` and
:mod:`fbnet.pretrained` and below the tools (export, interpolate, evaluate, bench); see
``tests/test_import_contract.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fbnet import pretrained
from fbnet.models.params import check_two_frame_model, load_keras_file, require_two_frame
from fbnet.models.registry import get_spec

SOURCE_KINDS = ("shipped", "file", "run", "export")
EXPECTED = "an export directory, a run directory, a .keras file or a shipped model name"


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
    """Whether ``path`` looks like a training run (``config.yaml`` and ``checkpoints/``)."""
    from fbnet.training.run_dir import RunDir

    run = RunDir.at(path)
    return run.has_config() and run.checkpoints.is_dir()


@dataclass(frozen=True)
class ModelSource:
    """A resolved model source: what to load and how to call it.

    Attributes:
        kind: one of ``SOURCE_KINDS``.
        path: the ``.keras`` file (shipped, file, run checkpoint) or the SavedModel directory.
        label: the interpolator's name (in reports and benchmark output).
        run_dir: the run directory, for ``kind == "run"``.
        shipped_name: the shipped name, for ``kind == "shipped"``.
    """

    kind: str
    path: Path
    label: str
    run_dir: Path | None = None
    shipped_name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"kind must be one of {SOURCE_KINDS}, got {self.kind!r}")


def shipped_source(name: str | None = None) -> ModelSource:
    """A model shipped in ``fbnet/pretrained/`` (default: ``fbnet``)."""
    name = name or pretrained.DEFAULT_MODEL
    path = pretrained.model_path(name)
    return ModelSource("shipped", path, f"pretrained:{name}", shipped_name=name)


def file_source(path: str | Path) -> ModelSource:
    """A whole-model ``.keras`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    if path.suffix != ".keras":
        raise ValueError(f"{path}: model files must be .keras, got {path.suffix!r}")
    return ModelSource("file", path, path.stem)


def run_source(run_dir: str | Path, checkpoint: str = "best") -> ModelSource:
    """Checkpoint ``best`` / ``last`` / a ``.keras`` path of a training run."""
    from fbnet.training.run_dir import resolve_checkpoint

    run_dir = Path(run_dir)
    path = resolve_checkpoint(run_dir, checkpoint)
    return ModelSource("run", path, f"{run_dir.name}:{checkpoint}", run_dir=run_dir)


def export_source(path: str | Path) -> ModelSource:
    """An export base or version directory (the highest version of a base)."""
    saved_model = find_saved_model(path)
    if saved_model is None:
        raise ValueError(
            f"{path}: not an export (no saved_model.pb in it or in a numbered version directory)"
        )
    return ModelSource("export", saved_model, f"saved_model:{saved_model}")


def resolve_source(source: str | Path | None, checkpoint: str = "best") -> ModelSource:
    """What ``source`` names (see the module docstring); errors name the source."""
    if source is None:
        try:
            return shipped_source()
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"no pretrained model shipped with this install ({error}); "
                "pass --model EXPORT_DIR, RUN_DIR or FILE.keras"
            ) from None
    path = Path(source)
    if not path.exists():
        if str(source) in pretrained.available():
            return shipped_source(str(source))
        raise FileNotFoundError(
            f"--model {source}: no such file or directory (expected {EXPECTED}: "
            f"{pretrained.available()})"
        )
    if path.is_file():
        return file_source(path)
    if find_saved_model(path) is not None:
        return export_source(path)
    if is_run_dir(path):
        return run_source(path, checkpoint)
    if str(source) in pretrained.available():  # e.g. "fbnet" run from the checkout's root
        return shipped_source(str(source))
    raise ValueError(
        f"--model {path}: not an export (no saved_model.pb in it or in a numbered version "
        "directory) and not a run directory (config.yaml + checkpoints/)"
    )


def load_source(source: ModelSource, *, two_frame: bool = False) -> Any:
    """Load a resolved source: a ``keras.Model``, or a :class:`SavedModelInterpolator`.

    ``two_frame=True`` refuses context models (for a run, before its weights are loaded).
    """
    if source.kind == "export":
        return SavedModelInterpolator(source.path, name=source.label)
    if source.kind == "run":
        from fbnet.training.run_dir import RunDir, load_run_model

        if two_frame:
            name = RunDir.at(source.run_dir).read_config().model.name
            require_two_frame(get_spec(name), where=str(source.run_dir))
        model = load_run_model(source.run_dir, str(source.path))
    elif source.kind == "shipped":
        model = pretrained.load_pretrained(source.shipped_name)
    else:
        model = load_keras_file(source.path)
    if two_frame:
        check_two_frame_model(model)
    return model


def load_model(
    source: str | Path | None = None, checkpoint: str = "best", *, two_frame: bool = False
) -> Any:
    """The model ``source`` names (see the module docstring), uncompiled.

    Args:
        source: ``None``, a shipped name, a ``.keras`` file, a run directory or an export.
        checkpoint: for a run directory: ``"best"``, ``"last"`` or a ``.keras`` path.
        two_frame: refuse context models (e.g. dncnn) with a ``ValueError``.

    Returns:
        A ``keras.Model`` (float32, not compiled), or a :class:`SavedModelInterpolator` for an
        export.

    Raises:
        FileNotFoundError: no such file, run, checkpoint or shipped model.
        ValueError: not a model source, a checkpoint that does not match its run, a shipped
            file its model card does not describe, or a context model with ``two_frame``.
    """
    return load_source(resolve_source(source, checkpoint), two_frame=two_frame)


def as_interpolator(model: Any, name: str = "model") -> Interpolator:
    """``model`` as an :class:`Interpolator` (a Keras model is wrapped, an interpolator kept)."""
    if hasattr(model, "interpolate") and hasattr(model, "supports_time"):
        return model
    return KerasInterpolator(model, name=name)


def load_interpolator(source: str | Path | None = None, checkpoint: str = "best") -> Interpolator:
    """The two-frame interpolator of ``source`` (see :func:`load_model`)."""
    resolved = resolve_source(source, checkpoint)
    return as_interpolator(load_source(resolved, two_frame=True), name=resolved.label)
