"""One table of every interpolation model, used by train.py, export.py and ``fbnet interpolate``.

This module imports nothing from the rest of ``fbnet`` (shipped models: :mod:`fbnet.pretrained`;
loading a model from a file, run or name: :mod:`fbnet.loading`).

Adding a model is one file (a ``keras.Model`` subclass whose constructor takes keyword arguments
and which is registered with ``keras.saving.register_keras_serializable``) plus one line in
``_REGISTRY``. Models are imported lazily, so looking up a spec does not import TensorFlow.

Input modes (what the data pipeline feeds the model, see ``data_pipeline.make_dataset``):

* ``"pair"``: ``{"frame0", "frame1", "time"}``, the first and last frame of the window and the
  target's time in [0, 1].
* ``"context"``: ``{"context": [B, K-1, H, W, 3]}``, every frame of a K-frame window except the
  middle one, in temporal order.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

INPUT_MODES = ("pair", "context")
TRAINERS = ("supervised", "gan")


@dataclass(frozen=True)
class ModelSpec:
    """How to build a model and what data it needs.

    Attributes:
        name: registry name, as given to ``train.py --model``.
        factory: ``"module:attribute"`` of the ``keras.Model`` subclass (or a function) that
            builds the model from keyword arguments.
        window: frames per training window (3 for triplets, 7 for the 6-frame model).
        input_mode: one of ``INPUT_MODES``.
        trainer: ``"supervised"`` (compile + fit with a loss) or ``"gan"`` (custom train_step).
        description: one line for ``--help`` and the README.
        training_defaults: the model's default training config, as nested overrides of the
            generic ``TrainConfig`` defaults (sections ``optimizer``, ``discriminator_optimizer``,
            ``loss``, ``training``, ...; plain values, so this module needs no config types).
            ``fbnet.training.defaults.default_config`` applies them; ``configs/<name>.yaml`` is
            checked against the result by the tests.
    """

    name: str
    factory: str
    window: int
    input_mode: str
    trainer: str
    description: str
    training_defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if self.trainer not in TRAINERS:
            raise ValueError(f"trainer must be one of {TRAINERS}, got {self.trainer!r}")
        if self.window < 3 or self.window % 2 == 0:
            raise ValueError(f"window must be odd and >= 3, got {self.window}")

    def load_factory(self) -> Any:
        module_name, _, attribute = self.factory.partition(":")
        return getattr(importlib.import_module(module_name), attribute)


# Default optimizers and losses. FBNet: Nadam 1e-3 with clipping, L1 plus teacher-flow
# distillation held for 150 steps, then annealed to a tenth over 250 (every level's flow error in
# full-resolution pixels); datasets without teacher flows train on L1 alone. On the embedded
# synthetic data (500 steps) the seed's Nadam 1e-4 with the slides' loss (`--set loss.name=fbnet`)
# stays at frame averaging; L1 alone learns some motion, with distillation most (README figures).
# SIN-GAN: Adam (beta_1 0.5) for both networks, 1e-3 decayed x0.96 per epoch (the seed); the
# baselines Adam 1e-3 + MSE.
_FBNET_DISTILL = {
    "name": "mae",
    "distill_weight": 0.02,
    "distill_hold_steps": 150,
    "distill_anneal_steps": 250,
    "distill_final_fraction": 0.1,
    "distill_options": {"level_growth": 2.0},
    "distill_missing": "off",
}
_GAN_ADAM = {"name": "adam", "learning_rate": 1e-3, "beta_1": 0.5, "decay_per_epoch": 0.96}
_ADAM_MSE = {"optimizer": {"name": "adam", "learning_rate": 1e-3}, "loss": {"name": "mse"}}

_REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("fbnet", "fbnet.models.fbnet_model:FBNet", 3, "pair", "supervised",
                  "pyramid features, bidirectional flow, warped feature fusion (the slides)",
                  {"optimizer": {"name": "nadam", "learning_rate": 1e-3, "clipvalue": 1.0,
                                 "clipnorm": 1.0},
                   "loss": _FBNET_DISTILL}),
        ModelSpec("sin_gan", "fbnet.models.sin_gan:SinGan", 3, "pair", "gan",
                  "U-Net generator + conditional patch discriminator (Koren et al.)",
                  {"optimizer": _GAN_ADAM, "discriminator_optimizer": _GAN_ADAM,
                   "loss": {"name": "gan"}}),
        ModelSpec("deep_cnn", "fbnet.models.deep_cnn:DeepCNN", 3, "pair", "supervised",
                  "USC 1x1-expansion CNN baseline", _ADAM_MSE),
        # 15 full-resolution 72-channel convolutions over 18 input channels cost ~4x FBNet per
        # sample on a CPU: fewer steps keep the default run in minutes.
        ModelSpec("dncnn", "fbnet.models.dncnn:DnCNN", 7, "context", "supervised",
                  "6-frame DnCNN baseline (3 frames before, 3 after)",
                  {**_ADAM_MSE, "training": {"steps_per_epoch": 40}}),
    )
}  # fmt: skip


# Named parameter presets of registered models (not separate models: ``list_models()`` does not
# list them, and a preset's models are the registered class with these constructor arguments).
# ``build_model(PRESET)`` builds one; train one with ``--model fbnet --set model.params.K=V``.
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    # No flow estimation at full resolution (the level-1 flow upsampled x2): ~36% fewer
    # multiply-adds; warm-startable from a default FBNet (fbnet.models.weight_transfer).
    "fbnet_fast": ("fbnet", {"flow_finest_level": 1}),
}


def list_presets() -> list[str]:
    """Names of the parameter presets, see ``PRESETS``."""
    return list(PRESETS)


def list_models() -> list[str]:
    """Names of all registered models, in registry order."""
    return list(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; ``ValueError`` naming the choices if it is unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {list_models()}") from None


def build_model(name: str, **params: Any) -> Any:
    """Build a fresh, untrained model by registry or preset name with constructor arguments.

    ``params`` override a preset's.
    """
    if name in PRESETS:
        base, preset = PRESETS[name]
        return get_spec(base).load_factory()(**{**preset, **params})
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown model {name!r}; choose one of {list_models()} or a preset {list_presets()}"
        )
    return get_spec(name).load_factory()(**params)
