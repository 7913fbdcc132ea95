"""A frozen FBNet that warps both input frames to ``t`` (``FlowGuide``, for flow-guided SIN-GAN).

Tensors are BHWC float32 images in [0, 1]. The guide runs a complete FBNet
(:class:`fbnet.models.fbnet_model.FBNet`) and returns what its flow explains: ``frame0`` and
``frame1`` warped to ``time`` by its finest-level flows (``warped0 = dense_image_warp(frame0,
time * flow_01)``, ``warped1`` likewise with ``(1 - time) * flow_10``), each ``[B, H, W, 3]``.
Its weights are frozen (``trainable = False``): the flow comes from a trained FBNet and stays
what it was, so a generator trained on top learns occlusions and detail, not motion.

``weights_from`` names a ``.keras`` FBNet file (e.g. ``fbnet/pretrained/fbnet.keras``) whose
weights fill the guide when a new one is built; its constructor arguments must match ``fbnet``
up to FBNet's ``WEIGHT_FREE_ARGS``. A guide restored from a saved model takes its saved weights
instead and never reads that file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf


def restoring_flow_guide(config: dict) -> dict:
    """A model config whose ``flow_guide`` (if any) is marked as restored: its saved weights
    follow, so ``weights_from`` is not read (for the ``from_config`` of models holding one)."""
    if config.get("flow_guide") is None:
        return config
    return {**config, "flow_guide": {**config["flow_guide"], "restoring": True}}


@keras.saving.register_keras_serializable(package="fbnet")
class FlowGuide(keras.layers.Layer):
    """Frozen FBNet giving both frames warped to ``time``.

    Args:
        fbnet: FBNet constructor arguments (``{}``: the default, the slides' model).
        weights_from: ``.keras`` FBNet file to initialise a new guide from, or ``None`` (random
            weights, for tests).

    Call:
        ``{"frame0", "frame1", "time"}`` (``time`` optional, 0.5) -> ``(warped0, warped1)``,
        float32 ``[B, H, W, 3]``.
    """

    def __init__(
        self,
        fbnet: Mapping[str, Any] | None = None,
        weights_from: str | None = None,
        restoring: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        from fbnet.models.fbnet_model import FBNet

        self.fbnet = dict(fbnet or {})
        self.weights_from = None if weights_from is None else str(weights_from)
        try:
            self.model = FBNet(**self.fbnet, name="fbnet", dtype="float32")
        except TypeError as error:
            message = f"fbnet must hold FBNet arguments, got {self.fbnet}: {error}"
            raise ValueError(message) from None
        self.model.trainable = False
        self.trainable = False
        probe = np.zeros((1, 2 * self.model.size_multiple, 2 * self.model.size_multiple, 3))
        self.model({"frame0": probe.astype("float32"), "frame1": probe.astype("float32")})
        if self.weights_from is not None and not restoring:
            self._load(self.weights_from)

    def _load(self, path: str) -> None:
        from fbnet.models.fbnet_model import FBNet
        from fbnet.models.params import check_keras_file_matches

        try:
            check_keras_file_matches(path, self.model, ignore=FBNet.WEIGHT_FREE_ARGS)
            source = keras.saving.load_model(path, compile=False)
        except (FileNotFoundError, OSError, ValueError) as error:
            raise ValueError(f"flow guide weights_from={path!r}: {error}") from None
        self.model.set_weights(source.get_weights())

    def call(self, inputs: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        aux = self.model.call_with_aux(inputs, training=False)
        return tf.stop_gradient(aux["warped0"]), tf.stop_gradient(aux["warped1"])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"fbnet": self.fbnet, "weights_from": self.weights_from})
        return config

    @classmethod
    def from_config(cls, config: dict) -> FlowGuide:
        # Restored guides get their saved weights next; the source file is not read again.
        return cls(**config, restoring=True)
