"""Flow-guided SIN-GAN: a frozen FBNet warps both frames to t; the U-Net predicts a residual."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from data_pipeline.synthetic import shifted_window
from fbnet.export.saved_model import without_xla
from fbnet.models.fbnet_model import FBNet
from fbnet.models.flow_guide import FlowGuide
from fbnet.models.sin_gan import SinGan
from fbnet.models.sin_gan_generator import SinGanGenerator
from tests.layer_harness import TINY_FBNET, check_config_roundtrip, check_keras_roundtrip

SMALL = dict(encoder_filters=(4, 8), decoder_filters=(8, 4))


def _triplets(batch: int, size: int) -> tuple[dict, np.ndarray]:
    windows = np.stack(
        [shifted_window(size, size, (1.0, 2.0 * i - 3.0), window=3, seed=i) for i in range(batch)]
    )
    inputs = {"frame0": windows[:, 0], "frame1": windows[:, 2]}
    return {**inputs, "time": np.full(batch, 0.5, np.float32)}, windows[:, 1]


@pytest.fixture(scope="module")
def fbnet_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny FBNet whose flow is not zero (an untrained one barely moves anything)."""
    model = FBNet(**TINY_FBNET)
    inputs, _ = _triplets(1, 16)
    model(inputs)
    rng = np.random.default_rng(0)
    for estimator in model.flow.estimators:
        kernel = estimator.to_flow.kernel
        kernel.assign(rng.normal(0, 0.05, kernel.shape).astype(np.float32))
    path = tmp_path_factory.mktemp("guide") / "fbnet.keras"
    model.save(path)
    return str(path)


def _guide(fbnet_file: str) -> dict:
    return {"fbnet": dict(TINY_FBNET), "weights_from": fbnet_file}


def test_untrained_generator_is_the_flow_models_warped_blend(fbnet_file):
    generator = SinGanGenerator(flow_guide=_guide(fbnet_file), **SMALL)
    assert generator.residual
    inputs, _ = _triplets(2, 24)
    source = keras.saving.load_model(fbnet_file, compile=False)
    aux = source.call_with_aux(inputs)
    blend = 0.5 * (aux["warped0"].numpy() + aux["warped1"].numpy())
    np.testing.assert_allclose(generator(inputs).numpy(), blend, atol=1e-5)
    # ... which is not plain frame averaging (the guide's flow is used).
    average = 0.5 * (inputs["frame0"] + inputs["frame1"])
    assert np.abs(blend - average).max() > 1e-2


def test_guide_loads_its_weights_and_is_frozen(fbnet_file):
    guide = FlowGuide(**_guide(fbnet_file))
    source = keras.saving.load_model(fbnet_file, compile=False)
    for got, want in zip(guide.model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert guide.trainable_weights == [] and len(guide.non_trainable_weights) > 0
    generator = SinGanGenerator(flow_guide=_guide(fbnet_file), **SMALL)
    plain = SinGanGenerator(**SMALL)
    # The guide adds frozen weights and widens the first block's input from 6 to 12 channels.
    first = generator.encoder_blocks[0].weights[0].shape
    assert first[2] == 12 and plain.encoder_blocks[0].weights[0].shape[2] == 6
    assert len(generator.trainable_weights) == len(plain.trainable_weights)


def test_bad_guides_are_rejected_with_the_value(tmp_path, fbnet_file):
    with pytest.raises(ValueError, match="missing.keras"):
        FlowGuide(fbnet=dict(TINY_FBNET), weights_from=str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="levels"):
        FlowGuide(fbnet={**TINY_FBNET, "levels": 4, "fusion_filters": [8, 8, 8, 8]},
                  weights_from=fbnet_file)  # fmt: skip
    with pytest.raises(ValueError, match="colour"):
        FlowGuide(fbnet={"colour": 1})
    with pytest.raises(ValueError, match="flow"):
        SinGanGenerator(flow_guide={"flow": 1}, **SMALL)


def test_serialization_restores_the_saved_weights_without_the_source(tmp_path, fbnet_file):
    model = SinGan(discriminator_filters=(4, 8), flow_guide=_guide(fbnet_file), **SMALL)
    clone = check_config_roundtrip(model)
    assert clone.generator.flow_guide == _guide(fbnet_file)
    inputs, _ = _triplets(2, 16)
    # Make the saved guide differ from its source file: the load must not re-read that file.
    for weight in model.generator.guide.model.weights:
        weight.assign(weight.numpy() * 0.9)
    loaded = check_keras_roundtrip(model, inputs, tmp_path)
    for got, want in zip(loaded.generator.guide.model.get_weights(),
                         model.generator.guide.model.get_weights()):  # fmt: skip
        np.testing.assert_array_equal(got, want)


def test_one_fit_step_trains_the_unet_and_leaves_the_guide(fbnet_file):
    keras.utils.set_random_seed(0)
    model = SinGan(discriminator_filters=(4, 8), flow_guide=_guide(fbnet_file), **SMALL)
    model.compile()
    guide_before = model.generator.guide.model.get_weights()
    unet_before = [w.numpy() for w in model.generator.trainable_weights]
    inputs, target = _triplets(2, 16)
    history = model.fit(inputs, target, batch_size=2, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    for got, want in zip(model.generator.guide.model.get_weights(), guide_before):
        np.testing.assert_array_equal(got, want)
    unet_after = [w.numpy() for w in model.generator.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(unet_before, unet_after))


def test_export_copy_warps_without_xla_and_gives_the_same_frames(fbnet_file):
    model = SinGan(discriminator_filters=(4, 8), flow_guide=_guide(fbnet_file), **SMALL)
    assert model.generator.guide.model.warp_jit_compile
    clone = without_xla(model)
    assert clone is not model and not clone.generator.guide.model.warp_jit_compile
    inputs, _ = _triplets(2, 16)
    np.testing.assert_allclose(clone(inputs).numpy(), model(inputs).numpy(), atol=1e-5)
