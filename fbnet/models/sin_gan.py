"""SIN-GAN: U-Net generator + conditional patch discriminator, trained with a custom train_step.

``SinGan`` holds a ``generator`` (:class:`SinGanGenerator`) and a ``discriminator``
(:class:`SinGanDiscriminator`). ``SinGan(inputs)`` is the generator's output, so the whole model
has the two-frame contract ({"frame0", "frame1", "time"} -> [B, H, W, 3] float32, any H and W,
``time`` ignored); the generator alone is what gets exported. Outputs are not clipped.

Training (``fit`` with ``(inputs, target)`` batches, target [B, H, W, 3] in [0, 1]):

* discriminator step first: ``CE(D(f0, target, f1), 1) + CE(D(f0, G, f1), 0)`` with the
  generated frame held constant, applied by ``d_optimizer`` to the discriminator's variables;
* then the generator step against the updated discriminator (the same generator forward pass
  serves both steps)::

      adversarial_weight * CE(D(f0, G, f1), 1)
      + l1_weight * mean(sqrt((G - target)^2 + charbonnier_epsilon))
      + ssim_weight * -log MS-SSIM(grey(clip(G)), grey(target))
      + clip_weight * mean((G - clip(G))^2)

  applied by ``g_optimizer`` to the generator's variables (clip = clip to [0, 1]).
* for the first ``pretrain_steps`` generator steps (counted by ``g_optimizer.iterations``, so
  it resumes correctly) only the Charbonnier L1 term is minimised and the discriminator is left
  untouched, as in the authors' L1-only pre-training.

``model.optimizer`` is ``g_optimizer`` (its ``iterations`` count training steps); both
optimizers are attributes saved in ``.keras`` files, so a reloaded model resumes with their
state. Decay both learning rates (x0.96 per epoch in the paper) through each optimizer: an
``ExponentialDecay(lr, decay_steps=steps_per_epoch, decay_rate=0.96, staircase=True)``
schedule, or by setting ``learning_rate`` on ``g_optimizer`` and ``d_optimizer`` every epoch.
Keras LR callbacks set ``model.optimizer.learning_rate`` and so reach the generator's only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from fbnet.losses import pixel
from fbnet.losses.adversarial import discriminator_adversarial_loss, generator_adversarial_loss
from fbnet.losses.ms_ssim import MSSSIMLoss
from fbnet.metrics import PSNR, SSIM
from fbnet.models.flow_guide import restoring_flow_guide
from fbnet.models.sin_gan_discriminator import SinGanDiscriminator
from fbnet.models.sin_gan_generator import DEFAULT_MEAN_RGB, SinGanGenerator

TRAIN_TERMS = ("d_loss", "d_real", "d_fake", "g_loss", "g_adversarial", "g_l1", "g_ms_ssim",
               "g_clip")  # fmt: skip
_NOT_FOR_GAN_COMPILE = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics")


def default_optimizer(learning_rate: float = 1e-3, beta_1: float = 0.5) -> keras.Optimizer:
    """Adam with beta1 = 0.5 and the authors' learning rate."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)


def charbonnier(target: tf.Tensor, prediction: tf.Tensor, epsilon: float) -> tf.Tensor:
    """Mean ``sqrt((prediction - target)^2 + epsilon)`` over the batch, a scalar."""
    return tf.reduce_mean(pixel.charbonnier(target, prediction, epsilon))


@keras.saving.register_keras_serializable(package="fbnet")
class SinGan(keras.Model):
    """Generator + discriminator with a D-then-G ``train_step`` (see the module docstring).

    Args:
        encoder_filters, decoder_filters, encoder_kernel_size, decoder_kernel_size,
        dropout_rate: generator layout (:class:`SinGanGenerator`).
        discriminator_filters, discriminator_kernel_size: discriminator layout.
        mean_rgb: per-channel mean the networks subtract from their input frames.
        adversarial_weight, l1_weight, ssim_weight, clip_weight: generator loss weights.
        charbonnier_epsilon: epsilon of the L1 term ``sqrt(d^2 + epsilon)``.
        pretrain_steps: number of L1-only generator steps before adversarial training.
        residual: the generator predicts a correction to the average of the two frames.
        flow_guide: the flow-guided generator's :class:`~fbnet.models.flow_guide.FlowGuide`
            arguments, or ``None`` (the paper's generator).
    """

    def __init__(
        self,
        encoder_filters: Sequence[int] = (32, 64, 64, 128),
        decoder_filters: Sequence[int] = (128, 64, 64, 32),
        encoder_kernel_size: int = 3,
        decoder_kernel_size: int = 4,
        dropout_rate: float = 0.5,
        discriminator_filters: Sequence[int] = (8, 16, 32, 64),
        discriminator_kernel_size: int = 4,
        mean_rgb: Sequence[float] = DEFAULT_MEAN_RGB,
        adversarial_weight: float = 0.01,
        l1_weight: float = 1.0,
        ssim_weight: float = 1.0,
        clip_weight: float = 1.0,
        charbonnier_epsilon: float = 1e-5,
        pretrain_steps: int = 0,
        residual: bool = False,
        flow_guide: Mapping[str, Any] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        weights = dict(adversarial_weight=adversarial_weight, l1_weight=l1_weight,
                       ssim_weight=ssim_weight, clip_weight=clip_weight)  # fmt: skip
        for key, value in weights.items():
            if value < 0:
                raise ValueError(f"{key} must be >= 0, got {value}")
        if pretrain_steps < 0:
            raise ValueError(f"pretrain_steps must be >= 0, got {pretrain_steps}")
        self.adversarial_weight = float(adversarial_weight)
        self.l1_weight = float(l1_weight)
        self.ssim_weight = float(ssim_weight)
        self.clip_weight = float(clip_weight)
        self.charbonnier_epsilon = float(charbonnier_epsilon)
        self.pretrain_steps = int(pretrain_steps)

        self.generator = SinGanGenerator(
            encoder_filters=encoder_filters,
            decoder_filters=decoder_filters,
            encoder_kernel_size=encoder_kernel_size,
            decoder_kernel_size=decoder_kernel_size,
            dropout_rate=dropout_rate,
            mean_rgb=mean_rgb,
            residual=residual,
            flow_guide=flow_guide,
            name="generator",
            dtype=self.dtype_policy,
        )
        self.discriminator = SinGanDiscriminator(
            filters=discriminator_filters,
            kernel_size=discriminator_kernel_size,
            mean_rgb=mean_rgb,
            name="discriminator",
            dtype=self.dtype_policy,
        )
        self.ms_ssim_loss = MSSSIMLoss(reduction=None)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in TRAIN_TERMS}
        self.psnr_metric = PSNR()
        self.ssim_metric = SSIM()
        self.g_optimizer = None
        self.d_optimizer = None
        # Both networks are built in their constructors; mark the wrapper built too, so that
        # saving after fit() (which never calls the wrapper) records a complete model.
        self.build()

    def build(self, input_shape=None) -> None:
        """Nothing to create: the generator and discriminator build themselves."""

    # ----------------------------------------------------------------------------- compile

    def compile(
        self,
        g_optimizer: keras.Optimizer | str | dict | None = None,
        d_optimizer: keras.Optimizer | str | dict | None = None,
        auto_scale_loss: bool = True,
        **kwargs,
    ) -> None:
        """Attach the two optimizers (default: Adam(1e-3, beta_1=0.5) each).

        ``kwargs`` go to ``keras.Model.compile`` (``run_eagerly``, ``jit_compile``,
        ``steps_per_execution``); ``optimizer``, ``loss`` and ``metrics`` are refused since the
        losses and metrics are built in. Under a ``mixed_float16`` policy both optimizers are
        wrapped in ``LossScaleOptimizer`` when ``auto_scale_loss``.
        """
        refused = sorted(set(kwargs) & set(_NOT_FOR_GAN_COMPILE))
        if refused:
            raise ValueError(
                f"SinGan.compile takes g_optimizer= and d_optimizer= and has built-in losses and "
                f"metrics; got {refused}"
            )
        optimizers = []
        for given in (g_optimizer, d_optimizer):
            optimizer = default_optimizer() if given is None else keras.optimizers.get(given)
            if (
                auto_scale_loss
                and self.dtype_policy.name == "mixed_float16"
                and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
            ):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizers.append(optimizer)
        if optimizers[0] is optimizers[1]:
            raise ValueError("g_optimizer and d_optimizer must be two different objects")
        self.g_optimizer, self.d_optimizer = optimizers
        super().compile(optimizer=self.g_optimizer, auto_scale_loss=False, **kwargs)
        # Create the slot variables now, so that loading a saved model restores them.
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator.trainable_variables)
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator.trainable_variables)
        self._gan_compile_config = {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "auto_scale_loss": auto_scale_loss,
            **{k: v for k, v in kwargs.items() if k != "jit_compile" or v != "auto"},
        }

    def get_compile_config(self) -> dict:
        if not self.compiled:
            return {}
        return self._gan_compile_config

    def compile_from_config(self, config: dict) -> None:
        config = dict(config)
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        config["d_optimizer"] = keras.optimizers.deserialize(config["d_optimizer"])
        self.compile(**config)

    @property
    def metrics(self) -> list:
        return [*self.trackers.values(), self.psnr_metric, self.ssim_metric]

    # ------------------------------------------------------------------------------- steps

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def _generator_terms(self, target: tf.Tensor, generated: tf.Tensor) -> dict:
        clipped = tf.clip_by_value(generated, 0.0, 1.0)
        return {
            "g_l1": charbonnier(target, generated, self.charbonnier_epsilon),
            "g_ms_ssim": tf.reduce_mean(self.ms_ssim_loss(target, clipped)),
            "g_clip": tf.reduce_mean(tf.square(generated - clipped)),
        }

    def _update_trackers(self, values: dict) -> None:
        for name, value in values.items():
            self.trackers[name].update_state(value)

    @staticmethod
    def _per_replica(loss: tf.Tensor) -> tf.Tensor:
        """``loss`` (a mean over this replica's batch) scaled for summed replica gradients.

        Optimizers sum the gradients of all replicas, so each replica's mean loss is divided
        by the replica count: one update then equals the single-device update on the global
        batch (the trackers keep the unscaled value).
        """
        return loss / tf.cast(tf.distribute.get_strategy().num_replicas_in_sync, loss.dtype)

    def _pretrain_step(self, inputs, target) -> tf.Tensor:
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            generated = self.generator(inputs, training=True)
            l1 = charbonnier(target, generated, self.charbonnier_epsilon)
            scaled = self.g_optimizer.scale_loss(self._per_replica(l1))
        self.g_optimizer.apply(tape.gradient(scaled, variables), variables)
        self._update_trackers({"g_loss": l1, "g_l1": l1})
        return l1

    def _adversarial_step(self, inputs, target) -> tf.Tensor:
        frame0, frame1 = inputs["frame0"], inputs["frame1"]
        real_triplet = tf.concat([frame0, target, frame1], axis=-1)
        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables
        with tf.GradientTape() as g_tape:
            generated = self.generator(inputs, training=True)
            # Discriminator update on the current generated frame, outside the generator tape.
            with g_tape.stop_recording():
                fake_triplet = tf.concat([frame0, tf.stop_gradient(generated), frame1], axis=-1)
                with tf.GradientTape() as d_tape:
                    real_logits = self.discriminator(real_triplet, training=True)
                    fake_logits = self.discriminator(fake_triplet, training=True)
                    d_loss, d_real, d_fake = discriminator_adversarial_loss(
                        real_logits, fake_logits
                    )
                    d_scaled = self.d_optimizer.scale_loss(self._per_replica(d_loss))
                self.d_optimizer.apply(d_tape.gradient(d_scaled, d_variables), d_variables)
            # Generator update against the updated discriminator.
            fake_logits = self.discriminator(
                tf.concat([frame0, generated, frame1], axis=-1), training=True
            )
            terms = self._generator_terms(target, generated)
            terms["g_adversarial"] = generator_adversarial_loss(fake_logits)
            g_loss = (
                self.adversarial_weight * terms["g_adversarial"]
                + self.l1_weight * terms["g_l1"]
                + self.ssim_weight * terms["g_ms_ssim"]
                + self.clip_weight * terms["g_clip"]
            )
            g_scaled = self.g_optimizer.scale_loss(self._per_replica(g_loss))
        self.g_optimizer.apply(g_tape.gradient(g_scaled, g_variables), g_variables)
        self._update_trackers({"d_loss": d_loss, "d_real": d_real, "d_fake": d_fake,
                               "g_loss": g_loss, **terms})  # fmt: skip
        return g_loss

    def train_step(self, data):
        inputs, target, _ = keras.utils.unpack_x_y_sample_weight(data)
        target = tf.cast(target, tf.float32)
        if self.pretrain_steps > 0:
            tf.cond(
                self.g_optimizer.iterations < self.pretrain_steps,
                lambda: self._pretrain_step(inputs, target),
                lambda: self._adversarial_step(inputs, target),
            )
        else:
            self._adversarial_step(inputs, target)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def test_step(self, data):
        inputs, target, _ = keras.utils.unpack_x_y_sample_weight(data)
        target = tf.cast(target, tf.float32)
        generated = self.generator(inputs, training=False)
        self.trackers["g_l1"].update_state(charbonnier(target, generated, self.charbonnier_epsilon))
        self.psnr_metric.update_state(target, generated)
        self.ssim_metric.update_state(target, generated)
        return {
            "g_l1": self.trackers["g_l1"].result(),
            "psnr": self.psnr_metric.result(),
            "ssim": self.ssim_metric.result(),
        }

    def get_config(self) -> dict:
        config = super().get_config()
        generator, discriminator = self.generator, self.discriminator
        config.update(
            encoder_filters=list(generator.encoder_filters),
            decoder_filters=list(generator.decoder_filters),
            encoder_kernel_size=generator.encoder_kernel_size,
            decoder_kernel_size=generator.decoder_kernel_size,
            dropout_rate=generator.dropout_rate,
            discriminator_filters=list(discriminator.filters),
            discriminator_kernel_size=discriminator.kernel_size,
            mean_rgb=list(generator.mean_rgb),
            adversarial_weight=self.adversarial_weight,
            l1_weight=self.l1_weight,
            ssim_weight=self.ssim_weight,
            clip_weight=self.clip_weight,
            charbonnier_epsilon=self.charbonnier_epsilon,
            pretrain_steps=self.pretrain_steps,
            residual=generator.residual,
        )
        if generator.flow_guide is not None:
            config["flow_guide"] = generator.flow_guide
        return config

    @classmethod
    def from_config(cls, config: dict) -> SinGan:
        return cls(**restoring_flow_guide(config))
