"""The training loop: set up, resume, train epochs, validate, checkpoint, log, report.

``train(config, run_dir)`` runs (or resumes) one run:

1. devices, strategy, seeds/determinism and precision policy;
2. data (the synthetic dataset is built on first use) and the model, compiled with its
   optimizers; ``model.params``, ``loss.weights`` and ``training.seed`` are completed so
   ``config.yaml`` records the whole run;
3. if ``RUN_DIR/checkpoints`` has a checkpoint, its weights, optimizer state(s), step and
   position in the epoch are restored (the run's model config must match) and training goes on
   mid-epoch where it stopped; each epoch's learning rate is a function of the epoch index;
4. each epoch: the steps (progress bar; scalars every ``log_every_steps``; a checkpoint every
   ``checkpoint_every_steps``), validation PSNR/SSIM on the held-out split, image grids, an
   epoch-end checkpoint (``best.keras`` when the PSNR improves) and one summary line.

After a resume the input pipeline restarts (reseeded by the step in deterministic mode), so a
resumed run is equivalent to, not bit-identical with, an uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import tensorflow as tf

from fbnet.models.registry import get_spec
from fbnet.training import data as data_lib
from fbnet.training.build import (
    build_model,
    compile_model,
    example_inputs,
    resolved_loss_weights,
    resolved_params,
    window_of,
)
from fbnet.training.checkpoints import CheckpointManager
from fbnet.training.config import TrainConfig
from fbnet.training.config_io import check_resumable, save_config, with_seed
from fbnet.training.distillation import make_distillation_step
from fbnet.training.distribute import configure_devices, make_strategy, worker_role
from fbnet.training.init_from import init_weights
from fbnet.training.nan_guard import NanGuard, StateRollback
from fbnet.training.optimizers import set_learning_rates
from fbnet.training.progress import EpochProgress, RunningMeans, epoch_line
from fbnet.training.run_dir import RunDir
from fbnet.training.runtime import dtype_policy, jit_enabled, precision_policy, seed_everything
from fbnet.training.steps import (
    build_training_state,
    flatten_logs,
    make_eval_function,
    make_train_function,
)
from fbnet.training.summaries import Summaries


@dataclass
class TrainResult:
    """What a finished (or already complete) run produced."""

    run_dir: Path
    step: int
    steps_run: int
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    history: list[dict] = field(default_factory=list)


class Trainer:
    """One run's training session; see the module docstring. Use :func:`train`."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        progress: bool = True,
        log: Callable[[str], None] = print,
    ) -> None:
        self.config = with_seed(config.validate())
        self.spec = get_spec(self.config.model.name)
        self.run_dir = RunDir.at(run_dir)
        self.progress = progress
        self.log = log
        self.step = self.epoch = self.in_epoch = self.steps_run = 0
        self.history: list[dict] = []

    # ------------------------------------------------------------------------------ setup

    def _setup_runtime(self) -> None:
        settings = self.config.training
        configure_devices(settings.logical_cpus)
        self.strategy = make_strategy(settings.distribute, settings.logical_cpus)
        self.role = worker_role(self.strategy)
        seed_everything(settings.seed, settings.deterministic)
        self.policy, self.policy_note = precision_policy(settings.mixed_precision)

    def _setup_model(self) -> None:
        config = self.config
        if config.data.dir is None and not self.role.is_chief:
            # Workers sharing a disk build their own copy instead of racing on one directory.
            root = Path(config.data.synthetic_root) / f"worker-{self.role.index}"
            config = replace(config, data=replace(config.data, synthetic_root=str(root)))
        self.data = data_lib.prepare_data(config, self.spec)
        if config.loss.distills and not self.data.teacher_flows:
            # loss.distill_missing == "off" (prepare_data refuses the data otherwise)
            self.log(
                f"distillation off: {self.data.directory} has no teacher flows (build it with "
                "`fbnet data build ... --teacher-flow dis` to distill)"
            )
            config = replace(config, loss=replace(config.loss, distill_weight=0.0))
        with self.strategy.scope():
            self.model = build_model(config, self.spec)
            self.optimizers = compile_model(self.model, config, self.spec)
            size, batch = config.data.crop or 32, data_lib.validation_batch_size(config)
            inputs = example_inputs(self.spec, window_of(config, self.spec), size, batch)
            build_training_state(self.model, (inputs, tf.zeros([batch, size, size, 3])))
        self.config = replace(
            config,
            data=self.config.data,
            model=replace(config.model, params=resolved_params(self.model)),
            loss=replace(config.loss, weights=resolved_loss_weights(config.loss)),
        )

    def _write_config(self) -> None:
        if self.run_dir.has_config():
            changes = check_resumable(self.run_dir.read_config(), self.config)
            if changes:
                listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items())
                self.log(f"config changed since the run's last session: {listed}")
        if self.role.is_chief:
            self.run_dir.create()
            save_config(self.config, self.run_dir.config_path)

    def _restore(self) -> None:
        settings = self.config.training
        self.ckpts = CheckpointManager(
            self.run_dir.checkpoints, settings.keep_checkpoints, writable=self.role.is_chief
        )
        record = self.ckpts.restore(self.model, self.optimizers)
        if record is None:
            if settings.init_from:
                path = init_weights(self.model, settings.init_from)
                self.log(f"new run: weights initialised from {path}")
            return
        self.step, self.epoch = record.step, record.epoch
        self.in_epoch = min(record.step_in_epoch, settings.steps_per_epoch)
        self.log(
            f"resuming from {self.ckpts.path(record)}: step {self.step}, epoch {self.epoch + 1} "
            f"({self.in_epoch}/{settings.steps_per_epoch} steps of it done)"
        )

    def _setup_loop(self) -> None:
        config, settings, spec, info = self.config, self.config.training, self.spec, self.data
        self.train_fn = make_train_function(
            self.model,
            self.strategy,
            jit_enabled(settings.jit_compile),
            make_distillation_step(self.model, config.loss),
        )
        self.eval_fn = make_eval_function(self.model, self.strategy)
        self.val_steps = data_lib.validation_steps(config, info)
        self.val_data = (
            data_lib.validation_dataset(config, spec, info, self.strategy)
            if self.val_steps
            else None
        )
        count = settings.image_windows if self.role.is_chief else 0
        self.images = data_lib.image_windows(config, spec, info, count)
        seed = settings.seed + self.step if settings.deterministic else None
        self.train_iter = iter(data_lib.train_dataset(config, spec, info, self.strategy, seed))
        self.summaries = Summaries(self.run_dir.logs, enabled=self.role.is_chief)
        self.guard = NanGuard(settings.nan_policy, settings.max_consecutive_skips)
        self.rollback = None
        if settings.nan_policy == "skip":
            variables = list(self.model.weights)
            for optimizer in self.optimizers.values():
                variables += list(optimizer.variables)
            self.rollback = StateRollback(variables, self.strategy)

    def _announce(self) -> None:
        info, run = self.data, self.run_dir
        self.log(
            f"training {self.spec.name} on {info.directory} ({info.train_examples} train / "
            f"{info.val_examples} val windows of {info.window} frames), "
            f"{self.strategy.num_replicas_in_sync} replica(s), {self.policy_note}"
        )
        self.log(
            f"run directory {run.root}: config {run.config_path}, checkpoints {run.checkpoints}, "
            f"TensorBoard logs {run.logs}"
        )

    # ------------------------------------------------------------------------------- loop

    def _save(self, val_psnr: float | None = None, epoch_end: bool = False):
        return self.ckpts.save(
            self.model,
            step=self.step,
            epoch=self.epoch + 1 if epoch_end else self.epoch,
            step_in_epoch=0 if epoch_end else self.in_epoch,
            optimizers=self.optimizers,
            val_psnr=val_psnr,
        )

    def _check_step(self, logs: dict) -> bool:
        """Keep a good step; undo (skip policy) or stop at a non-finite one."""
        step_ok = not NanGuard.bad_values(logs)
        kept = self.rollback.commit(step_ok) if self.rollback is not None else step_ok
        last = self.ckpts.latest_path
        return self.guard.check(
            logs, self.step, str(last) if last else None, weights_finite=kept or not step_ok
        )

    def _log_scalars(self, logs: dict, rates: dict, window: list) -> None:
        elapsed = max(time.time() - window[0], 1e-9)
        values = dict(logs)
        if len(rates) == 1:
            values["learning_rate"] = next(iter(rates.values()))
        else:
            values.update({f"learning_rate/{name}": rate for name, rate in rates.items()})
        values["steps_per_s"] = window[1] / elapsed
        values["samples_per_s"] = window[1] * self.config.data.batch_size / elapsed
        values["skipped_steps"] = self.guard.skipped
        self.summaries.train_scalars(values, self.step)
        window[:] = [time.time(), 0]

    def _train_epoch(self, rates: dict) -> RunningMeans:
        settings = self.config.training
        bar = EpochProgress(
            self.epoch,
            settings.epochs,
            settings.steps_per_epoch,
            self.in_epoch,
            enabled=self.progress and self.role.is_chief,
        )
        means, window = RunningMeans(), [time.time(), 0]
        try:
            while self.in_epoch < settings.steps_per_epoch:
                logs = flatten_logs(self.train_fn(self.train_iter))
                self.step, self.in_epoch = self.step + 1, self.in_epoch + 1
                self.steps_run, window[1] = self.steps_run + 1, window[1] + 1
                if self._check_step(logs):
                    means.add(logs)
                bar.update(logs)
                if self.step % settings.log_every_steps == 0:
                    self._log_scalars(logs, rates, window)
                every = settings.checkpoint_every_steps
                if every and self.step % every == 0 and self.in_epoch < settings.steps_per_epoch:
                    self._save()
        finally:
            bar.close()
        return means

    def _end_epoch(self, means: RunningMeans, seconds: float) -> None:
        settings = self.config.training
        val_logs = self.eval_fn(iter(self.val_data), self.val_steps) if self.val_data else {}
        self.summaries.validation_scalars(val_logs, self.step)
        if self.images is not None:
            self.summaries.validation_images(self.model, *self.images, step=self.step)
        self.summaries.flush()
        previous_best = self.ckpts.best
        path = self._save(val_logs.get("psnr"), epoch_end=True)
        train_means = means.means()
        self.history.append(
            {"epoch": self.epoch + 1, "step": self.step, **train_means}
            | {f"val_{k}": v for k, v in val_logs.items()}
        )
        line = epoch_line(
            self.epoch,
            settings.epochs,
            self.step,
            train_means,
            val_logs,
            means.count * self.config.data.batch_size / max(seconds, 1e-9),
            seconds,
            str(path) if path else None,
            self.ckpts.best is not previous_best,
            self.guard.skipped,
        )
        self.log(line if self.role.is_chief else f"[worker {self.role.index}] {line}")
        self.epoch, self.in_epoch = self.epoch + 1, 0

    def _report(self) -> None:
        if not self.role.is_chief:
            return
        if self.steps_run == 0:
            self.log(
                f"run {self.run_dir.root} is already complete "
                f"({self.config.training.epochs} epochs, step {self.step}); raise --epochs to "
                "train longer"
            )
        best = self.ckpts.best_path or self.ckpts.latest_path
        self.log(f"best checkpoint: {best}")
        self.log(f"TensorBoard: tensorboard --logdir {self.run_dir.logs}")
        self.log(
            f"export it with: python export.py --run-dir {self.run_dir.root} "
            f"--out exports/{self.spec.name}"
        )

    def run(self) -> TrainResult:
        self._setup_runtime()
        with dtype_policy(self.policy):
            self._setup_model()
            self._write_config()
            self._restore()
            self._announce()
            self._setup_loop()
            try:
                while self.epoch < self.config.training.epochs:
                    rates = set_learning_rates(self.optimizers, self.config, self.epoch)
                    started = time.time()
                    means = self._train_epoch(rates)
                    self._end_epoch(means, time.time() - started)
            except KeyboardInterrupt:
                if self.role.is_chief and 0 < self.in_epoch:
                    path = self._save()
                    self.log(f"interrupted at step {self.step}; saved {path}; run again to resume")
                raise
            finally:
                self.summaries.close()
            self._report()
        best = self.ckpts.best_path
        return TrainResult(
            self.run_dir.root, self.step, self.steps_run, best, self.ckpts.latest_path, self.history
        )


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train (or resume) the run in ``run_dir`` as described by ``config``."""
    return Trainer(config, run_dir, progress=progress, log=log).run()
