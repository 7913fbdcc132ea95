"""Training with teacher-flow distillation: the loss and schedule from the config, the train step.

With ``loss.distill_weight > 0`` the training batches carry the dataset's teacher flows as extra
inputs (``teacher_flow_01``, ``teacher_flow_10``, ... of ``data_pipeline.make_dataset``, float32
``[B, H, W, 2]``, FBNet's flow convention) and :func:`make_distillation_step` replaces the
model's Keras ``train_step``. It runs the model through ``call_with_aux(..., flow_pyramid=True)``
on the inputs without the teacher flows, adds ``schedule(step) * FlowDistillationLoss`` (step =
the optimizer's iteration count, so it survives resuming) to the compiled loss, and applies the
gradients as Keras would (loss scaling for mixed precision, per-replica scaling under a
distribution strategy). Its logs are Keras' (``loss`` is the total optimised) plus
``loss_distill`` (unweighted) and ``distill_weight``. Validation, the saved checkpoints and the
exported model are unchanged: the teacher is never part of the model.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from data_pipeline.teacher_flow import INPUT_KEYS
from fbnet.losses.flow_distillation import DistillationSchedule, FlowDistillationLoss
from fbnet.training.config import LossConfig


def make_loss_and_schedule(config: LossConfig) -> tuple[FlowDistillationLoss, DistillationSchedule]:
    """The distillation loss (``distill_options``) and weight schedule of a loss config."""
    try:
        loss = FlowDistillationLoss(**config.distill_options)
    except TypeError as error:
        raise ValueError(
            f"loss.distill_options {config.distill_options} do not fit FlowDistillationLoss: "
            f"{error}"
        ) from None
    schedule = DistillationSchedule(
        config.distill_weight,
        anneal_steps=config.distill_anneal_steps,
        hold_steps=config.distill_hold_steps,
        final_fraction=config.distill_final_fraction,
        kind=config.distill_schedule,
    )
    return loss, schedule


def _replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def make_distillation_step(model: keras.Model, config: LossConfig) -> Callable | None:
    """``train_step(batch) -> logs`` with distillation, or ``None`` when it is off.

    ``model`` must be compiled and have ``call_with_aux(inputs, training, flow_pyramid=True)``
    (FBNet).
    """
    if not config.distills:
        return None
    if not hasattr(model, "call_with_aux"):
        raise ValueError(
            f"loss.distill_weight={config.distill_weight} needs a flow model (FBNet), got "
            f"{type(model).__name__}"
        )
    loss_fn, schedule = make_loss_and_schedule(config)
    loss_tracker = next((m for m in model.metrics if m.name == "loss"), None)

    def train_step(data):
        features, target = data[0], data[1]
        missing = [key for key in INPUT_KEYS[:2] if key not in features]
        if missing:
            raise ValueError(
                f"distillation needs the teacher flows {missing} in the batch, got "
                f"{sorted(features)}; pass teacher_flow=True to make_dataset"
            )
        inputs = {k: v for k, v in features.items() if k not in INPUT_KEYS}
        weight = schedule(model.optimizer.iterations)
        with tf.GradientTape() as tape:
            aux = model.call_with_aux(inputs, training=True, flow_pyramid=True)
            prediction = aux["frame"]
            loss = model.compute_loss(x=inputs, y=target, y_pred=prediction, training=True)
            distill = tf.reduce_mean(
                loss_fn(
                    aux["flow_pyramid"],
                    features[INPUT_KEYS[0]],
                    features[INPUT_KEYS[1]],
                    inputs["frame0"],
                    inputs["frame1"],
                )
            )
            # compute_loss is already scaled per replica; scale the added term the same way.
            total = loss + tf.cast(weight * distill / _replicas(), loss.dtype)
            if loss_tracker is not None:
                batch = tf.shape(inputs["frame0"])[0]
                loss_tracker.update_state(total * _replicas(), sample_weight=batch)
            scaled = model.optimizer.scale_loss(total)
        variables = model.trainable_variables
        gradients = tape.gradient(scaled, variables)
        model.optimizer.apply_gradients(zip(gradients, variables))
        logs = dict(model.compute_metrics(inputs, target, prediction, sample_weight=None))
        logs["loss_distill"] = distill
        logs["distill_weight"] = weight
        return logs

    return train_step
