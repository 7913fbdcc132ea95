"""The one image/video reader (data_pipeline.media) and dataset merging via the staged writer."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from data_pipeline import build_dataset, read_manifest
from data_pipeline.filters import FilterConfig
from data_pipeline.media import (
    IMAGE_EXTENSIONS,
    VideoReader,
    find_image,
    list_images,
    read_image,
    to_rgb8,
)
from data_pipeline.merge import merge_datasets
from data_pipeline.teacher_flow import TeacherFlowConfig, manifest_settings
from fbnet.cli import main as fbnet_main
from fbnet.interpolate.video_io import FrameSource
from tests.data_helpers import coded_frame, write_png_folder, write_video
from tests.model_helpers import REPO_ROOT

NO_FILTERS = FilterConfig(cut_histogram=0, cut_structure=0, duplicate_peak=0, static_peak=0)


def test_sixteen_bit_values_round_to_the_nearest_grey_level():
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    got = to_rgb8(values)
    want = np.round(values.astype(np.float64) / 257.0).astype(np.uint8)
    assert got.shape == (256, 256, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got[..., 0], want)
    assert got[0, 0, 0] == 0 and got[-1, -1, 0] == 255
    assert to_rgb8(np.array([[128, 129, 385, 386]], np.uint16))[0, :, 0].tolist() == [0, 1, 1, 2]


def test_sixteen_bit_png_reads_the_same_everywhere(tmp_path):
    rgb16 = np.random.default_rng(0).integers(0, 65536, (9, 11, 3)).astype(np.uint16)
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), rgb16[..., ::-1])
    want = np.round(rgb16 / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(read_image(path), want)
    source = FrameSource(tmp_path)  # fbnet interpolate's reader goes through the same code
    np.testing.assert_array_equal(next(iter(source)), want)


def test_conversions_and_errors_name_the_input():
    grey_alpha = np.stack([np.full((2, 2), 7, np.uint8), np.zeros((2, 2), np.uint8)], -1)
    assert to_rgb8(grey_alpha).tolist() == [[[7, 7, 7]] * 2] * 2
    bgra = np.array([[[1, 2, 3, 4]]], np.uint8)
    assert to_rgb8(bgra).tolist() == [[[3, 2, 1]]]
    assert to_rgb8(np.array([[[0.5, 1.5, -1.0]]])).tolist() == [[[0, 255, 128]]]
    with pytest.raises(ValueError, match="clip.png: cannot decode"):
        to_rgb8(None, "clip.png")
    with pytest.raises(ValueError, match="pixel type int32"):
        to_rgb8(np.zeros((2, 2, 3), np.int32))


def test_one_extension_list_for_folders_and_stems(tmp_path):
    assert ".ppm" in IMAGE_EXTENSIONS and IMAGE_EXTENSIONS[0] == ".png"
    write_png_folder(tmp_path, [coded_frame(i) for i in range(3)], pattern="f{}.ppm")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["f0.ppm", "f1.ppm", "f2.ppm"]
    assert find_image(tmp_path, "f1") == tmp_path / "f1.ppm"
    assert find_image(tmp_path, "missing") is None


def test_ppm_folder_builds_a_dataset_and_can_be_interpolated(tmp_path):
    frames = [coded_frame(i) for i in range(5)]
    write_png_folder(tmp_path / "seq", frames, pattern="frame{}.ppm")
    manifest = build_dataset(
        [tmp_path / "seq"], tmp_path / "data", val_fraction=0.0, filters=NO_FILTERS,
        progress=False,
    )  # fmt: skip
    assert manifest["splits"]["train"]["examples"] == 3
    out = tmp_path / "boosted"
    argv = ["interpolate", str(tmp_path / "seq"), "-o", str(out), "--model", "average"]
    assert fbnet_main([*argv, "--quiet"]) == 0
    written = sorted(out.iterdir())
    assert len(written) == 9
    np.testing.assert_array_equal(cv2.imread(str(written[0]))[..., ::-1], frames[0])


def test_video_reader_streams_and_names_bad_files(tmp_path):
    frames = [coded_frame(i, 32, 48) for i in range(4)]
    video = write_video(tmp_path / "clip.avi", frames, fps=12.0)
    with VideoReader(video) as reader:
        assert reader.fps == pytest.approx(12.0) and reader.fourcc == "MJPG"
        decoded = list(reader)
    assert len(decoded) == 4 and decoded[0].shape == (32, 48, 3)
    (tmp_path / "x.mp4").write_text("not a video")
    with pytest.raises(ValueError, match="x.mp4 is not a readable video"):
        VideoReader(tmp_path / "x.mp4")
    with pytest.raises(FileNotFoundError, match="gone.mp4"):
        VideoReader(tmp_path / "gone.mp4")


def _build(tmp_path, name, first, count=5, teacher_flow=None):
    write_png_folder(tmp_path / f"src-{name}", [coded_frame(first + i) for i in range(count)])
    return build_dataset(
        [tmp_path / f"src-{name}"], tmp_path / name, val_fraction=0.0, filters=NO_FILTERS,
        progress=False, teacher_flow=teacher_flow,
    )  # fmt: skip


def test_merge_goes_through_the_staged_writer_and_honours_overwrite(tmp_path):
    _build(tmp_path, "a", 0)
    _build(tmp_path, "b", 10, count=6)
    out = tmp_path / "merged"
    manifest = merge_datasets(out, [tmp_path / "a", tmp_path / "b"])
    assert manifest["splits"]["train"]["examples"] == 3 + 4
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "train-00000-of-00002.tfrecord",
        "train-00001-of-00002.tfrecord",
    ]
    assert [m["dir"] for m in manifest["merged_from"]] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert read_manifest(tmp_path / "a")["splits"]["train"]["examples"] == 3  # inputs untouched
    with pytest.raises(FileExistsError, match="--overwrite"):
        merge_datasets(out, [tmp_path / "a"])
    assert read_manifest(out)["splits"]["train"]["examples"] == 7  # the old merge is intact
    merge_datasets(out, [tmp_path / "a"], overwrite=True)
    assert read_manifest(out)["splits"]["train"]["examples"] == 3
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_merge_keeps_agreeing_teacher_flows_and_refuses_a_mix(tmp_path):
    teacher = TeacherFlowConfig()
    _build(tmp_path, "a", 0, teacher_flow=teacher)
    _build(tmp_path, "b", 10, teacher_flow=teacher)
    _build(tmp_path, "plain", 20)
    merged = merge_datasets(tmp_path / "ab", [tmp_path / "a", tmp_path / "b"])
    assert manifest_settings(merged) == manifest_settings(read_manifest(tmp_path / "a"))
    assert manifest_settings(merged)["method"] == "dis"
    with pytest.raises(ValueError, match="plain: teacher flows None"):
        merge_datasets(tmp_path / "mixed", [tmp_path / "a", tmp_path / "plain"])
    assert not (tmp_path / "mixed").exists()


def test_merge_script_refuses_an_existing_output_without_overwrite(tmp_path):
    _build(tmp_path, "a", 0)
    out = tmp_path / "merged"
    script = [sys.executable, str(REPO_ROOT / "scripts" / "merge_datasets.py"), str(out)]
    env_cwd = {"cwd": REPO_ROOT, "capture_output": True, "text": True}
    assert subprocess.run([*script, str(tmp_path / "a")], **env_cwd).returncode == 0
    refused = subprocess.run([*script, str(tmp_path / "a")], **env_cwd)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr
    again = subprocess.run([*script, str(tmp_path / "a"), "--overwrite"], **env_cwd)
    assert again.returncode == 0, again.stderr
