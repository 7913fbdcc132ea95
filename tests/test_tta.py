"""Test-time augmentation: the passes and their mapping back, symmetric inputs, off = plain model,
the Keras wrapper's serialization and export, and the CLI flags."""

from __future__ import annotations

import json

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from export import main as export_main
from fbnet.export.saved_model import METADATA_FILE
from fbnet.interpolate.classical import AverageInterpolator
from fbnet.loading import KerasInterpolator
from fbnet.models import tta_model
from fbnet.models.fbnet_model import FBNet
from fbnet.models.tta import PASSES, TTA_MODES, TTAInterpolator, check_mode, tta_average
from tests.model_helpers import TINY_PARAMS, random_pair, texture, tiny_model


def _fbnet(seed: int = 3) -> FBNet:
    keras.utils.set_random_seed(seed)
    model = FBNet(**TINY_PARAMS["fbnet"])
    frames = np.zeros((1, 32, 32, 3), np.float32)
    model({"frame0": frames, "frame1": frames, "time": np.full((1,), 0.5, np.float32)})
    return model


def _inputs(frame0, frame1, time):
    return {
        "frame0": tf.constant(frame0, tf.float32),
        "frame1": tf.constant(frame1, tf.float32),
        "time": tf.constant(time, tf.float32),
    }


def test_passes_are_mapped_back_before_averaging():
    # A call that returns a position- and order-dependent answer: frame0 * (1 + time) + column
    # index. Mirrored passes must be mirrored back and reversed ones read at 1 - time.
    frame0 = np.random.default_rng(0).random((2, 4, 5, 3))
    frame1 = np.random.default_rng(1).random((2, 4, 5, 3))
    time = np.array([0.25, 0.5])
    columns = np.arange(5.0)[None, None, :, None]

    def call(a, b, t):
        return a * (1.0 + t[:, None, None, None]) + columns

    expected = {
        "none": call(frame0, frame1, time),
        "flip": (call(frame0, frame1, time) + frame0 * (1 + time[:, None, None, None])
                 + columns[:, :, ::-1]) / 2,
        "reverse": (call(frame0, frame1, time) + call(frame1, frame0, 1 - time)) / 2,
    }  # fmt: skip
    for mode, value in expected.items():
        np.testing.assert_allclose(tta_average(call, frame0, frame1, time, mode), value)
    assert [len(PASSES[m]) for m in TTA_MODES] == [1, 2, 2, 4]
    with pytest.raises(ValueError, match="got 'mirror'"):
        check_mode("mirror")


def _symmetrised(model):
    """``model`` (TinyBlend) with mirror-symmetric kernels that weigh frame0 and frame1 alike:
    mirroring its inputs mirrors its output, and swapping the frames at t = 0.5 changes nothing."""
    hidden, bias = model.hidden.get_weights()
    hidden = (hidden + hidden[:, ::-1]) / 2
    hidden = np.concatenate([(hidden[:, :, :3] + hidden[:, :, 3:]) / 2] * 2, axis=2)
    model.hidden.set_weights([hidden, bias])
    kernel, bias = model.residual.get_weights()
    model.residual.set_weights([(kernel + kernel[:, ::-1]) / 2, bias])
    return model


def test_tta_of_a_symmetric_model_is_the_plain_model_and_of_others_differs():
    frame0, frame1 = (f.astype(np.float32) / 255.0 for f in random_pair(2, 16, 24, seed=5))
    inputs = _inputs(frame0, frame1, [0.5, 0.5])
    symmetric = _symmetrised(tiny_model(seed=2))
    plain = symmetric(inputs).numpy()
    for mode in TTA_MODES:
        np.testing.assert_allclose(
            tta_model.TestTimeAugmented(symmetric, mode)(inputs).numpy(), plain, atol=1e-5
        )
    model = tiny_model(seed=2)
    plain = model(inputs).numpy()
    np.testing.assert_array_equal(tta_model.TestTimeAugmented(model, "none")(inputs).numpy(), plain)
    for mode in ("flip", "reverse", "full"):
        assert (
            np.abs(tta_model.TestTimeAugmented(model, mode)(inputs).numpy() - plain).max() > 1e-3
        ), mode


def test_tta_interpolator_matches_the_keras_wrapper_and_is_exact_for_averaging():
    model = _fbnet()
    frame0, frame1 = random_pair(2, 32, 32, seed=6)
    time = np.array([0.5, 0.25], np.float32)
    wrapped = KerasInterpolator(tta_model.TestTimeAugmented(model, "full")).interpolate(
        frame0, frame1, time
    )
    numpy_side = TTAInterpolator(KerasInterpolator(model), "full")
    np.testing.assert_allclose(numpy_side.interpolate(frame0, frame1, time), wrapped, atol=2e-5)
    assert numpy_side.name.endswith("+tta:full")
    # Averaging is already mirror- and reversal-symmetric at t = 0.5: TTA changes nothing.
    average = AverageInterpolator()
    tta = TTAInterpolator(average, "full")
    np.testing.assert_allclose(
        tta.interpolate(frame0, frame1, [0.5]),
        average.interpolate(frame0, frame1, [0.5]),
        atol=1e-6,
    )


def test_wrapper_saves_and_loads_with_the_model_inside(tmp_path):
    model = tta_model.TestTimeAugmented(_fbnet(), "flip")
    frame0, frame1 = (f.astype(np.float32) / 255.0 for f in random_pair(1, 32, 32, seed=7))
    inputs = _inputs(frame0, frame1, [0.5])
    expected = model(inputs).numpy()
    model.save(tmp_path / "tta.keras")
    loaded = keras.saving.load_model(tmp_path / "tta.keras")
    assert isinstance(loaded, tta_model.TestTimeAugmented) and loaded.mode == "flip"
    np.testing.assert_allclose(loaded(inputs).numpy(), expected, atol=1e-6)


@pytest.mark.slow
def test_export_builds_tta_into_both_signatures(tmp_path, capsys):
    model_file = tmp_path / "tiny.keras"
    tiny = tiny_model()
    tiny.save(model_file)
    base = tmp_path / "serving"
    assert export_main(["--model-file", str(model_file), "--out", str(base), "--tta", "flip"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["max_grey_level_error"] <= 1
    metadata = json.loads((base / "1" / "assets.extra" / METADATA_FILE).read_text())
    assert metadata["tta"] == "flip"
    frame0, frame1 = random_pair(1, 16, 24, seed=8)
    loaded = tf.saved_model.load(str(base / "1"))
    out = loaded.signatures["serving_default"](frame0=frame0, frame1=frame1)["frame_float"]
    reference = tta_model.TestTimeAugmented(tiny, "flip")(
        _inputs(frame0 / 255.0, frame1 / 255.0, [0.5])
    ).numpy()
    np.testing.assert_allclose(out.numpy(), np.clip(reference, 0, 1), atol=1e-4)
    with pytest.raises(SystemExit):
        export_main(["--model-file", str(model_file), "--out", str(base), "--tta", "mirror"])
    assert "invalid choice: 'mirror'" in capsys.readouterr().err


def test_evaluate_applies_tta_to_the_model_only(tmp_path):
    from fbnet.evaluate.cli import load_methods

    model_file = tmp_path / "tiny.keras"
    tiny_model().save(model_file)
    methods = load_methods(["model", "average"], str(model_file), "best", tta="reverse")
    assert isinstance(methods["model"], TTAInterpolator) and methods["model"].mode == "reverse"
    assert isinstance(methods["average"], AverageInterpolator)
    assert not isinstance(
        load_methods(["model"], str(model_file), "best")["model"], TTAInterpolator
    )


def test_interpolate_flag_reaches_the_frames(tmp_path):
    from fbnet.cli import main as fbnet_main
    from tests.data_helpers import write_png_folder

    first = texture(16, 24, seed=9, blur=1.5)
    frames = [first, np.ascontiguousarray(np.roll(first, 2, axis=1))]
    write_png_folder(tmp_path / "in", frames)
    model_file = tmp_path / "tiny.keras"
    tiny_model().save(model_file)

    def middle(*extra):
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        assert (
            fbnet_main(
                [
                    "interpolate",
                    str(tmp_path / "in"),
                    "-o",
                    str(out),
                    "--quiet",
                    "--no-scene-detection",
                    *extra,
                ]
            )
            == 0
        )
        return cv2.imread(str(sorted(out.glob("*.png"))[1])).astype(int)

    plain, flipped = (
        middle("--model", str(model_file)),
        middle("--model", str(model_file), "--tta", "flip"),
    )
    assert np.abs(plain - flipped).max() >= 1
    np.testing.assert_array_equal(
        middle("--model", "average", "--tta", "full"), middle("--model", "average")
    )
