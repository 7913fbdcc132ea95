"""The optimizers of a training run: built from :class:`OptimizerConfig`, learning rate per epoch.

:func:`make_optimizer` maps a config section to a Keras optimizer (Adam, Nadam, AdamW, SGD,
RMSprop; clipping and weight decay as configured); :func:`set_learning_rates` applies each
section's per-epoch schedule (``learning_rate * decay_per_epoch ** epoch``) to the optimizers a
compiled model holds.
"""

from __future__ import annotations

from typing import Any

import keras

from fbnet.training.config import OptimizerConfig, TrainConfig


def make_optimizer(config: OptimizerConfig) -> keras.optimizers.Optimizer:
    """The Keras optimizer described by ``config`` (learning rate of epoch 0)."""
    common: dict[str, Any] = {"learning_rate": config.learning_rate}
    clipvalue, clipnorm = config.clipvalue, config.clipnorm
    if clipvalue is not None and clipnorm is not None:
        # Keras 2 applied clipnorm (per variable) and then clipvalue; Keras 3 takes only one.
        # After clipping each gradient to norm <= clipnorm no element exceeds clipnorm, so a
        # clipvalue >= clipnorm (the FBNet seed's 1.0 and 1.0) changes nothing.
        if clipvalue < clipnorm:
            raise ValueError(
                "Keras 3 optimizers take either clipnorm or clipvalue; both are only accepted "
                f"when clipvalue >= clipnorm (then clipvalue has no effect), got "
                f"clipvalue={clipvalue}, clipnorm={clipnorm}"
            )
        clipvalue = None
    if clipvalue is not None:
        common["clipvalue"] = clipvalue
    if clipnorm is not None:
        common["clipnorm"] = clipnorm
    if config.weight_decay is not None:
        common["weight_decay"] = config.weight_decay
    adam_like = {"beta_1": config.beta_1, "beta_2": config.beta_2, "epsilon": config.epsilon}
    if config.name == "adam":
        return keras.optimizers.Adam(**common, **adam_like)
    if config.name == "nadam":
        return keras.optimizers.Nadam(**common, **adam_like)
    if config.name == "adamw":
        return keras.optimizers.AdamW(**common, **adam_like)
    if config.name == "sgd":
        return keras.optimizers.SGD(**common, momentum=config.beta_1)
    if config.name == "rmsprop":
        return keras.optimizers.RMSprop(**common, rho=config.beta_2, epsilon=config.epsilon)
    raise ValueError(f"unknown optimizer {config.name!r}")


def set_learning_rates(optimizers: dict, config: TrainConfig, epoch: int) -> dict[str, float]:
    """Set each optimizer's learning rate for 0-based ``epoch``; returns the values."""
    rates = {}
    for name, optimizer in optimizers.items():
        section = config.optimizer
        if name == "discriminator" and config.discriminator_optimizer is not None:
            section = config.discriminator_optimizer
        rate = section.learning_rate_at(epoch)
        optimizer.learning_rate = rate
        rates[name] = rate
    return rates
