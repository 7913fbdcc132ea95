"""make_dataset's named steps: the request plan, and the one per-window augmentation path.

``window_example`` is shared by the streaming pipeline (PNG strings) and the cached/evaluation
pipeline (decoded frames), so the same draws must give the same example from either; crop
positions, reversal and target choice are checked against their closed forms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from data_pipeline import build_dataset
from data_pipeline.augment import LEFT, NUM_DRAWS, REVERSE, TIME, TOP
from data_pipeline.dataset_plan import DatasetPlan, crop_size, plan_dataset
from data_pipeline.filters import FilterConfig
from data_pipeline.teacher_flow import INPUT_KEYS
from data_pipeline.window_examples import to_model_inputs, window_example
from tests.data_helpers import coded_frame, write_png_folder

NO_FILTERS = FilterConfig(cut_histogram=0, cut_structure=0, duplicate_peak=0, static_peak=0)
HW = (24, 32)


def _plan(**changes) -> DatasetPlan:
    fields = {
        "data_dir": Path("unused"), "split": "train", "files": (), "k": 7, "frame_hw": HW,
        "crop_hw": (16, 20), "batch_size": 2, "training": True, "repeat": True,
        "input_mode": "pair", "time_mode": "random", "teacher_flow": False,
    }  # fmt: skip
    fields.update(changes)
    return DatasetPlan(**fields)


def _draws(**values: float) -> tf.Tensor:
    draws = np.full([NUM_DRAWS], 0.9, np.float32)  # 0.9: no reversal, no flips
    for name, value in values.items():
        draws[{"time": TIME, "top": TOP, "left": LEFT, "reverse": REVERSE}[name]] = value
    return tf.constant(draws)


def _window(k: int) -> list[np.ndarray]:
    rng = np.random.default_rng(k)
    return [rng.integers(0, 256, [*HW, 3], dtype=np.uint8) for _ in range(k)]


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    root = tmp_path_factory.mktemp("steps")
    write_png_folder(root / "seq", [coded_frame(i) for i in range(9)])
    options = {"filters": NO_FILTERS, "val_fraction": 0.0, "progress": False}
    build_dataset([root / "seq"], root / "w7", window=7, **options)
    return root / "w7"


def _request(coded, **changes):
    request = {
        "batch_size": 2, "crop": None, "training": True, "input_mode": "pair",
        "time_mode": "middle", "window": None, "repeat": None, "purpose": None,
        "verify": "auto", "teacher_flow": False,
    }  # fmt: skip
    request.update(changes)
    return plan_dataset(coded, "train", **request)


def test_plan_reads_the_manifest_and_lists_the_usable_frames(coded):
    plan = _request(coded)
    assert plan.k == 7 and plan.frame_hw == HW and plan.out_hw == HW and plan.files
    assert plan.stored == [0, 3, 6] and plan.repeat and not plan.rotate
    assert _request(coded, time_mode="random").stored == list(range(7))
    assert _request(coded, input_mode="context").stored == list(range(7))
    assert _request(coded, crop=16).rotate and not _request(coded, crop=16, training=False).rotate
    assert _request(coded, training=False).repeat is False
    assert _request(coded, time_mode="random").flow_keys == INPUT_KEYS[:2]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"input_mode": "triple"}, "'triple'"),
        ({"time_mode": "late"}, "'late'"),
        ({"window": 3}, "needs 3-frame windows"),
        ({"verify": "fast"}, "'fast'"),
        ({"teacher_flow": True}, "holds no teacher flows"),
        ({"crop": 40}, "crop 40x40 (HxW) is larger than the dataset's frames 24x32"),
    ],
)
def test_plan_refuses_bad_requests_by_value(coded, changes, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _request(coded, **changes)


def test_crop_size_forms():
    assert crop_size(None, HW) is None
    assert crop_size(16, HW) == (16, 16)
    assert crop_size((8, 30), HW) == (8, 30)
    with pytest.raises(ValueError, match="crop must be positive, got 0"):
        crop_size(0, HW)


@pytest.mark.parametrize("reverse", [False, True])
def test_strings_and_decoded_frames_give_the_same_example(reverse):
    plan = _plan()
    window = _window(7)
    draws = _draws(time=0.55, top=0.3, left=0.8, reverse=0.1 if reverse else 0.9)
    decoded = window_example(plan, [tf.constant(f) for f in window], draws)
    encoded = window_example(plan, [tf.io.encode_png(f) for f in window], draws)
    for a, b in zip(decoded[0], encoded[0]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(decoded[1]) == pytest.approx(float(encoded[1]))

    # Closed form: target 1 + floor(0.55 * 5) = 3 (time 3/6), top floor(0.3 * 9) = 2,
    # left floor(0.8 * 13) = 10; reversed windows take last-to-first and play at 1 - t.
    order = [6, 3, 0] if reverse else [0, 3, 6]
    for frame, index in zip(decoded[0], order):
        np.testing.assert_array_equal(frame.numpy(), window[index][2:18, 10:30])
    assert float(decoded[1]) == pytest.approx(0.5)  # 3/6 either way round
    target = window_example(plan, [tf.constant(f) for f in window], _draws(time=0.05))
    np.testing.assert_array_equal(target[0][1].numpy(), window[1][8:24, 11:31])  # draws 0.9
    assert float(target[1]) == pytest.approx(1 / 6)
    reversed_target = window_example(
        plan, [tf.constant(f) for f in window], _draws(time=0.05, reverse=0.1)
    )
    assert float(reversed_target[1]) == pytest.approx(5 / 6)


def test_evaluation_ignores_the_augmentation_draws():
    plan = _plan(training=False, time_mode="middle", k=3)
    window = _window(3)
    frames, time, _ = window_example(
        plan, [tf.constant(f) for f in window], _draws(top=0.0, left=1.0, reverse=0.0)
    )
    for frame, source in zip(frames, window):  # centred crop, temporal order
        np.testing.assert_array_equal(frame.numpy(), source[4:20, 6:26])
    assert float(time) == 0.5


def test_flows_follow_the_crop_and_the_reversal():
    plan = _plan(k=3, time_mode="middle", teacher_flow=True, crop_hw=(8, 8))
    stored = np.random.default_rng(0).integers(30000, 35000, [*HW, 8], dtype=np.uint16)
    frames = [tf.constant(f) for f in _window(3)]
    scale = tf.constant(64.0)
    plain = window_example(plan, frames, _draws(top=0.0, left=0.0), (tf.constant(stored), scale))
    flows = plain[3].numpy()
    np.testing.assert_allclose(flows, (stored[:8, :8].astype(np.float32) - 32768) / 64.0)
    turned = window_example(
        plan, frames, _draws(top=0.0, left=0.0, reverse=0.1), (tf.constant(stored), scale)
    )[3].numpy()
    # Reversal swaps the flows of each pair: 0->2 with 2->0, and first->mid with last->mid.
    np.testing.assert_allclose(turned, flows[..., [2, 3, 0, 1, 6, 7, 4, 5]])


def test_model_inputs_of_a_pair_batch():
    plan = _plan(training=False, time_mode="middle", k=3, crop_hw=None)
    frames = [tf.fill([2, *HW, 3], tf.constant(v, tf.uint8)) for v in (0, 51, 255)]
    inputs, target = to_model_inputs(plan, frames, tf.constant([0.5, 0.5]), tf.zeros([2, 7]))
    assert set(inputs) == {"frame0", "frame1", "time"}
    np.testing.assert_allclose(inputs["frame0"], 0.0)
    np.testing.assert_allclose(target, 0.2, atol=1e-7)
    np.testing.assert_allclose(inputs["frame1"], 1.0)
