"""Typed, nested training configuration: one dataclass per section, each with its checks.

A run is described by one :class:`TrainConfig` (model, data, optimizers, loss, training). It is
resolved in layers, later ones winning: the model's defaults (``fbnet.training.defaults``), an
optional config file, the named command-line flags, then ``--set section.field=value``
overrides (files, dicts and overrides: :mod:`fbnet.training.config_io`). The fully resolved
config is written to ``RUN_DIR/config.yaml``; loading that file gives the same run back. This
module does not import TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAN_POLICIES = ("stop", "skip")
DISTRIBUTE_KINDS = ("none", "mirrored", "multiworker")
OPTIMIZERS = ("adam", "nadam", "adamw", "sgd", "rmsprop")
TIME_MODES = ("middle", "random")
DISTILL_SCHEDULES = ("cosine", "linear")
DISTILL_MISSING = ("error", "off")


@dataclass
class DataConfig:
    """Where the training windows come from and how they are cut.

    Attributes:
        dir: shard directory written by ``fbnet data build``; ``None`` uses the embedded
            synthetic dataset under ``synthetic_root`` (built once, then reused).
        synthetic_root: parent folder of the synthetic datasets (``<root>/synthetic-w<window>``).
        synthetic_windows: windows in a freshly built synthetic dataset.
        synthetic_height: frame height of the synthetic dataset.
        synthetic_width: frame width of the synthetic dataset.
        synthetic_seed: seed of the synthetic dataset.
        window: frames per window to train on; ``None`` takes the model's (3, or 7 for dncnn).
        crop: square training crop in pixels, ``None`` for whole frames.
        val_crop: square centre crop for validation, ``None`` for whole frames.
        batch_size: global batch size (split across replicas under a distribution strategy).
        val_batch_size: global validation batch size; ``None`` uses ``batch_size``.
        time_mode: which frame of a window is the target (see ``data_pipeline.make_dataset``).
        cache: keep decoded windows in memory after the first pass.
    """

    dir: str | None = None
    synthetic_root: str = "tfrecords"
    synthetic_windows: int = 640
    synthetic_height: int = 128
    synthetic_width: int = 128
    synthetic_seed: int = 0
    window: int | None = None
    crop: int | None = 64
    val_crop: int | None = None
    batch_size: int = 8
    val_batch_size: int | None = None
    time_mode: str = "middle"
    cache: bool = False

    def validate(self) -> None:
        _check_positive("data.batch_size", self.batch_size)
        _check_positive("data.synthetic_windows", self.synthetic_windows)
        _check_positive("data.synthetic_height", self.synthetic_height)
        _check_positive("data.synthetic_width", self.synthetic_width)
        for name in ("crop", "val_crop", "val_batch_size", "window"):
            value = getattr(self, name)
            if value is not None:
                _check_positive(f"data.{name}", value)
        if self.window is not None and (self.window < 3 or self.window % 2 == 0):
            raise ValueError(f"data.window must be odd and >= 3, got {self.window}")
        _check_choice("data.time_mode", self.time_mode, TIME_MODES)


@dataclass
class ModelConfig:
    """Which registered model to train and its constructor keyword arguments.

    Attributes:
        name: registry name (``fbnet.models.registry.list_models()``).
        params: keyword arguments for the model class; the resolved config holds every
            argument of the built model (its ``get_config()``), so later default changes in the
            code do not change a recorded run.
    """

    name: str = "fbnet"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimizerConfig:
    """A Keras optimizer and its per-epoch learning-rate decay.

    The learning rate of epoch ``e`` (0-based) is ``learning_rate * decay_per_epoch ** e``.
    """

    name: str = "adam"
    learning_rate: float = 1e-4
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    clipvalue: float | None = None
    clipnorm: float | None = None
    weight_decay: float | None = None
    decay_per_epoch: float = 1.0

    def validate(self, section: str) -> None:
        _check_choice(f"{section}.name", self.name, OPTIMIZERS)
        _check_positive(f"{section}.learning_rate", self.learning_rate)
        if not 0.0 < self.decay_per_epoch <= 1.0:
            raise ValueError(
                f"{section}.decay_per_epoch must be in (0, 1], got {self.decay_per_epoch}"
            )

    def learning_rate_at(self, epoch: int) -> float:
        """Learning rate for 0-based ``epoch``."""
        return self.learning_rate * self.decay_per_epoch**epoch


@dataclass
class LossConfig:
    """The training loss.

    Attributes:
        name: ``"fbnet"`` (``fbnet.losses.FBNetLoss``), ``"mse"``, ``"mae"``, or ``"gan"``
            (the GAN model computes its own losses).
        weights: keyword arguments of the loss (``FBNetLoss``) or of the GAN's ``compile``.
        distill_weight: weight of the teacher-flow distillation loss added to it
            (``fbnet.losses.flow_distillation``; FBNet only). 0 (the default) turns it off; > 0
            needs a dataset built with ``fbnet data build --teacher-flow dis``.
        distill_anneal_steps: optimizer steps over which that weight decays to
            ``distill_final_fraction * distill_weight`` (0: constant weight).
        distill_hold_steps: steps at the full weight before the decay starts.
        distill_final_fraction: weight left after the decay, as a fraction of ``distill_weight``.
        distill_schedule: shape of the decay, ``"cosine"`` or ``"linear"``.
        distill_options: keyword arguments of ``FlowDistillationLoss`` (``epsilon``,
            ``level_weights``, ``level_growth``, ``fb_check``, ``fb_alpha1``, ``fb_alpha2``,
            ``photometric_check``, ``photometric_margin``).
        distill_missing: what a distilling run does with a dataset that has no teacher flows:
            ``"error"`` refuses it; ``"off"`` trains without distillation (the run's saved
            config then records ``distill_weight: 0``), FBNet's default, so its default config
            also trains on datasets built without ``--teacher-flow``.
    """

    name: str = "mse"
    weights: dict[str, Any] = field(default_factory=dict)
    distill_weight: float = 0.0
    distill_anneal_steps: int = 0
    distill_hold_steps: int = 0
    distill_final_fraction: float = 0.0
    distill_schedule: str = "cosine"
    distill_options: dict[str, Any] = field(default_factory=dict)
    distill_missing: str = "error"

    def validate(self) -> None:
        if self.distill_weight < 0:
            raise ValueError(f"loss.distill_weight must be >= 0, got {self.distill_weight}")
        for name in ("distill_anneal_steps", "distill_hold_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.distill_final_fraction <= 1.0:
            raise ValueError(
                f"loss.distill_final_fraction must be in [0, 1], got {self.distill_final_fraction}"
            )
        _check_choice("loss.distill_schedule", self.distill_schedule, DISTILL_SCHEDULES)
        _check_choice("loss.distill_missing", self.distill_missing, DISTILL_MISSING)
        if self.distill_weight > 0 and self.name == "gan":
            raise ValueError(
                f"loss.distill_weight={self.distill_weight} is for FBNet's supervised training; "
                "the GAN computes its own losses"
            )

    @property
    def distills(self) -> bool:
        """Whether the teacher-flow distillation loss is on."""
        return self.distill_weight > 0


@dataclass
class TrainingConfig:
    """The loop: length, checkpoints, logging, failure handling, precision and devices.

    Attributes:
        epochs: epochs to train in total (a resumed run continues up to this number).
        steps_per_epoch: optimizer steps per epoch.
        validation_steps: validation batches per epoch; ``None`` covers the held-out split once.
        checkpoint_every_steps: also checkpoint every N steps inside an epoch (0: epoch ends).
        keep_checkpoints: how many of the most recent checkpoints to keep (plus ``best.keras``).
        log_every_steps: write training scalars every N steps.
        image_windows: fixed validation windows shown as image grids each epoch (0: none).
        nan_policy: ``"stop"`` ends the run at a non-finite loss; ``"skip"`` drops the update.
        max_consecutive_skips: with ``"skip"``, stop after this many bad steps in a row.
        mixed_precision: mixed_float16 on GPU, mixed_bfloat16 on CPUs with native bf16 maths.
        jit_compile: ``"auto"`` (XLA on GPU only), ``"true"`` or ``"false"`` for the train step.
        seed: seed of weights init and data order; ``None`` draws one and records it.
        deterministic: enable TensorFlow op determinism (set by ``--seed``).
        distribute: ``"none"``, ``"mirrored"`` (devices of this machine) or ``"multiworker"``
            (``TF_CONFIG``).
        logical_cpus: split the CPU into this many logical devices (0: leave as is), to try
            mirrored training on a machine without GPUs.
        init_from: start a new run from these weights (a ``.keras`` file of the same
            architecture, or a run directory, whose best checkpoint is used); only read when the
            run has no checkpoint yet, so resuming is unaffected. Optimizer state and step
            counter start fresh.
    """

    epochs: int = 5
    steps_per_epoch: int = 100
    validation_steps: int | None = None
    checkpoint_every_steps: int = 50
    keep_checkpoints: int = 3
    log_every_steps: int = 10
    image_windows: int = 4
    nan_policy: str = "stop"
    max_consecutive_skips: int = 20
    mixed_precision: bool = False
    jit_compile: str = "auto"
    seed: int | None = None
    deterministic: bool = False
    distribute: str = "none"
    logical_cpus: int = 0
    init_from: str | None = None

    def validate(self) -> None:
        _check_positive("training.epochs", self.epochs)
        _check_positive("training.steps_per_epoch", self.steps_per_epoch)
        _check_positive("training.keep_checkpoints", self.keep_checkpoints)
        _check_positive("training.log_every_steps", self.log_every_steps)
        _check_positive("training.max_consecutive_skips", self.max_consecutive_skips)
        if self.validation_steps is not None:
            _check_positive("training.validation_steps", self.validation_steps)
        for name in ("checkpoint_every_steps", "image_windows", "logical_cpus"):
            if getattr(self, name) < 0:
                raise ValueError(f"training.{name} must be >= 0, got {getattr(self, name)}")
        _check_choice("training.nan_policy", self.nan_policy, NAN_POLICIES)
        _check_choice("training.jit_compile", self.jit_compile, ("auto", "true", "false"))
        _check_choice("training.distribute", self.distribute, DISTRIBUTE_KINDS)


@dataclass
class TrainConfig:
    """Everything that defines a training run (the run directory is not part of it)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    discriminator_optimizer: OptimizerConfig | None = None
    loss: LossConfig = field(default_factory=LossConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def validate(self) -> TrainConfig:
        """Check every section; returns ``self`` so calls can be chained."""
        if not self.model.name:
            raise ValueError("model.name must be set, got an empty name")
        self.data.validate()
        self.optimizer.validate("optimizer")
        self.loss.validate()
        if self.discriminator_optimizer is not None:
            self.discriminator_optimizer.validate("discriminator_optimizer")
        self.training.validate()
        return self


def _check_positive(key: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{key} must be > 0, got {value}")


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{key} must be one of {list(choices)}, got {value!r}")


__all__ = [
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimizerConfig",
    "TrainConfig",
    "TrainingConfig",
]
