"""One level of residual flow refinement (FBNet's per-level flow predictor).

Flow convention (the project's, see :mod:`fbnet.ops.warp`): flows are ``[B, h, w, 2]`` float32,
channel 0 vertical (rows), channel 1 horizontal (columns), in pixels of the level they live at.
Given features ``target`` and ``source`` of one pyramid level and a flow estimate ``flow`` such
that ``dense_image_warp(source, flow) ~ target``, the estimator predicts a correction and returns
``flow + delta``, a better flow with the same meaning. Without ``flow`` (the coarsest level) the
estimate starts from zero and no warp is needed.

The predictor sees ``concat(target, dense_image_warp(source, flow), flow)`` and is a stack of
convolutions (default filters ``[32, 64, 64, 16]`` with kernel sizes ``[3, 3, 1, 1]``, ReLU)
followed by a linear 1x1 convolution to 2 channels. That last convolution is float32 (flows keep
full precision under mixed precision) and starts with small random weights (normal, stddev
``flow_init_stddev``): an untrained estimator changes its input flow by a few hundredths of a
pixel. Not zero: at exactly zero flow every sample of the warp falls on an integer pixel, where
the warp's flow gradient is zero by definition (see :mod:`fbnet.ops.warp`), and a zero-initialised
flow would never start to move.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from fbnet.ops.warp import dense_image_warp


@keras.saving.register_keras_serializable(package="fbnet")
class FlowEstimator(keras.layers.Layer):
    """Refines a flow at one pyramid level from the features it aligns.

    The same instance may be called for both directions (0 -> 1 and 1 -> 0): the task is
    symmetric, only the roles of ``target`` and ``source`` swap.

    Args:
        filters: channels of the hidden convolutions.
        kernel_sizes: their square kernel sizes, same length as ``filters``.
        activation: activation of the hidden convolutions.
        warp_jit_compile: run the warp XLA-compiled (fast on CPU and GPU); ``False`` gives the
            same values with plain TensorFlow ops, for runtimes without XLA.
        flow_init_stddev: stddev of the initial weights of the final flow convolution; must be
            > 0 for the flow to train (see above).

    Call:
        ``(target, source, flow)`` or ``(target, source)`` with ``target`` and ``source``
        [B, h, w, C] and ``flow`` [B, h, w, 2] (zero when omitted) -> refined flow
        [B, h, w, 2] float32.
    """

    def __init__(
        self,
        filters: Sequence[int] = (32, 64, 64, 16),
        kernel_sizes: Sequence[int] = (3, 3, 1, 1),
        activation: str = "relu",
        warp_jit_compile: bool = True,
        flow_init_stddev: float = 1e-3,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not flow_init_stddev > 0:
            raise ValueError(f"flow_init_stddev must be > 0, got {flow_init_stddev!r}")
        if len(filters) != len(kernel_sizes):
            raise ValueError(
                "filters and kernel_sizes must have the same length, got "
                f"filters={list(filters)} and kernel_sizes={list(kernel_sizes)}"
            )
        self.filters = [int(f) for f in filters]
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.activation = activation
        self.warp_jit_compile = bool(warp_jit_compile)
        self.flow_init_stddev = float(flow_init_stddev)
        self.concat = keras.layers.Concatenate(axis=-1, name="concat")
        self.hidden = [
            keras.layers.Conv2D(f, k, padding="same", activation=activation, name=f"conv_{i}")
            for i, (f, k) in enumerate(zip(self.filters, self.kernel_sizes))
        ]
        self.to_flow = keras.layers.Conv2D(
            2,
            1,
            padding="same",
            kernel_initializer=keras.initializers.RandomNormal(stddev=self.flow_init_stddev),
            dtype="float32",
            name="to_flow",
        )

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        if len(inputs) == 2:
            target, source = inputs
            flow = tf.zeros(tf.concat([tf.shape(target)[:3], [2]], axis=0), tf.float32)
            warped = source
        else:
            target, source, flow = inputs
            flow = tf.cast(flow, tf.float32)
            warped = dense_image_warp(source, flow, jit_compile=self.warp_jit_compile)
        x = self.concat([target, warped, tf.cast(flow, target.dtype)])
        for conv in self.hidden:
            x = conv(x)
        return flow + self.to_flow(x)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_sizes": self.kernel_sizes,
                "activation": self.activation,
                "warp_jit_compile": self.warp_jit_compile,
                "flow_init_stddev": self.flow_init_stddev,
            }
        )
        return config
