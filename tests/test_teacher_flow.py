"""Teacher flows: sign/order convention, record round trip, old datasets, augmentation, builds."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import tensorflow as tf

from data_pipeline import make_dataset, read_manifest
from data_pipeline.augment import FLIP_H, FLIP_V, NUM_DRAWS, TRANSPOSE, flip_transpose_batch
from data_pipeline.build import build_dataset
from data_pipeline.filters import FilterConfig
from data_pipeline.synthetic import shifted_window
from data_pipeline.synthetic_build import build_synthetic_dataset
from data_pipeline.synthetic_scene import SceneConfig
from data_pipeline.teacher_flow import (
    FLOW_NAMES,
    FlowEstimator,
    TeacherFlowConfig,
    flip_transpose_flows,
    parse_flows,
    reverse_flows,
    teacher_features,
    window_flows,
)
from data_pipeline.tfrecord_format import decode_window, serialize_window
from fbnet.cli import main
from fbnet.ops.warp import dense_image_warp
from tests.data_helpers import moving_frames, write_png_folder

SHIFT = (1.3, -2.6)  # (dy, dx) per frame, sub-pixel
NO_FILTERS = FilterConfig(cut_histogram=0, cut_structure=0, duplicate_peak=0, static_peak=0)


def _warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    return dense_image_warp(
        tf.constant(image[None], tf.float32), tf.constant(flow[None], tf.float32)
    ).numpy()[0]


def _interior(array: np.ndarray, margin: int = 8) -> np.ndarray:
    return array[..., margin:-margin, margin:-margin, :]


def test_dis_flow_sign_and_order_on_a_known_translation() -> None:
    frames = shifted_window(64, 64, SHIFT, window=3, seed=1)
    flows = window_flows(np.round(frames * 255).astype(np.uint8), FlowEstimator())
    s = np.array(SHIFT)
    expected = {"first_last": 2 * s, "last_first": -2 * s, "first_mid": s, "last_mid": -s}
    for name, value in expected.items():
        mean = _interior(flows[name], 16).reshape(-1, 2).mean(0)
        np.testing.assert_allclose(mean, value, atol=0.1, err_msg=name)
    # Warping with the teacher flow reconstructs the target frame (channel 0 vertical).
    for name, source, target in [
        ("first_last", 0, 2),
        ("last_first", 2, 0),
        ("first_mid", 0, 1),
        ("last_mid", 2, 1),
    ]:
        error = np.abs(_interior(_warp(frames[source], flows[name]) - frames[target])).mean()
        baseline = np.abs(_interior(frames[source] - frames[target])).mean()
        assert error < 0.05 * baseline, (name, error, baseline)


def test_teacher_flow_records_round_trip_within_float16_tolerance() -> None:
    rng = np.random.default_rng(0)
    flows = {name: rng.uniform(-100, 100, (12, 20, 2)).astype(np.float32) for name in FLOW_NAMES}
    frames = [np.full((12, 20, 3), i * 40, np.uint8) for i in range(3)]
    encoded = [tf.io.encode_png(f).numpy() for f in frames]
    scale = TeacherFlowConfig().scale
    record = serialize_window(encoded, [(12, 20)] * 3, "clip", 5, teacher_features(flows, scale))
    back = parse_flows(tf.constant(record))
    for name in FLOW_NAMES:
        value = back[name].numpy()
        assert value.shape == (12, 20, 2) and value.dtype == np.float32
        # 1/64 px steps: within half a step; float16 spacing at 64..128 px is 1/16 px.
        np.testing.assert_allclose(value, flows[name], atol=0.5 / scale + 1e-6)
        f16 = flows[name].astype(np.float16).astype(np.float32)
        assert np.abs(value - flows[name]).max() <= np.abs(f16 - flows[name]).max() + 1e-6
    np.testing.assert_array_equal(decode_window(tf.constant(record), 3).numpy(), np.stack(frames))


@pytest.fixture(scope="module")
def shift_data(tmp_path_factory):
    """Whole-frame translations (motion 'shift') with teacher flows, 64x64."""
    out = tmp_path_factory.mktemp("teacher") / "shift"
    build_synthetic_dataset(
        8, out, height=64, width=64, motion="shift", teacher_flow=TeacherFlowConfig(),
        val_fraction=0.25, progress=False,
    )  # fmt: skip
    return out


def test_synthetic_build_records_teacher_flow_settings(shift_data) -> None:
    manifest = read_manifest(shift_data)
    assert manifest["settings"]["teacher_flow"]["method"] == "dis"
    assert manifest["settings"]["teacher_flow"]["preset"] == "medium"
    assert manifest["settings"]["teacher_flow"]["scale"] == 64.0
    inputs, _ = next(iter(make_dataset(shift_data, "val", batch_size=2, teacher_flow=True)))
    assert set(inputs) == {"frame0", "frame1", "time", *FLOW_KEYS}
    assert all(inputs[key].shape == (2, 64, 64, 2) for key in FLOW_KEYS)


def test_datasets_without_flows_read_as_before_and_refuse_teacher_flow(tmp_path) -> None:
    out = tmp_path / "plain"
    build_synthetic_dataset(4, out, height=32, width=32, progress=False)
    assert "teacher_flow" not in read_manifest(out)["settings"]
    inputs, target = next(iter(make_dataset(out, "train", batch_size=2, crop=16)))
    assert set(inputs) == {"frame0", "frame1", "time"} and target.shape == (2, 16, 16, 3)
    with pytest.raises(ValueError, match="no teacher flows"):
        make_dataset(out, "train", batch_size=2, teacher_flow=True)


FLOW_KEYS = ("teacher_flow_01", "teacher_flow_10", "teacher_flow0", "teacher_flow1")


def _check_consistent(inputs: dict, target: np.ndarray) -> None:
    """Every teacher flow still warps its source onto its target after augmentation."""
    frame0, frame1 = inputs["frame0"].numpy(), inputs["frame1"].numpy()
    pairs = {
        "teacher_flow_01": (frame0, frame1),
        "teacher_flow_10": (frame1, frame0),
        "teacher_flow0": (frame0, target),
        "teacher_flow1": (frame1, target),
    }
    for key, (source, goal) in pairs.items():
        if key not in inputs:
            continue
        for b in range(source.shape[0]):
            warped = _warp(source[b], inputs[key].numpy()[b])
            error = np.abs(_interior(warped - goal[b], 6)).mean()
            baseline = np.abs(_interior(source[b] - goal[b], 6)).mean()
            assert error < 0.2 * baseline, (key, b, error, baseline)
    # Pure translations: the two directions are opposite.
    np.testing.assert_allclose(
        _interior(inputs["teacher_flow_01"].numpy(), 6).mean((1, 2)),
        -_interior(inputs["teacher_flow_10"].numpy(), 6).mean((1, 2)),
        atol=0.2,
    )


@pytest.mark.parametrize("cache", [False, True])
def test_crops_flips_transposes_and_reversal_keep_flows_consistent(shift_data, cache) -> None:
    dataset = make_dataset(
        shift_data, "train", batch_size=6, crop=48, teacher_flow=True, cache=cache, seed=3
    )
    for inputs, target in itertools.islice(dataset, 3):
        assert all(inputs[key].shape == (6, 48, 48, 2) for key in FLOW_KEYS)
        _check_consistent(inputs, target.numpy())


def test_random_time_mode_keeps_only_the_input_pair_flows(tmp_path) -> None:
    out = tmp_path / "w7"
    build_synthetic_dataset(
        2, out, height=48, width=48, window=7, motion="shift", teacher_flow=TeacherFlowConfig(),
        scene=SceneConfig(max_translation=1.0), val_fraction=0.0, progress=False,
    )  # fmt: skip
    inputs, target = next(
        iter(make_dataset(out, "train", batch_size=2, time_mode="random", teacher_flow=True))
    )
    assert set(inputs) == {"frame0", "frame1", "time", "teacher_flow_01", "teacher_flow_10"}
    _check_consistent(inputs, target.numpy())
    with pytest.raises(ValueError, match="input_mode 'pair'"):
        make_dataset(out, "train", batch_size=2, input_mode="context", teacher_flow=True)


@pytest.mark.parametrize("flip_v, flip_h, transpose", list(itertools.product([0, 1], repeat=3)))
def test_flow_flips_and_transposition_match_the_frames(flip_v, flip_h, transpose) -> None:
    rng = np.random.default_rng(1)
    image = tf.constant(shifted_window(24, 24, (0, 0), 1, seed=2)[:1], tf.float32)
    # A smooth, non-uniform field: the target is the source warped by it.
    yy, xx = np.mgrid[0:24, 0:24] / 24.0
    field = np.stack([2 * np.sin(3 * xx + 1) + yy, 1.5 * np.cos(2 * yy) - xx], -1)
    flow = tf.constant(field[None] + rng.normal(0, 0.01, (1, 24, 24, 2)), tf.float32)
    target = dense_image_warp(image, flow)
    draws = np.full([1, NUM_DRAWS], 0.9, np.float32)
    draws[0, FLIP_V], draws[0, FLIP_H] = 0.1 if flip_v else 0.9, 0.1 if flip_h else 0.9
    draws[0, TRANSPOSE] = 0.1 if transpose else 0.9
    draws = tf.constant(draws)
    new_image, new_target = flip_transpose_batch([image, target], draws, transpose=True)
    pair = tf.concat([flow, -flow], axis=-1)  # two flows at once: (dy, dx, dy, dx)
    new_pair = flip_transpose_flows(pair, draws, transpose=True)
    np.testing.assert_allclose(new_pair[..., 2:].numpy(), -new_pair[..., :2].numpy(), atol=1e-6)
    rebuilt = dense_image_warp(new_image, new_pair[..., :2])
    np.testing.assert_allclose(rebuilt.numpy(), new_target.numpy(), atol=1e-4)


def test_reversal_swaps_the_directions() -> None:
    flows = tf.reshape(tf.range(8.0), [1, 1, 8])
    np.testing.assert_array_equal(reverse_flows(flows).numpy().ravel(), [2, 3, 0, 1, 6, 7, 4, 5])


def test_real_source_build_and_command_line(tmp_path, capsys) -> None:
    folder = tmp_path / "clip"
    write_png_folder(folder, moving_frames(6, height=32, width=48, speed=1.5))
    out = tmp_path / "built"
    build_dataset(
        [folder], out, filters=NO_FILTERS, val_fraction=0.0, progress=False,
        teacher_flow=TeacherFlowConfig(preset="fine"),
    )  # fmt: skip
    assert read_manifest(out)["settings"]["teacher_flow"]["preset"] == "fine"
    inputs, _ = next(iter(make_dataset(out, "train", batch_size=2, teacher_flow=True, seed=0)))
    flow = _interior(inputs["teacher_flow_01"].numpy(), 8)
    assert np.abs(np.abs(flow).mean((0, 1, 2)) - [0.0, 3.0]).max() < 0.25  # 2 frames x 1.5 px
    cli_out = tmp_path / "cli"
    args = ["data", "build", "--synthetic", "2", "--size", "32x32", "--out", str(cli_out)]
    assert main([*args, "--teacher-flow", "dis", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)
    assert read_manifest(cli_out)["settings"]["teacher_flow"]["preset"] == "medium"
    with pytest.raises(ValueError, match="odd window"):
        build_synthetic_dataset(2, tmp_path / "w4", window=4, teacher_flow=TeacherFlowConfig())
