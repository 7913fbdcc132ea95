"""Per-model default training configs (mirrored, one file per model, in ``configs/<model>.yaml``).

Each model's optimizer, loss and loop choices live on its registry entry
(``ModelSpec.training_defaults`` in :mod:`fbnet.models.registry`, e.g. FBNet's Nadam 1e-3 with
L1 plus teacher-flow distillation, SIN-GAN's Adam with ``beta_1=0.5`` for both networks);
:func:`default_config` lays them over the generic ``TrainConfig`` defaults and validates the
result. The loop defaults (``TrainingConfig``/``DataConfig``) are a short run on the embedded
synthetic data that finishes in minutes on two CPU cores (64x64 crops, a few hundred steps);
real training sets ``--epochs``, ``--steps-per-epoch``, ``--crop`` and ``--data`` (or a config
file).
"""

from __future__ import annotations

from fbnet.models.registry import get_spec
from fbnet.training.config import ModelConfig, TrainConfig
from fbnet.training.config_io import from_dict, merge, to_dict


def default_config(model_name: str) -> TrainConfig:
    """The default :class:`TrainConfig` of a registered model."""
    spec = get_spec(model_name)
    base = to_dict(TrainConfig(model=ModelConfig(name=spec.name)))
    defaults = {key: dict(value) for key, value in spec.training_defaults.items()}
    if defaults.get("discriminator_optimizer") is not None:
        # An absent section (None) in the base would take the update whole; start it from the
        # generic optimizer defaults instead so unset keys get them.
        base["discriminator_optimizer"] = to_dict(TrainConfig().optimizer)
    return from_dict(TrainConfig, merge(base, defaults)).validate()
