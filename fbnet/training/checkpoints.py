"""Checkpoints of a run: the last N whole-model ``.keras`` files, ``best.keras``, and an index.

Layout of ``RUN_DIR/checkpoints/``::

    ckpt-00000300.keras   whole model (config + weights + every optimizer's state)
    ckpt-00000350.keras   ... the ``keep`` most recent ones
    best.keras            a copy of the checkpoint with the highest validation PSNR
    index.json            what each file is: step, epoch, position in the epoch, PSNR, ...

Every file is written under a temporary name, flushed to disk and renamed, and ``index.json``
is rewritten (the same way) only after the checkpoint it lists is in place. A process killed
at any moment therefore leaves either the previous or the new index, each listing only complete
files; stray temporary files are removed the next time the directory is opened.

Resuming loads the newest checkpoint's weights and optimizer variables into a freshly built,
compiled model (``restore``), then checks that every optimizer's ``iterations`` matches what was
recorded, so a partial restore cannot go unnoticed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

INDEX_NAME = "index.json"
BEST_NAME = "best.keras"
_TMP_PREFIX = ".tmp-"


@dataclass
class CheckpointRecord:
    """One checkpoint file and where in training it was taken.

    ``epoch`` is the 0-based epoch the *next* step belongs to and ``step_in_epoch`` how many of
    its steps are already done, so an epoch-end checkpoint reads ``(epoch + 1, 0)``.
    """

    file: str
    step: int
    epoch: int
    step_in_epoch: int
    val_psnr: float | None = None
    optimizer_iterations: dict[str, int] = field(default_factory=dict)
    time: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckpointRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class NonFiniteWeightsError(RuntimeError):
    """The model holds NaN/Inf values; the checkpoint was not written."""


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{_TMP_PREFIX}{path.name}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def non_finite_weights(model: keras.Model) -> list[str]:
    """Paths of the model variables holding NaN or Inf values."""
    bad = []
    for variable in model.weights:
        value = np.asarray(keras.ops.convert_to_numpy(variable))
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            bad.append(variable.path)
    return bad


class CheckpointManager:
    """Writes, lists, prunes and restores the checkpoints in one directory.

    Args:
        directory: ``RUN_DIR/checkpoints``.
        keep: how many of the most recent checkpoints to keep (``best.keras`` is extra).
        writable: ``False`` on non-chief workers: nothing is written or removed.
    """

    def __init__(self, directory: str | Path, keep: int = 3, writable: bool = True) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.directory = Path(directory)
        self.keep = keep
        self.writable = writable
        self.records: list[CheckpointRecord] = []
        self.best: CheckpointRecord | None = None
        if writable:
            self.directory.mkdir(parents=True, exist_ok=True)
            for stray in self.directory.glob(f"{_TMP_PREFIX}*"):
                stray.unlink(missing_ok=True)
        self._read_index()

    # ------------------------------------------------------------------------------ index

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_NAME

    def _read_index(self) -> None:
        if not self.index_path.is_file():
            return
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
            records = [CheckpointRecord.from_dict(r) for r in data.get("checkpoints", [])]
            best = CheckpointRecord.from_dict(data["best"]) if data.get("best") else None
        except (json.JSONDecodeError, TypeError, KeyError) as error:
            raise ValueError(
                f"{self.index_path} is not a valid checkpoint index: {error}"
            ) from None
        self.records = sorted(
            (r for r in records if (self.directory / r.file).is_file()), key=lambda r: r.step
        )
        self.best = best if best and (self.directory / BEST_NAME).is_file() else None

    def _write_index(self) -> None:
        data = {
            "checkpoints": [asdict(r) for r in self.records],
            "best": asdict(self.best) if self.best else None,
        }
        _atomic_write_text(self.index_path, json.dumps(data, indent=2) + "\n")

    @property
    def latest(self) -> CheckpointRecord | None:
        """The most recent checkpoint, or ``None`` for a fresh run."""
        return self.records[-1] if self.records else None

    def path(self, record: CheckpointRecord) -> Path:
        return self.directory / record.file

    @property
    def best_path(self) -> Path | None:
        return self.directory / BEST_NAME if self.best else None

    @property
    def latest_path(self) -> Path | None:
        return self.path(self.latest) if self.latest else None

    def record_for(self, path: str | Path) -> CheckpointRecord | None:
        """The index record of checkpoint file ``path`` (``best.keras``: the best record)."""
        name = Path(path).name
        if name == BEST_NAME:
            return self.best
        return next((r for r in self.records if r.file == name), None)

    @property
    def last_step(self) -> int | None:
        """The step of the most recent checkpoint, or ``None`` for a fresh run."""
        return self.latest.step if self.latest else None

    # ------------------------------------------------------------------------------- save

    def save(
        self,
        model: keras.Model,
        *,
        step: int,
        epoch: int,
        step_in_epoch: int,
        optimizers: Mapping[str, keras.optimizers.Optimizer],
        val_psnr: float | None = None,
    ) -> Path | None:
        """Write a checkpoint (and ``best.keras`` when ``val_psnr`` is the best so far).

        Raises:
            NonFiniteWeightsError: the model holds NaN/Inf; nothing is written.
        """
        bad = non_finite_weights(model)
        if bad:
            raise NonFiniteWeightsError(
                f"model weights are not finite at step {step} ({len(bad)} variables, e.g. "
                f"{bad[:3]}); refusing to write a checkpoint. Last good checkpoint: "
                f"{self.latest_path or 'none'}"
            )
        if not self.writable:
            return None
        record = CheckpointRecord(
            file=f"ckpt-{step:08d}.keras",
            step=step,
            epoch=epoch,
            step_in_epoch=step_in_epoch,
            val_psnr=None if val_psnr is None else float(val_psnr),
            optimizer_iterations={k: int(o.iterations.numpy()) for k, o in optimizers.items()},
            time=time.time(),
        )
        final = self.directory / record.file
        tmp = self.directory / f"{_TMP_PREFIX}{record.file}"
        try:
            model.save(tmp)
            _fsync_file(tmp)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk or an interrupt leaves no half-written file
            raise

        self.records = [r for r in self.records if r.step != step] + [record]
        self.records.sort(key=lambda r: r.step)
        if record.val_psnr is not None and (
            self.best is None or self.best.val_psnr is None or record.val_psnr > self.best.val_psnr
        ):
            tmp_best = self.directory / f"{_TMP_PREFIX}{BEST_NAME}"
            shutil.copyfile(final, tmp_best)
            _fsync_file(tmp_best)
            os.replace(tmp_best, self.directory / BEST_NAME)
            self.best = record
        stale, self.records = self.records[: -self.keep], self.records[-self.keep :]
        self._write_index()
        for old in stale:
            self.path(old).unlink(missing_ok=True)
        return final

    # ---------------------------------------------------------------------------- restore

    def restore(
        self,
        model: keras.Model,
        optimizers: Mapping[str, keras.optimizers.Optimizer],
        record: CheckpointRecord | None = None,
    ) -> CheckpointRecord | None:
        """Load ``record`` (default: the latest) into a built, compiled model.

        The optimizers must already be built (their variables exist), so that their state is
        loaded rather than skipped; their ``iterations`` are checked against the record.
        """
        record = record or self.latest
        if record is None:
            return None
        path = self.path(record)
        for name, optimizer in optimizers.items():
            if not optimizer.built:
                raise ValueError(f"optimizer {name!r} must be built before restoring {path}")
        model.load_weights(path)
        for name, expected in record.optimizer_iterations.items():
            optimizer = optimizers.get(name)
            got = None if optimizer is None else int(optimizer.iterations.numpy())
            if got != expected:
                raise ValueError(
                    f"restoring {path}: optimizer {name!r} has iterations={got} after loading, "
                    f"the checkpoint recorded {expected}; the run's model or optimizer config "
                    "no longer matches the checkpoint"
                )
        return record
