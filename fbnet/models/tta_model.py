"""``TestTimeAugmented``: a two-frame Keras model averaged over test-time augmentation passes.

The passes and their mapping back are :mod:`fbnet.models.tta`'s (mirrored inputs, reversed pair
at ``1 - time``); inputs ``{"frame0", "frame1", "time"}`` BHWC in [0, 1] (``time`` ``[B]``,
optional: 0.5), output the wrapped model's frame. It serializes with the wrapped model inside,
and ``export.py --tta MODE`` exports it, so TF Serving runs the averaging in the graph.
"""

from __future__ import annotations

from typing import Any

import keras

from fbnet.models.tta import check_mode, tta_average


@keras.saving.register_keras_serializable(package="fbnet")
class TestTimeAugmented(keras.Model):
    """A two-frame model averaged over the passes of ``mode`` (inputs and output as its own).

    Args:
        model: the two-frame model (``{"frame0", "frame1", "time"}`` -> frame).
        mode: one of ``TTA_MODES``.
    """

    def __init__(self, model: keras.Model, mode: str = "flip", **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(model, dict):
            model = keras.saving.deserialize_keras_object(model)
        self.model = model
        self.mode = check_mode(mode)

    def call(self, inputs: dict, training: bool | None = None) -> Any:
        import tensorflow as tf

        time = inputs.get("time")
        if time is None:
            time = tf.fill(tf.shape(inputs["frame0"])[:1], 0.5)
        time = tf.reshape(tf.cast(time, tf.float32), [-1])

        def call(a: Any, b: Any, t: Any) -> Any:
            return self.model({"frame0": a, "frame1": b, "time": t}, training=training)

        return tta_average(call, inputs["frame0"], inputs["frame1"], time, self.mode)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"model": keras.saving.serialize_keras_object(self.model), "mode": self.mode})
        return config
