"""The datasets of a run: which shards, a window check, and distributed train/validation streams.

With ``data.dir`` unset the embedded synthetic dataset is built once under
``<data.synthetic_root>/synthetic-w<window>`` and reused; a run whose loss distills teacher flows
uses ``synthetic-w<window>-dis`` instead, the same scenes with OpenCV DIS teacher flows stored.
The manifest is checked before any dataset is built, so a model that needs 7-frame windows
refuses 3-frame data with a message saying how to build the right one.

Batches follow ``data_pipeline.make_dataset``: ``(inputs, target)`` with the model's input mode.
``data.batch_size`` is the global batch; under a strategy every input pipeline produces
per-replica batches (``distribute_datasets_from_function``), and training pipelines get
different seeds so workers do not see the same crops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from data_pipeline.dataset import make_dataset
from data_pipeline.manifest import read_manifest
from data_pipeline.teacher_flow import TeacherFlowConfig, manifest_settings
from fbnet.models.registry import ModelSpec
from fbnet.training.config import TrainConfig


@dataclass(frozen=True)
class DataInfo:
    """What the run trains on."""

    directory: Path
    window: int
    train_examples: int
    val_examples: int
    teacher_flows: bool = False


def synthetic_dir(config: TrainConfig, window: int) -> Path:
    """The embedded synthetic dataset of a run (with teacher flows when the loss distills)."""
    suffix = "-dis" if config.loss.distills else ""
    return Path(config.data.synthetic_root) / f"synthetic-w{window}{suffix}"


def required_window(config: TrainConfig, spec: ModelSpec) -> int | None:
    """The window the data must have: ``data.window``, or the model's for context models."""
    if config.data.window is not None:
        return config.data.window
    return spec.window if spec.input_mode == "context" else None


def prepare_data(config: TrainConfig, spec: ModelSpec, build: bool = True) -> DataInfo:
    """Locate (or build, for the synthetic default) the dataset and check its window size."""
    wanted = required_window(config, spec)
    if config.data.dir is None:
        directory = synthetic_dir(config, wanted or spec.window)
        if build:
            from data_pipeline.synthetic_build import ensure_synthetic_dataset

            ensure_synthetic_dataset(
                directory,
                num_windows=config.data.synthetic_windows,
                height=config.data.synthetic_height,
                width=config.data.synthetic_width,
                window=wanted or spec.window,
                seed=config.data.synthetic_seed,
                teacher_flow=TeacherFlowConfig() if config.loss.distills else None,
            )
    else:
        directory = Path(config.data.dir)
    manifest = read_manifest(directory)
    window = int(manifest["window"])
    if wanted is not None and window != wanted:
        raise ValueError(
            f"model {spec.name!r} needs {wanted}-frame windows but {directory} holds "
            f"{window}-frame windows; build a matching dataset with `fbnet data build "
            f"--window {wanted} ...` (or `fbnet data build --synthetic N --window {wanted}`) "
            "and pass it with --data"
        )
    teacher_flows = manifest_settings(manifest) is not None
    if config.loss.distills and not teacher_flows and config.loss.distill_missing == "error":
        raise ValueError(
            f"loss.distill_weight={config.loss.distill_weight} asks for teacher-flow "
            f"distillation but {directory} has no teacher flows; build a dataset with "
            "`fbnet data build ... --teacher-flow dis` and pass it with --data (or set "
            "loss.distill_weight=0, or loss.distill_missing=off)"
        )
    splits = manifest["splits"]
    if int(splits.get("train", {}).get("examples", 0)) == 0:
        raise ValueError(f"{directory} has no training windows (split 'train' is empty)")
    return DataInfo(
        directory=directory,
        window=window,
        train_examples=int(splits["train"]["examples"]),
        val_examples=int(splits.get("val", {}).get("examples", 0)),
        teacher_flows=teacher_flows,
    )


def _make(config: TrainConfig, spec: ModelSpec, info: DataInfo, split: str, **kwargs):
    return make_dataset(
        info.directory,
        split,
        input_mode=spec.input_mode,
        time_mode=config.data.time_mode,
        window=required_window(config, spec),
        purpose=spec.name,
        **kwargs,
    )


def train_dataset(config, spec, info, strategy, seed: int | None):
    """Endless distributed training batches (global batch ``data.batch_size``)."""

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        batch = context.get_per_replica_batch_size(config.data.batch_size)
        pipeline_seed = None if seed is None else seed + 7919 * context.input_pipeline_id
        return _make(
            config,
            spec,
            info,
            "train",
            batch_size=batch,
            crop=config.data.crop,
            training=True,
            cache=config.data.cache,
            seed=pipeline_seed,
            teacher_flow=config.loss.distills,
        )

    return strategy.distribute_datasets_from_function(dataset_fn)


def validation_batch_size(config: TrainConfig) -> int:
    return config.data.val_batch_size or config.data.batch_size


def validation_steps(config: TrainConfig, info: DataInfo) -> int:
    """Batches per validation pass: ``training.validation_steps`` or the whole split once."""
    if info.val_examples == 0:
        return 0
    if config.training.validation_steps is not None:
        return config.training.validation_steps
    return max(1, info.val_examples // validation_batch_size(config))


def validation_dataset(config, spec, info, strategy):
    """Repeating, deterministic validation batches, sharded over the input pipelines."""
    global_batch = validation_batch_size(config)

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        batch = context.get_per_replica_batch_size(global_batch)
        dataset = _make(
            config,
            spec,
            info,
            "val",
            batch_size=batch,
            crop=config.data.val_crop,
            training=False,
            repeat=True,
        )
        if context.num_input_pipelines > 1:
            dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        return dataset

    return strategy.distribute_datasets_from_function(dataset_fn)


def image_windows(config, spec, info, count: int):
    """The first ``count`` validation windows, as one ``(inputs, target)`` batch (or None)."""
    if count <= 0 or info.val_examples == 0:
        return None
    dataset = _make(
        config,
        spec,
        info,
        "val",
        batch_size=min(count, info.val_examples),
        crop=config.data.val_crop,
        training=False,
    )
    return next(iter(dataset))
