"""Distributed train and evaluation steps around a compiled model's ``train_step``/``test_step``.

The model's own steps do the work (Keras' compiled-loss step for supervised models, which
scales the loss per replica; the GAN's custom step); these functions run them on every replica
with ``strategy.run`` and average what the replicas report.

The train function resets the model's metrics before each step, so it returns the values of
*that* step (averaged over replicas), not running means: the trainer can then spot one
non-finite step, skip it, and keep clean epoch averages itself. The evaluation function keeps
the metrics running over a pass and returns the pass means after its last batch.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf


def build_training_state(model: keras.Model, example_batch: tuple) -> None:
    """Create every lazily built piece (compiled metrics and loss, optimizer) from one batch.

    ``fit()`` does the same before its first step; variables must exist before the step is
    traced under a distribution strategy, and before a checkpoint is loaded.
    """
    model._symbolic_build(data_batch=example_batch)


def _reduce(strategy: tf.distribute.Strategy, outputs: dict) -> dict:
    return {
        name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
        for name, value in outputs.items()
    }


def make_train_function(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    jit_compile: bool = False,
    train_step: Callable | None = None,
) -> Callable:
    """``fn(distributed_iterator) -> {name: scalar}``: one optimizer step on the next batch.

    ``train_step`` replaces ``model.train_step`` (e.g. the distillation step of
    :mod:`fbnet.training.distillation`).
    """
    step = train_step or model.train_step

    def replica_step(batch):
        for metric in model.metrics:
            metric.reset_state()
        return step(batch)

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def step_on_batch(batch):
        return _reduce(strategy, strategy.run(replica_step, args=(batch,)))

    def train_function(iterator):
        return step_on_batch(next(iterator))

    return train_function


def make_eval_function(model: keras.Model, strategy: tf.distribute.Strategy) -> Callable:
    """``fn(distributed_iterator, steps) -> {name: float}``: means over ``steps`` batches."""

    @tf.function(reduce_retracing=True)
    def step_on_batch(batch):
        return _reduce(strategy, strategy.run(model.test_step, args=(batch,)))

    def evaluate(iterator, steps: int) -> dict[str, float]:
        for metric in model.metrics:
            metric.reset_state()
        logs = {}
        for _ in range(steps):
            logs = step_on_batch(next(iterator))
        return {name: float(value) for name, value in logs.items()}

    return evaluate


def flatten_logs(logs: dict) -> dict[str, float]:
    """Python floats of a step's outputs (nested dicts, e.g. compile metrics, flattened)."""
    flat: dict[str, float] = {}
    for name, value in logs.items():
        if isinstance(value, dict):
            flat.update(flatten_logs(value))
        else:
            flat[name] = float(value)
    return flat
