"""fbnet interpolate building blocks: scheduling, scene cuts, tiling, bounded streaming."""

from __future__ import annotations

import itertools
import threading
import time

import cv2
import numpy as np
import pytest

from fbnet.interpolate.background import BackgroundWriter, prefetch
from fbnet.interpolate.classical import AverageInterpolator, FlowInterpolator
from fbnet.interpolate.scene import cut_score, scene_features
from fbnet.interpolate.schedule import ScheduleConfig, StreamStats, interpolate_stream
from fbnet.interpolate.tiling import TiledInterpolator, auto_tile, axis_weights, tile_starts
from fbnet.interpolate.video_io import FrameSource
from fbnet.metrics import psnr
from tests.model_helpers import texture


def flat(value: int, size: int = 8) -> np.ndarray:
    return np.full((size, size, 3), value, np.uint8)


class Recording:
    """Average interpolator that records every call's batch size and times."""

    name = "recording"
    supports_time = True

    def __init__(self) -> None:
        self.calls: list[tuple[int, list[float]]] = []

    def interpolate(self, frame0, frame1, time):
        self.calls.append((frame0.shape[0], [float(t) for t in time]))
        return AverageInterpolator().interpolate(frame0, frame1, time)


def run(frames, config, interpolator=None):
    stats = StreamStats()
    out = list(interpolate_stream(frames, interpolator or AverageInterpolator(), config, stats))
    return out, stats


@pytest.mark.parametrize("direct", [False, True])
def test_factor_four_values_and_order(direct):
    config = ScheduleConfig(factor=4, batch_size=2, direct=direct, scene_threshold=None)
    out, stats = run([flat(0), flat(200), flat(120)], config)
    assert [int(frame[0, 0, 0]) for frame in out] == [0, 50, 100, 150, 200, 180, 160, 140, 120]
    assert stats.frames_in == 3 and stats.frames_out == 9


@pytest.mark.parametrize(("count", "factor", "batch"), [(2, 2, 1), (3, 8, 3), (7, 4, 2)])
def test_output_count_and_inputs_kept(count, factor, batch):
    frames = [texture(12, 10, seed) for seed in range(count)]
    config = ScheduleConfig(factor=factor, batch_size=batch, scene_threshold=None)
    out, _ = run(frames, config)
    assert len(out) == (count - 1) * factor + 1
    for i, frame in enumerate(frames):
        np.testing.assert_array_equal(out[i * factor], frame)


def test_recursive_asks_midpoints_and_direct_asks_each_time():
    frames = [texture(8, 8, seed) for seed in range(4)]
    recursive = Recording()
    run(frames, ScheduleConfig(factor=8, batch_size=4, scene_threshold=None), recursive)
    assert all(t == 0.5 for _, times in recursive.calls for t in times)
    assert sum(size for size, _ in recursive.calls) == 3 * 7  # 7 new frames per pair
    assert max(size for size, _ in recursive.calls) <= 4
    direct = Recording()
    run(frames, ScheduleConfig(factor=4, batch_size=5, direct=True, scene_threshold=None), direct)
    asked = sorted(t for _, times in direct.calls for t in times)
    assert asked == sorted([0.25, 0.5, 0.75] * 3)
    assert [size for size, _ in direct.calls] == [5, 4]


def test_schedule_config_rejects_bad_values():
    with pytest.raises(ValueError, match="power-of-two"):
        ScheduleConfig(factor=3)
    assert ScheduleConfig(factor=3, direct=True).times == [1 / 3, 2 / 3]
    with pytest.raises(ValueError, match="batch_size"):
        ScheduleConfig(batch_size=0)
    with pytest.raises(ValueError, match="scene_threshold"):
        ScheduleConfig(scene_threshold=0.0)


def test_stream_needs_two_frames_of_one_size():
    config = ScheduleConfig(scene_threshold=None)
    with pytest.raises(ValueError, match="no frames"):
        run([], config)
    with pytest.raises(ValueError, match="only 1 frame"):
        run([flat(3)], config)
    with pytest.raises(ValueError, match="shape"):
        run([flat(3), flat(3, size=10)], config)


def shot(seed: int, count: int, shift: int = 2) -> list[np.ndarray]:
    """A continuous shot: a texture panning ``shift`` px per frame."""
    base = texture(48, 64 + shift * count, seed, blur=2.0)
    return [base[:, i * shift : i * shift + 64] for i in range(count)]


def test_scene_cut_repeats_frames_instead_of_blending():
    first = shot(1, 3)
    second = [np.ascontiguousarray(255 - f[::-1]) for f in shot(2, 3)]  # other picture, colours
    config = ScheduleConfig(factor=4, batch_size=2)
    out, stats = run(first + second, config)
    assert stats.cuts == [2]
    across = out[2 * 4 : 3 * 4 + 1]  # frame 2, three new frames, frame 3
    for frame in across[1:3]:  # t = 0.25, 0.5 repeat frame 2
        np.testing.assert_array_equal(frame, first[2])
    np.testing.assert_array_equal(across[3], second[0])  # t = 0.75 repeats frame 3
    blended, no_detection = run(first + second, ScheduleConfig(factor=4, scene_threshold=None))
    assert no_detection.cuts == []
    assert not np.array_equal(blended[9], first[2])


def test_cut_score_separates_motion_from_cuts():
    frames = shot(3, 6, shift=6)
    scores = [
        cut_score(scene_features(a), scene_features(b)) for a, b in zip(frames[:-1], frames[1:])
    ]
    assert max(scores) < 0.08  # well under the 0.12 default threshold
    other = np.ascontiguousarray(255 - shot(4, 1)[0])
    assert cut_score(scene_features(frames[0]), scene_features(other)) > 0.12


def test_cuts_on_real_clips(shared_clips_dir):
    expected = {
        "megamind_cg_dialogue.avi": [0, 97, 153, 199],  # black frame 0, then three hard cuts
        "mecavideo_airtable_push.avi": [1],  # title card -> footage
        "mecavideo_cyclist_1.avi": [],  # fast motion, no cut
        "visp_cube_moving_camera.mpeg": [],  # textured camera motion, no cut
    }
    for name, cuts in expected.items():
        source = FrameSource(shared_clips_dir / name)
        features = [scene_features(frame) for frame in source]
        source.close()
        scores = [cut_score(a, b) for a, b in zip(features[:-1], features[1:])]
        assert [i for i, s in enumerate(scores) if s >= 0.12] == cuts, name


class Counting:
    """A generator of tiny frames that counts how many have been pulled."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pulled = 0

    def __iter__(self):
        for i in range(self.count):
            self.pulled += 1
            yield flat(i % 256, size=4)


def test_stream_holds_a_bounded_number_of_frames_on_a_long_video():
    source = Counting(10_000)
    config = ScheduleConfig(factor=4, batch_size=8, scene_threshold=None)
    stats = StreamStats()
    worst = 0
    for produced, _ in enumerate(interpolate_stream(source, AverageInterpolator(), config, stats)):
        worst = max(worst, source.pulled - produced // config.factor)
    assert stats.frames_in == 10_000 and stats.frames_out == 9_999 * 4 + 1
    assert worst <= config.batch_size + 2


def test_prefetch_stays_a_bounded_distance_ahead():
    source = Counting(1_000)
    frames = prefetch(source, maxsize=5)
    for consumed, _ in enumerate(itertools.islice(frames, 200), start=1):
        time.sleep(0.0005)
        assert source.pulled <= consumed + 5 + 1
    frames.close()  # stops the reader thread early
    assert source.pulled < 1_000
    assert not [t for t in threading.enumerate() if t.name == "frame-reader"]


def test_prefetch_and_writer_reraise_errors():
    def broken():
        yield flat(1)
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(prefetch(broken(), maxsize=2))
    written = []

    def write(item):
        if item == 3:
            raise OSError("full")
        written.append(item)

    writer = BackgroundWriter(write, maxsize=2)
    with pytest.raises((OSError, RuntimeError)):
        for item in range(100):
            writer.put(item)
        writer.close()
    assert written == [0, 1, 2]


def test_tile_layout_covers_with_overlap_and_weights_sum_to_one():
    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(1080, 256, 32)
    assert starts[0] == 0 and starts[-1] == 1080 - 256
    assert all(b - a <= 256 - 32 for a, b in zip(starts[:-1], starts[1:]))
    total = np.zeros(1080, np.float32)
    for start, weight in zip(starts, axis_weights(starts, 256)):
        total[start : start + 256] += weight
    np.testing.assert_allclose(total, 1.0, atol=1e-5)
    assert auto_tile(1080, 1920, 2.2) is None
    assert auto_tile(2160, 3840, 2.2) == 1024  # capped: the 2.2 MP budget alone gives 1472
    assert auto_tile(2160, 3840, 0.5) == 704  # the largest multiple of 64 within 0.5 MP


def test_tiles_reproduce_a_local_method_exactly():
    frame0, frame1 = texture(70, 90, 5)[None], texture(70, 90, 6)[None]
    whole = AverageInterpolator().interpolate(frame0, frame1, [0.3])
    tiled = TiledInterpolator(AverageInterpolator(), tile=32, overlap=8)
    np.testing.assert_allclose(tiled.interpolate(frame0, frame1, [0.3]), whole, atol=1e-5)


def zooming_pair(height: int, width: int, seed: int) -> tuple[np.ndarray, ...]:
    """Frames -1 and +1 of a slow zoom + rotation (motion varies over the frame), and frame 0."""
    margin = 100
    base = texture(height + 2 * margin, width + 2 * margin, seed, blur=4.0)
    centre = ((width + 2 * margin) / 2, (height + 2 * margin) / 2)
    frames = []
    for k in (-1, 0, 1):
        matrix = cv2.getRotationMatrix2D(centre, 0.25 * k, 1 + 0.004 * k)
        warped = cv2.warpAffine(base, matrix, base.shape[1::-1], flags=cv2.INTER_CUBIC)
        frames.append(np.ascontiguousarray(warped[None, margin:-margin, margin:-margin]))
    return frames[0], frames[1], frames[2]


@pytest.mark.slow
def test_tiled_flow_on_1080p_is_within_half_a_db_of_untiled():
    frame0, target, frame1 = zooming_pair(1080, 1920, seed=7)
    flow = FlowInterpolator(preset="fast")
    whole = flow.interpolate(frame0, frame1, [0.5])
    tiled = TiledInterpolator(flow, tile=512, overlap=64).interpolate(frame0, frame1, [0.5])
    assert tiled.shape == whole.shape == target.shape
    truth = target.astype(np.float32) / 255.0
    psnr_whole, psnr_tiled = float(psnr(truth, whole)[0]), float(psnr(truth, tiled)[0])
    assert psnr_whole > 30.0  # the flow method really tracks the motion here
    assert abs(psnr_whole - psnr_tiled) <= 0.5, (psnr_whole, psnr_tiled)
    average = float(psnr(truth, AverageInterpolator().interpolate(frame0, frame1, [0.5]))[0])
    assert psnr_tiled > average + 3.0
