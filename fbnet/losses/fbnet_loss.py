"""FBNet's training loss: a weighted sum of SSIM, PSNR, L1, L2 and optional Charbonnier, census
and Laplacian pyramid L1 terms (``fbnet.losses.structure``).

The slides' default is ``(1 - SSIM) + (1 - PSNR / 40) + 5 * L1 + 10 * L2``; every weight is a
constructor argument and a term whose weight is 0 is not computed. Inputs are BHWC images
(float32 in [0, 1], predictions cast to float32). ``call`` returns the weighted sum per image,
``[B]``; :meth:`FBNetLoss.terms` returns each unweighted term's batch mean, for logging.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from fbnet.losses.pixel import charbonnier, l1, l2
from fbnet.losses.psnr_loss import psnr_loss
from fbnet.losses.ssim_loss import ssim_loss
from fbnet.losses.structure import (
    census,
    check_census_patch,
    check_laplacian_levels,
    laplacian_l1,
)


@keras.saving.register_keras_serializable(package="fbnet")
class FBNetLoss(keras.losses.Loss):
    """``ssim_weight * (1 - SSIM) + psnr_weight * (1 - PSNR / psnr_scale) + l1_weight * L1
    + l2_weight * L2 + charbonnier_weight * Charbonnier + census_weight * census
    + laplacian_weight * LaplacianL1``, per image.

    Args:
        ssim_weight, psnr_weight, l1_weight, l2_weight, charbonnier_weight, census_weight,
            laplacian_weight: non-negative term weights (defaults: the slides' 1, 1, 5, 10, then
            0, 0, 0).
        psnr_scale: PSNR in dB that makes the PSNR term 0 (see :mod:`fbnet.losses.psnr_loss`).
        charbonnier_epsilon: ``epsilon`` of ``sqrt(d**2 + epsilon)``.
        census_patch: side of the census neighbourhood (odd, >= 3).
        laplacian_levels: levels of the Laplacian pyramid (>= 1).
    """

    def __init__(
        self,
        ssim_weight: float = 1.0,
        psnr_weight: float = 1.0,
        l1_weight: float = 5.0,
        l2_weight: float = 10.0,
        charbonnier_weight: float = 0.0,
        census_weight: float = 0.0,
        laplacian_weight: float = 0.0,
        psnr_scale: float = 40.0,
        charbonnier_epsilon: float = 1e-6,
        census_patch: int = 7,
        laplacian_levels: int = 5,
        name: str = "fbnet_loss",
        **kwargs,
    ) -> None:
        super().__init__(name=name, **kwargs)
        weights = {
            "ssim": float(ssim_weight),
            "psnr": float(psnr_weight),
            "l1": float(l1_weight),
            "l2": float(l2_weight),
            "charbonnier": float(charbonnier_weight),
            "census": float(census_weight),
            "laplacian": float(laplacian_weight),
        }
        negative = {k: v for k, v in weights.items() if not v >= 0}
        if negative:
            raise ValueError(f"loss weights must be >= 0, got {negative}")
        if not sum(weights.values()) > 0:
            raise ValueError(f"at least one loss weight must be > 0, got {weights}")
        if not psnr_scale > 0 or not charbonnier_epsilon > 0:
            raise ValueError(
                "psnr_scale and charbonnier_epsilon must be > 0, got "
                f"psnr_scale={psnr_scale}, charbonnier_epsilon={charbonnier_epsilon}"
            )
        self.ssim_weight = weights["ssim"]
        self.psnr_weight = weights["psnr"]
        self.l1_weight = weights["l1"]
        self.l2_weight = weights["l2"]
        self.charbonnier_weight = weights["charbonnier"]
        self.census_weight = weights["census"]
        self.laplacian_weight = weights["laplacian"]
        self.psnr_scale = float(psnr_scale)
        self.charbonnier_epsilon = float(charbonnier_epsilon)
        self.census_patch = check_census_patch(census_patch)
        self.laplacian_levels = check_laplacian_levels(laplacian_levels)

    @property
    def weights(self) -> dict[str, float]:
        """Term name -> weight, for the terms with a non-zero weight."""
        weights = {
            "ssim": self.ssim_weight,
            "psnr": self.psnr_weight,
            "l1": self.l1_weight,
            "l2": self.l2_weight,
            "charbonnier": self.charbonnier_weight,
            "census": self.census_weight,
            "laplacian": self.laplacian_weight,
        }
        return {name: weight for name, weight in weights.items() if weight > 0}

    def _term_fns(self) -> dict[str, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]]:
        return {
            "ssim": ssim_loss,
            "psnr": lambda t, p: psnr_loss(t, p, scale=self.psnr_scale),
            "l1": l1,
            "l2": l2,
            "charbonnier": lambda t, p: charbonnier(t, p, self.charbonnier_epsilon),
            "census": lambda t, p: census(t, p, self.census_patch),
            "laplacian": lambda t, p: laplacian_l1(t, p, self.laplacian_levels),
        }

    def per_image_terms(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each active, unweighted term per image, ``{name: [B]}``."""
        fns = self._term_fns()
        return {name: fns[name](y_true, y_pred) for name in self.weights}

    def terms(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each active, unweighted term averaged over the batch, ``{name: scalar}``."""
        per_image = self.per_image_terms(y_true, y_pred)
        return {name: tf.reduce_mean(value) for name, value in per_image.items()}

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        per_image = self.per_image_terms(y_true, y_pred)
        return tf.add_n([self.weights[name] * value for name, value in per_image.items()])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "ssim_weight": self.ssim_weight,
                "psnr_weight": self.psnr_weight,
                "l1_weight": self.l1_weight,
                "l2_weight": self.l2_weight,
                "charbonnier_weight": self.charbonnier_weight,
                "census_weight": self.census_weight,
                "laplacian_weight": self.laplacian_weight,
                "psnr_scale": self.psnr_scale,
                "charbonnier_epsilon": self.charbonnier_epsilon,
                "census_patch": self.census_patch,
                "laplacian_levels": self.laplacian_levels,
            }
        )
        return config
