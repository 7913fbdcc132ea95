"""Build, compile and describe the model a :class:`TrainConfig` asks for (optimizers:
:mod:`fbnet.training.optimizers`).

* :func:`build_model` instantiates the registry model with ``model.params`` and calls it once on
  a small example so every variable exists (needed to load weights and build optimizers).
* :func:`resolved_params` reads the constructor arguments back from ``get_config()``; they go
  into the resolved config so a run records its complete architecture.
* :func:`compile_model` attaches optimizers, loss and metrics: ``compile(optimizer, loss,
  metrics=[PSNR, SSIM, loss terms])`` for supervised models, ``compile(g_optimizer=...,
  d_optimizer=...)`` for the GAN. All optimizer variables are built here, so a checkpoint's
  optimizer state can be loaded before the first step.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from fbnet.metrics import PSNR, SSIM
from fbnet.models.params import constructor_params
from fbnet.models.registry import ModelSpec, get_spec
from fbnet.training.config import LossConfig, TrainConfig
from fbnet.training.optimizers import make_optimizer

EXAMPLE_SIZE = 32


def window_of(config: TrainConfig, spec: ModelSpec | None = None) -> int:
    """Frames per training window: ``data.window`` or the model's own."""
    spec = spec or get_spec(config.model.name)
    return config.data.window or spec.window


def example_inputs(spec: ModelSpec, window: int, size: int = EXAMPLE_SIZE, batch: int = 1) -> dict:
    """Zero inputs of the model's input mode (``pair`` or ``context``), ``size`` x ``size``."""
    if spec.input_mode == "context":
        return {"context": tf.zeros([batch, window - 1, size, size, 3])}
    return {
        "frame0": tf.zeros([batch, size, size, 3]),
        "frame1": tf.zeros([batch, size, size, 3]),
        "time": tf.fill([batch], 0.5),
    }


def resolved_params(model: keras.Model) -> dict[str, Any]:
    """The model's constructor arguments from its ``get_config()``."""
    return constructor_params(model)


def build_model(config: TrainConfig, spec: ModelSpec | None = None) -> keras.Model:
    """A fresh model from the registry with ``model.params``, with all variables created."""
    spec = spec or get_spec(config.model.name)
    try:
        model = spec.load_factory()(**config.model.params)
    except TypeError as error:
        raise ValueError(
            f"model.params {config.model.params} do not fit model {spec.name!r}: {error}"
        ) from None
    model(example_inputs(spec, window_of(config, spec)), training=False)
    return model


def make_loss(config: LossConfig) -> keras.losses.Loss:
    """The supervised loss (``fbnet``, ``mse`` or ``mae``) with its weights."""
    if config.name == "fbnet":
        from fbnet.losses import FBNetLoss

        return FBNetLoss(**config.weights)
    if config.weights:
        raise ValueError(f"loss {config.name!r} takes no weights, got {config.weights}")
    if config.name == "mse":
        return keras.losses.MeanSquaredError()
    if config.name == "mae":
        return keras.losses.MeanAbsoluteError()
    raise ValueError(f"loss.name must be 'fbnet', 'mse', 'mae' or 'gan', got {config.name!r}")


def resolved_loss_weights(config: LossConfig) -> dict[str, Any]:
    """Every constructor argument of the loss (so the run records the weights it used)."""
    if config.name != "fbnet":
        return dict(config.weights)
    loss_config = make_loss(config).get_config()
    return {k: v for k, v in loss_config.items() if k not in ("name", "reduction", "dtype")}


@keras.saving.register_keras_serializable(package="fbnet")
class LossTerm(keras.metrics.Mean):
    """Batch mean of one unweighted term of a multi-term loss (for logging).

    Args:
        loss: a loss with a ``terms(y_true, y_pred) -> {name: scalar}`` method.
        term: the name of the term to track.
    """

    def __init__(self, loss: Any, term: str, name: str | None = None, dtype=None) -> None:
        super().__init__(name=name or f"loss_{term}", dtype=dtype)
        self.loss = keras.losses.deserialize(loss) if isinstance(loss, dict) else loss
        self.term = term

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(self.loss.terms(y_true, y_pred)[self.term])

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "term": self.term,
            "loss": keras.losses.serialize(self.loss),
        }


def compile_model(model: keras.Model, config: TrainConfig, spec: ModelSpec | None = None) -> dict:
    """Compile for training and build every optimizer; returns ``{name: optimizer}``.

    Names: ``"optimizer"`` for supervised models; ``"generator"`` and ``"discriminator"`` for
    the GAN. ``learning_rate`` of each can be set per epoch by the trainer.
    """
    spec = spec or get_spec(config.model.name)
    if spec.trainer == "gan":
        if config.loss.name != "gan" or config.loss.weights:
            raise ValueError(
                f"model {spec.name!r} computes its own losses: use loss.name 'gan' with no "
                "weights and set its loss weights in model.params, got "
                f"loss={config.loss.name!r} weights={config.loss.weights}"
            )
        d_config = config.discriminator_optimizer or config.optimizer
        model.compile(
            g_optimizer=make_optimizer(config.optimizer),
            d_optimizer=make_optimizer(d_config),
        )
        optimizers = {"generator": model.g_optimizer, "discriminator": model.d_optimizer}
        variables = {
            "generator": model.generator.trainable_variables,
            "discriminator": model.discriminator.trainable_variables,
        }
    else:
        loss = make_loss(config.loss)
        metrics: list = [PSNR(), SSIM()]
        if hasattr(loss, "terms") and len(getattr(loss, "weights", {})) > 1:
            metrics += [LossTerm(loss, term) for term in loss.weights]
        model.compile(
            optimizer=make_optimizer(config.optimizer),
            loss=loss,
            metrics=metrics,
        )
        optimizers = {"optimizer": model.optimizer}
        variables = {"optimizer": model.trainable_variables}
    for name, optimizer in optimizers.items():
        if not optimizer.built:
            optimizer.build(variables[name])
    return optimizers
