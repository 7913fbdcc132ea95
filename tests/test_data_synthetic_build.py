"""The embedded synthetic dataset: split by scene, reuse, rebuild, 7-frame windows."""

from __future__ import annotations

import numpy as np
import pytest

from data_pipeline import (
    build_dataset,
    build_synthetic_dataset,
    ensure_synthetic_dataset,
    make_dataset,
    read_manifest,
)
from data_pipeline.filters import FilterConfig
from tests.data_helpers import coded_frame, write_png_folder


def test_synthetic_build_splits_by_scene(tmp_path):
    manifest = build_synthetic_dataset(
        10, tmp_path / "syn", height=24, width=32, val_fraction=0.2, progress=False
    )
    assert manifest["splits"]["train"]["examples"] == 8
    assert manifest["splits"]["val"]["examples"] == 2
    assert manifest["frame_size"] == {"height": 24, "width": 32}
    inputs, target = next(iter(make_dataset(tmp_path / "syn", "val", batch_size=2, training=False)))
    assert target.shape == (2, 24, 32, 3)
    # motion: the middle frame differs from both ends, and is not their blend
    f0, f1, mid = inputs["frame0"].numpy(), inputs["frame1"].numpy(), target.numpy()
    assert np.abs(mid - f0).mean() > 0.005 and np.abs(mid - f1).mean() > 0.005


def test_shift_motion_windows_are_whole_frame_translations(tmp_path):
    from data_pipeline.synthetic_scene import SceneConfig

    scene = SceneConfig(max_translation=3.0)
    manifest = build_synthetic_dataset(
        6, tmp_path / "shift", height=40, width=48, motion="shift", scene=scene, progress=False
    )
    assert manifest["synthetic"]["motion"] == "shift"
    assert manifest["motion_kinds"]["train"] == {"shift": 5}
    inputs, target = next(
        iter(make_dataset(tmp_path / "shift", "train", batch_size=5, training=False))
    )
    f0, f1, mid = inputs["frame0"].numpy(), inputs["frame1"].numpy(), target.numpy()
    for a, b, m in zip(f0, f1, mid):
        # The best integer alignment of frame 0 onto the middle frame is a shift of 1..3 px
        # (0.75..3 px per frame, rounded), and frame 1 sits at minus that shift.
        errors = {
            (dy, dx): np.abs(np.roll(a, (dy, dx), (0, 1)) - m)[4:-4, 4:-4].mean()
            for dy in range(-4, 5)
            for dx in range(-4, 5)
        }
        dy, dx = min(errors, key=errors.get)
        assert 1 <= max(abs(dy), abs(dx)) <= 3, (dy, dx)
        back = np.abs(np.roll(b, (-dy, -dx), (0, 1)) - m)[4:-4, 4:-4].mean()
        assert back < np.abs(b - m)[4:-4, 4:-4].mean(), (dy, dx)
    with pytest.raises(ValueError, match="'drift'"):
        build_synthetic_dataset(2, tmp_path / "bad", motion="drift", progress=False)


def test_ensure_builds_once_then_reuses(tmp_path):
    out = tmp_path / "syn"
    kwargs = {"num_windows": 6, "height": 16, "width": 16, "progress": False}
    assert ensure_synthetic_dataset(out, **kwargs) == out
    stamp = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    ensure_synthetic_dataset(out, **kwargs)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamp
    # other settings: the synthetic dataset is rebuilt in place
    ensure_synthetic_dataset(out, **{**kwargs, "num_windows": 8})
    assert read_manifest(out)["synthetic"]["num_windows"] == 8
    # a truncated shard is not reused
    (shard,) = out.glob("train-*.tfrecord")
    shard.write_bytes(shard.read_bytes()[:50])
    ensure_synthetic_dataset(out, **{**kwargs, "num_windows": 8})
    make_dataset(out, batch_size=2, training=False)  # verifies every shard


def test_ensure_matches_the_teacher_flow_settings(tmp_path):
    from data_pipeline.teacher_flow import TeacherFlowConfig, manifest_settings

    out = tmp_path / "syn"
    kwargs = {"num_windows": 4, "height": 16, "width": 16, "progress": False}
    ensure_synthetic_dataset(out, **kwargs)
    assert manifest_settings(read_manifest(out)) is None
    teacher = TeacherFlowConfig()
    ensure_synthetic_dataset(out, teacher_flow=teacher, **kwargs)  # rebuilt with flows
    assert manifest_settings(read_manifest(out))["method"] == "dis"
    inputs, _ = next(iter(make_dataset(out, batch_size=2, training=False, teacher_flow=True)))
    assert inputs["teacher_flow_01"].shape == (2, 16, 16, 2)
    stamp = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    ensure_synthetic_dataset(out, teacher_flow=teacher, **kwargs)  # same settings: reused
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamp
    ensure_synthetic_dataset(out, teacher_flow=TeacherFlowConfig(preset="fine"), **kwargs)
    assert manifest_settings(read_manifest(out))["preset"] == "fine"
    ensure_synthetic_dataset(out, **kwargs)  # and back without
    assert manifest_settings(read_manifest(out)) is None


def test_ensure_supports_seven_frame_windows(tmp_path):
    out = ensure_synthetic_dataset(
        tmp_path / "w7", num_windows=4, height=16, width=16, window=7, progress=False
    )
    assert read_manifest(out)["window"] == 7
    inputs, target = next(iter(make_dataset(out, batch_size=2, input_mode="context", crop=16)))
    assert inputs["context"].shape == (2, 6, 16, 16, 3)


def test_ensure_refuses_a_directory_holding_other_data(tmp_path):
    write_png_folder(tmp_path / "seq", [coded_frame(i) for i in range(4)])
    off = FilterConfig(cut_histogram=0, cut_structure=0, duplicate_peak=0, static_peak=0)
    build_dataset([tmp_path / "seq"], tmp_path / "real", filters=off, progress=False)
    with pytest.raises(FileExistsError, match="not the synthetic one"):
        ensure_synthetic_dataset(tmp_path / "real", num_windows=4, progress=False)
