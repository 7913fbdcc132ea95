"""Frame sources: image conversion, image folders, videos (incl. .y4m), Vimeo90K layouts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from data_pipeline.images import parse_size, resize_and_crop
from data_pipeline.media import estimate_frame_count, iter_video_frames, read_image
from data_pipeline.sources import discover_clips
from tests.data_helpers import (
    coded_frame,
    frame_number,
    moving_frames,
    write_png_folder,
    write_raw_png,
    write_video,
    write_vimeo,
    write_y4m,
)


def test_grey_rgba_and_16_bit_pngs_are_converted(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    out = read_image(tmp_path / "grey.png")
    assert out.shape == (3, 4, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=-1))

    bgra = np.zeros((3, 4, 4), np.uint8)
    bgra[...] = (10, 20, 30, 0)  # fully transparent: colour is kept, alpha dropped
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png")[0, 0], [30, 20, 10])

    deep = np.zeros((3, 4, 3), np.uint16)
    deep[...] = (65535, 257 * 100, 0)  # BGR on disk
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    out = read_image(tmp_path / "deep.png")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], [0, 100, 255])

    grey_alpha = np.zeros((3, 4, 2), np.uint16)
    grey_alpha[..., 0] = 257 * 7
    grey_alpha[..., 1] = 1000
    write_raw_png(tmp_path / "ga16.png", grey_alpha, color_type=4)
    np.testing.assert_array_equal(read_image(tmp_path / "ga16.png")[1, 1], [7, 7, 7])

    rgba16 = np.zeros((3, 4, 4), np.uint16)
    rgba16[...] = (0, 257 * 50, 65535, 12)  # RGBA on disk
    write_raw_png(tmp_path / "rgba16.png", rgba16, color_type=6)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba16.png")[2, 3], [0, 50, 255])


def test_unreadable_and_missing_images_raise_naming_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="broken.png"):
        read_image(bad)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(tmp_path / "missing.png")


def test_resize_and_crop_covers_then_centres():
    frame = coded_frame(0, height=40, width=100)
    out = resize_and_crop(frame, (20, 20))
    assert out.shape == (20, 20, 3)
    # scale 0.5 -> 50x20, centre crop keeps columns 15..34 of the half-size image
    half = cv2.resize(frame, (50, 20), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(out, half[:, 15:35])
    assert resize_and_crop(frame, None) is frame
    assert parse_size("448x256") == (448, 256)
    with pytest.raises(ValueError, match="448x256"):
        parse_size("448")


def test_image_folder_is_read_in_natural_order(tmp_path):
    frames = [coded_frame(i) for i in range(12)]
    write_png_folder(tmp_path / "seq", frames, pattern="f{}.png")  # f2.png sorts before f10.png
    (tmp_path / "seq" / "notes.txt").write_text("ignored")
    (clip,) = discover_clips([tmp_path / "seq"])
    assert clip.kind == "images" and clip.estimated_frames() == 12
    numbers = [frame_number(frame) for frame in clip.frames()]
    assert numbers == list(range(12))


def test_image_folder_with_mixed_sizes_is_refused(tmp_path):
    frames = [coded_frame(0), coded_frame(1), coded_frame(2, height=20)]
    write_png_folder(tmp_path / "seq", frames)
    (clip,) = discover_clips([tmp_path / "seq"])
    with pytest.raises(ValueError, match="frame2.png.*differs"):
        list(clip.frames())


def test_image_folder_with_an_unreadable_image_names_it(tmp_path):
    write_png_folder(tmp_path / "seq", [coded_frame(0), coded_frame(1)])
    (tmp_path / "seq" / "frame2.png").write_bytes(b"garbage")
    (clip,) = discover_clips([tmp_path / "seq"])
    with pytest.raises(ValueError, match="frame2.png"):
        list(clip.frames())


def test_video_streams_every_frame(tmp_path):
    frames = moving_frames(9, height=32, width=48)
    path = write_video(tmp_path / "clip.avi", frames)
    decoded = list(iter_video_frames(path))
    assert len(decoded) == 9 and estimate_frame_count(path) == 9
    assert decoded[0].shape == (32, 48, 3) and decoded[0].dtype == np.uint8
    for got, want in zip(decoded, frames):  # MJPG (chroma subsampled): close, not exact
        error = np.abs(got.astype(int) - want).mean()
        swapped = np.abs(got.astype(int) - want[..., ::-1]).mean()  # BGR/RGB mix-up
        assert error < 10.0 and swapped > 2 * error
    (clip,) = discover_clips([path])
    assert clip.kind == "video" and clip.clip_id == "clip.avi"


def test_y4m_is_decoded_through_opencv(tmp_path):
    frames = [np.full((16, 24, 3), 40 * i, np.uint8) for i in range(4)]
    path = write_y4m(tmp_path / "clip.y4m", frames)
    decoded = list(iter_video_frames(path))
    assert len(decoded) == 4
    means = [frame.mean() for frame in decoded]
    assert np.all(np.diff(means) > 20)


def test_corrupt_and_missing_videos_raise_clear_errors(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 2000)
    with pytest.raises(ValueError, match="broken.mp4"):
        list(iter_video_frames(bad))
    with pytest.raises(FileNotFoundError, match="nothere.mp4"):
        discover_clips([tmp_path / "nothere.mp4"])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not a video"):
        discover_clips([tmp_path / "notes.txt"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no video files"):
        discover_clips([tmp_path / "empty"])


def test_folder_of_videos_and_sequences_expands_with_unique_ids(tmp_path):
    (tmp_path / "a").mkdir()
    write_video(tmp_path / "a" / "x.avi", moving_frames(4))
    write_png_folder(tmp_path / "a" / "shots", [coded_frame(i) for i in range(3)])
    (tmp_path / "b").mkdir()
    write_video(tmp_path / "b" / "x.avi", moving_frames(4))
    clips = discover_clips([tmp_path / "a", tmp_path / "b" / "x.avi"])
    assert [c.kind for c in clips] == ["images", "video", "video"]
    assert len({c.clip_id for c in clips}) == 3


def test_vimeo_triplet_layout_keeps_the_official_split(tmp_path):
    root = write_vimeo(
        tmp_path / "vimeo_triplet", "tri", ["00001/0001", "00001/0002"], ["00002/0001"]
    )
    clips = discover_clips([root], window=3)
    assert [(c.clip_id, c.split) for c in clips] == [
        ("vimeo/00001/0001", "train"),
        ("vimeo/00001/0002", "train"),
        ("vimeo/00002/0001", "val"),
    ]
    frames = list(clips[2].frames())
    assert [frame_number(f) for f in frames] == [6, 7, 8]
    with pytest.raises(ValueError, match="septuplet"):
        discover_clips([root], window=7)


def test_vimeo_septuplet_layout_and_missing_frames(tmp_path):
    root = write_vimeo(tmp_path / "vimeo_septuplet", "sep", ["00001/0001"], ["00001/0002"])
    clips = discover_clips([root], window=7)
    assert [c.split for c in clips] == ["train", "val"]
    assert len(clips[0].frame_paths) == 7
    (root / "sequences" / "00001" / "0002" / "im5.png").unlink()
    with pytest.raises(FileNotFoundError, match="im5.png"):
        discover_clips([root], window=7)
