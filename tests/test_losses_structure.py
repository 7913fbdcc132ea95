"""Census (ternary) and Laplacian pyramid L1 losses against numpy references and closed forms."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fbnet.losses import CensusLoss, FBNetLoss, LaplacianL1Loss
from fbnet.losses.structure import census, laplacian_l1, laplacian_pyramid


def _images(seed: int, shape=(2, 12, 14, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.uniform(size=shape).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, shape), 0, 1).astype(np.float32)
    return a, b


def _numpy_census(a: np.ndarray, b: np.ndarray, patch: int) -> np.ndarray:
    """The census loss written out with loops: soft signs, robust distance, interior mean."""
    grey = np.array([0.299, 0.587, 0.114])

    def signs(image: np.ndarray, y: int, x: int) -> np.ndarray:
        g = 255.0 * (image.astype(np.float64) @ grey)
        r = patch // 2
        d = g[y - r : y + r + 1, x - r : x + r + 1] - g[y, x]
        return (d / np.sqrt(0.81 + d**2)).ravel()

    out = []
    r = patch // 2
    for ia, ib in zip(a, b):
        values = []
        for y in range(r, ia.shape[0] - r):
            for x in range(r, ia.shape[1] - r):
                d = signs(ia, y, x) - signs(ib, y, x)
                values.append(np.sum(d**2 / (0.1 + d**2)))
        out.append(np.mean(values))
    return np.array(out)


@pytest.mark.parametrize("patch", [3, 7])
def test_census_matches_the_loop_reference(patch: int) -> None:
    a, b = _images(0)
    np.testing.assert_allclose(census(a, b, patch).numpy(), _numpy_census(a, b, patch), rtol=1e-4)


def test_census_ignores_brightness_but_not_motion() -> None:
    a, _ = _images(1, (1, 20, 20, 3))
    a = 0.8 * a
    assert float(census(a, a)[0]) == pytest.approx(0.0, abs=1e-6)
    # A uniform brightness offset changes no sign: still zero (L1 would be 0.1).
    assert float(census(a, a + 0.1)[0]) == pytest.approx(0.0, abs=1e-5)
    shifted = np.roll(a, 2, axis=2)
    assert float(census(a, shifted)[0]) > 5.0  # of at most 48 per pixel


def test_laplacian_pyramid_is_band_pass_and_reconstructs() -> None:
    a, _ = _images(2, (1, 32, 32, 3))
    bands = laplacian_pyramid(a, 4)
    assert [band.shape[1] for band in bands] == [32, 16, 8, 4]
    # A constant image has no band-pass content: only the residual holds it.
    flat = laplacian_pyramid(np.full((1, 32, 32, 3), 0.25, np.float32), 4)
    for band in flat[:-1]:
        np.testing.assert_allclose(band.numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(flat[-1].numpy(), 0.25, atol=1e-6)


def test_laplacian_l1_of_a_constant_offset_is_the_offset() -> None:
    a, b = _images(3, (2, 32, 32, 3))
    np.testing.assert_allclose(laplacian_l1(a, a + 0.05, 5).numpy(), 0.05, rtol=1e-4)
    # One level is the plain L1.
    np.testing.assert_allclose(
        laplacian_l1(a, b, 1).numpy(), np.abs(b - a).mean(axis=(1, 2, 3)), rtol=1e-5
    )
    # More levels count the coarse structure again: the loss grows with the depth.
    assert np.all(laplacian_l1(a, b, 4).numpy() > laplacian_l1(a, b, 2).numpy())


def test_fbnet_loss_census_and_laplacian_terms() -> None:
    a, b = _images(4, (2, 16, 16, 3))
    loss = FBNetLoss(0, 0, 0, 0, census_weight=0.5, laplacian_weight=2.0, laplacian_levels=3)
    expected = 0.5 * census(a, b).numpy() + 2.0 * laplacian_l1(a, b, 3).numpy()
    np.testing.assert_allclose(loss.call(a, b).numpy(), expected, rtol=1e-5)
    assert set(loss.terms(a, b)) == {"census", "laplacian"}
    assert "census" not in FBNetLoss().terms(a, b)  # off by default: the slides' loss
    with pytest.raises(ValueError, match="census patch must be odd and >= 3, got 4"):
        FBNetLoss(census_patch=4)
    with pytest.raises(ValueError, match="laplacian levels must be >= 1, got 0"):
        FBNetLoss(laplacian_levels=0)


@pytest.mark.parametrize(
    "loss",
    [CensusLoss(patch=5), LaplacianL1Loss(levels=3), FBNetLoss(census_weight=1.0, census_patch=5)],
    ids=lambda loss: type(loss).__name__,
)
def test_structure_losses_serialize_and_have_gradients(loss: keras.losses.Loss) -> None:
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert clone.get_config() == loss.get_config()
    a, b = _images(5, (2, 16, 16, 3))
    pred = tf.Variable(b)
    with tf.GradientTape() as tape:
        value = clone(a, pred)
    np.testing.assert_allclose(float(value), float(loss(a, b)), rtol=1e-6)
    gradient = tape.gradient(value, pred).numpy()
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).max() > 0
