"""The run directory: where a training run keeps its config, checkpoints and TensorBoard logs.

Layout (a contract other tools rely on)::

    RUN_DIR/config.yaml          fully resolved TrainConfig; ``train.py --config`` reproduces it
    RUN_DIR/checkpoints/         ckpt-<step>.keras (last N), best.keras, index.json
    RUN_DIR/logs/train/          TensorBoard events of the training steps
    RUN_DIR/logs/validation/     TensorBoard events of the per-epoch validation

The default run directory is ``runs/<model>``: running the same command again resumes it.

:func:`load_run_model` gives the model to interpolate with: the registry model of the run
(for ``sin_gan`` the whole ``SinGan``, whose ``call`` is its generator; ``model.generator`` is
the generator alone), built in float32 from ``config.yaml`` and loaded strictly from a
checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fbnet.models.params import check_keras_file_matches, keras_file_config
from fbnet.training.config import TrainConfig
from fbnet.training.config_io import from_dict, load_config_file

CONFIG_NAME = "config.yaml"
DEFAULT_RUNS_ROOT = "runs"
# Written by the removed scripts/warm_start_run.py (runs that continued another run's step
# counter); read so that the model cards of such runs still list their stages.
LEGACY_WARM_START_NAME = "warm_start.json"


@dataclass(frozen=True)
class RunOrigin:
    """Where a run's starting weights came from.

    Attributes:
        source: what ``training.init_from`` named (a ``.keras`` file or a run directory), or the
            earlier run of a legacy warm start.
        run_dir: the run those weights belong to, when they came from one.
        step: that run's step the weights were taken at (``None`` when unknown).
        continues_steps: the run carried the earlier run's step counter on (legacy warm starts),
            so its steps count from ``step + 1``; ``init_from`` runs count from 1.
    """

    source: Path
    run_dir: Path | None
    step: int | None
    continues_steps: bool


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    root: Path

    @classmethod
    def at(cls, path: str | Path) -> RunDir:
        return cls(Path(path))

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def train_logs(self) -> Path:
        return self.logs / "train"

    @property
    def validation_logs(self) -> Path:
        return self.logs / "validation"

    def create(self) -> RunDir:
        for path in (self.root, self.checkpoints, self.train_logs, self.validation_logs):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def has_config(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> TrainConfig:
        """The run's resolved config; ``FileNotFoundError`` if there is none."""
        if not self.has_config():
            raise FileNotFoundError(
                f"{self.config_path} not found: {self.root} is not a training run directory"
            )
        return from_dict(TrainConfig, load_config_file(self.config_path)).validate()

    def checkpoint_manager(self) -> Any:
        """A read-only :class:`~fbnet.training.checkpoints.CheckpointManager` of the run."""
        from fbnet.training.checkpoints import CheckpointManager

        return CheckpointManager(self.checkpoints, writable=False)

    def origin(self) -> RunOrigin | None:
        """Where the run's starting weights came from; ``None`` for a run trained from scratch."""
        legacy = self.root / LEGACY_WARM_START_NAME
        if legacy.is_file():
            data = json.loads(legacy.read_text(encoding="utf-8"))
            source = Path(data["run_dir"])
            return RunOrigin(source, source, int(data.get("step", 0)), continues_steps=True)
        init_from = self.read_config().training.init_from
        if not init_from:
            return None
        source = Path(init_from)
        if source.is_dir():
            run = RunDir.at(source)
            try:
                path = resolve_checkpoint(source, "best")
            except FileNotFoundError:
                path = run.checkpoint_manager().latest_path
        else:
            run, path = RunDir.at(source.parent.parent), source
        if not run.has_config() or path is None:
            return RunOrigin(source, None, None, continues_steps=False)
        record = run.checkpoint_manager().record_for(path)
        step = record.step if record is not None else None
        return RunOrigin(source, run.root, step, continues_steps=False)


def default_run_dir(model_name: str, root: str | Path = DEFAULT_RUNS_ROOT) -> Path:
    """``runs/<model>``: deterministic, so re-running a command resumes its run."""
    return Path(root) / model_name


def resolve_checkpoint(run_dir: str | Path, checkpoint: str = "best") -> Path:
    """Path of ``"best"``, ``"last"`` or an explicit ``.keras`` path of a run."""
    from fbnet.training.checkpoints import BEST_NAME, CheckpointManager

    run = RunDir.at(run_dir)
    if checkpoint == "best":
        path = run.checkpoints / BEST_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: the run has not finished a validated epoch yet; use "
                "checkpoint 'last' for its latest checkpoint"
            )
        return path
    if checkpoint == "last":
        manager = CheckpointManager(run.checkpoints, writable=False)
        if manager.latest_path is None:
            raise FileNotFoundError(f"no checkpoint listed in {run.checkpoints}")
        return manager.latest_path
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {checkpoint!r} not found (use 'best', 'last' or a .keras file path)"
        )
    return path


def checkpoint_model_config(path: str | Path) -> dict[str, Any]:
    """The serialized model config (``config.json``) stored inside a ``.keras`` file."""
    return keras_file_config(path)


def check_checkpoint_matches(path: str | Path, model: Any) -> None:
    """``ValueError`` unless the checkpoint was written by a model configured like ``model``."""
    check_keras_file_matches(path, model)


def load_run_model(run_dir: str | Path, checkpoint: str = "best"):
    """The trained model of a run, in float32, ready to ``call`` (no optimizer, not compiled).

    Args:
        run_dir: a training run directory (holds ``config.yaml`` and ``checkpoints/``).
        checkpoint: ``"best"`` (highest validation PSNR), ``"last"`` (most recent), or the path
            of a ``.keras`` checkpoint.

    Returns:
        The registry model of the run (``SinGan`` for ``sin_gan``: its ``call`` runs the
        generator; ``.generator`` is the generator alone).

    Raises:
        FileNotFoundError: no such run or checkpoint.
        ValueError: the checkpoint's model config differs from the run's, or its weights do not
            fit the model (nothing is partially loaded).
    """
    import keras

    from fbnet.training.build import build_model

    run = RunDir.at(run_dir)
    config = run.read_config()
    path = resolve_checkpoint(run_dir, checkpoint)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        model = build_model(config)
    finally:
        keras.config.set_dtype_policy(previous)
    check_checkpoint_matches(path, model)
    try:
        model.load_weights(path)
    except ValueError as error:
        raise ValueError(f"checkpoint {path} does not fit the run's model: {error}") from None
    return model
