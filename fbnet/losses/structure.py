"""Losses on image structure rather than raw intensity: census (ternary) and Laplacian pyramid L1.

Inputs are BHWC images (float32 in [0, 1]; float16 predictions are cast to float32); every
function returns one value per image, ``[B]``.

- **Census / ternary** (``census``): each pixel's grey value is compared with its ``patch x patch``
  neighbours through the soft sign ``(n - c) / sqrt(0.81 + (n - c)**2)`` (values in [0, 255]
  units); two images are compared by the robust distance ``d**2 / (0.1 + d**2)`` of those signs,
  summed over the neighbours and averaged over the pixels whose whole patch lies inside the
  image. It is unchanged by a brightness offset, so it rewards getting edges to the right place
  (motion) rather than the exact intensity.
- **Laplacian pyramid L1** (``laplacian_l1``): the sum over ``levels`` band-pass levels (a 5x5
  binomial blur, then x2 decimation; the last level is the low-pass residual) of the mean absolute
  difference, so fine detail and coarse structure count alike. A constant offset ``c`` appears
  only in the residual: the loss is ``|c|``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

_GREY = (0.299, 0.587, 0.114)
_BINOMIAL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0


def check_census_patch(patch: int) -> int:
    """``patch`` as an int, or ValueError naming it (odd and >= 3)."""
    if patch < 3 or patch % 2 == 0:
        raise ValueError(f"census patch must be odd and >= 3, got {patch}")
    return int(patch)


def check_laplacian_levels(levels: int) -> int:
    """``levels`` as an int, or ValueError naming it (>= 1)."""
    if levels < 1:
        raise ValueError(f"laplacian levels must be >= 1, got {levels}")
    return int(levels)


def _grey_255(images: tf.Tensor) -> tf.Tensor:
    images = tf.cast(images, tf.float32)
    return 255.0 * tf.reduce_sum(images * tf.constant(_GREY), axis=-1, keepdims=True)


def ternary_transform(images: tf.Tensor, patch: int = 7) -> tf.Tensor:
    """``[B, H, W, patch**2]`` soft signs of each neighbour minus the centre (see the module)."""
    check_census_patch(patch)
    grey = _grey_255(images)
    neighbours = tf.image.extract_patches(
        grey, [1, patch, patch, 1], [1, 1, 1, 1], [1, 1, 1, 1], padding="SAME"
    )
    difference = neighbours - grey
    return difference / tf.sqrt(0.81 + tf.square(difference))


def census(y_true: tf.Tensor, y_pred: tf.Tensor, patch: int = 7) -> tf.Tensor:
    """Census (ternary) loss per image, ``[B]``, over the pixels whose patch is inside the image."""
    height, width = tf.shape(y_true)[1], tf.shape(y_true)[2]
    radius = patch // 2
    d = ternary_transform(y_true, patch) - ternary_transform(y_pred, patch)
    distance = tf.reduce_sum(tf.square(d) / (0.1 + tf.square(d)), axis=-1)
    interior = distance[:, radius : height - radius, radius : width - radius]
    return tf.reduce_mean(interior, axis=[1, 2])


def _blur(images: tf.Tensor) -> tf.Tensor:
    channels = images.shape[-1]
    kernel = tf.constant(np.tile(_BINOMIAL[:, :, None, None], (1, 1, channels, 1)), tf.float32)
    padded = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="SYMMETRIC")
    return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")


def laplacian_pyramid(images: tf.Tensor, levels: int) -> list[tf.Tensor]:
    """Band-pass levels, finest first, the last one the low-pass residual (``levels`` in all)."""
    check_laplacian_levels(levels)
    current = tf.cast(images, tf.float32)
    pyramid = []
    for _ in range(levels - 1):
        low = _blur(current)
        pyramid.append(current - low)
        current = low[:, ::2, ::2]
    pyramid.append(current)
    return pyramid


def laplacian_l1(y_true: tf.Tensor, y_pred: tf.Tensor, levels: int = 5) -> tf.Tensor:
    """Sum over the Laplacian pyramid levels of the mean absolute difference, ``[B]``."""
    difference = tf.cast(y_pred, tf.float32) - tf.cast(y_true, tf.float32)
    # The pyramid is linear: the pyramid of the difference is the difference of the pyramids.
    bands = laplacian_pyramid(difference, levels)
    return tf.add_n([tf.reduce_mean(tf.abs(band), axis=[1, 2, 3]) for band in bands])


@keras.saving.register_keras_serializable(package="fbnet")
class CensusLoss(keras.losses.Loss):
    """Census (ternary) loss (see :func:`census`)."""

    def __init__(self, patch: int = 7, name: str = "census", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.patch = check_census_patch(patch)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return census(y_true, y_pred, self.patch)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"patch": self.patch})
        return config


@keras.saving.register_keras_serializable(package="fbnet")
class LaplacianL1Loss(keras.losses.Loss):
    """Laplacian pyramid L1 (see :func:`laplacian_l1`)."""

    def __init__(self, levels: int = 5, name: str = "laplacian_l1", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.levels = check_laplacian_levels(levels)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return laplacian_l1(y_true, y_pred, self.levels)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"levels": self.levels})
        return config
