"""fbnet interpolate end to end: containers, codecs, folders, audio, bad inputs, atomic output."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from fbnet import pretrained
from fbnet.cli import main as fbnet_main
from fbnet.interpolate.audio import has_audio
from fbnet.interpolate.classical import AverageInterpolator
from fbnet.interpolate.pipeline import PipelineConfig, interpolate_file
from fbnet.interpolate.schedule import ScheduleConfig
from tests.model_helpers import texture

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def pan(count: int, height: int = 48, width: int = 64, step: int = 2) -> list[np.ndarray]:
    base = texture(height, width + step * count, seed=11, blur=2.5)
    return [np.ascontiguousarray(base[:, i * step : i * step + width]) for i in range(count)]


def write_video(path: Path, frames: list[np.ndarray], fourcc: str, fps: float = 10.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
    writer.release()
    return path


def read_video(path: Path) -> tuple[list[np.ndarray], float, str]:
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame[:, :, ::-1])
    capture.release()
    return frames, fps, code.to_bytes(4, "little").decode(errors="replace")


def cli(*argv: str) -> int:
    return fbnet_main(["interpolate", *argv, "--quiet"])


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".partial" in p.name or ".audio" in p.name]


CODEC_CASES = [(".mp4", "mp4v", ("FMP4", "mp4v")), (".avi", "MJPG", ("MJPG",))]


@pytest.mark.parametrize(("suffix", "fourcc", "family"), CODEC_CASES)
def test_video_in_video_out_keeps_codec_family_and_quadruples_rate(
    tmp_path, capsys, suffix, fourcc, family
):
    source = write_video(tmp_path / f"in{suffix}", pan(6), fourcc, fps=12.0)
    target = tmp_path / f"out{suffix}"
    assert cli(str(source), "-o", str(target), "--model", "average", "--factor", "4") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames_in"] == 6 and summary["frames_out"] == 21
    frames, fps, code = read_video(target)
    assert len(frames) == 21 and frames[0].shape == (48, 64, 3)
    assert fps == pytest.approx(48.0, rel=1e-3)
    assert code in family
    assert leftovers(tmp_path) == []


def test_folder_of_grey_odd_sized_frames_to_png_folder(tmp_path):
    frames = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in pan(4, height=37, width=53)]
    source = tmp_path / "frames"
    source.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(source / f"img{i + 1}.png"), frame)  # natural order: img1 .. img4
    target = tmp_path / "boosted"
    assert cli(str(source), "-o", str(target), "--model", "average", "--factor", "2") == 0
    written = sorted(target.iterdir())
    assert len(written) == 7
    for i, frame in enumerate(frames):
        out = cv2.imread(str(written[2 * i]), cv2.IMREAD_UNCHANGED)
        assert out.shape == (37, 53, 3)
        for channel in range(3):
            np.testing.assert_array_equal(out[:, :, channel], frame)
    middle = cv2.imread(str(written[1]), cv2.IMREAD_GRAYSCALE).astype(int)
    want = (frames[0].astype(int) + frames[1].astype(int)) / 2
    assert np.abs(middle - want).max() <= 0.5


def test_odd_sized_frames_to_video_are_padded_to_even(tmp_path, capsys):
    source = tmp_path / "frames"
    source.mkdir()
    for i, frame in enumerate(pan(3, height=37, width=53)):
        cv2.imwrite(str(source / f"{i:03d}.png"), frame[:, :, ::-1])
    target = tmp_path / "out.avi"
    assert cli(str(source), "-o", str(target), "--model", "average", "--fps", "8") == 0
    assert "padded to 54x38" in capsys.readouterr().err
    frames, fps, _ = read_video(target)
    assert len(frames) == 5 and frames[0].shape == (38, 54, 3) and fps == pytest.approx(16.0)


def unreadable_file(folder: Path) -> Path:
    (folder / "x.mp4").write_text("not a video")
    return folder / "x.mp4"


def empty_folder(folder: Path) -> Path:
    (folder / "empty").mkdir()
    return folder / "empty"


def zero_frame_video(folder: Path) -> Path:
    fourcc = cv2.VideoWriter_fourcc(*"MJPG")
    cv2.VideoWriter(str(folder / "zero.avi"), fourcc, 10, (64, 48)).release()
    return folder / "zero.avi"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (unreadable_file, "x.mp4 is not a readable video"),
        (empty_folder, "empty has no images"),
        (zero_frame_video, "zero.avi"),
        (lambda folder: write_video(folder / "one.avi", pan(1), "MJPG"), "only 1 frame"),
        (lambda folder: folder / "missing.mp4", "missing.mp4 does not exist"),
    ],
    ids=["unreadable", "empty-folder", "zero-frames", "one-frame", "missing"],
)
def test_bad_inputs_fail_clearly_and_leave_nothing(tmp_path, capsys, make, message):
    source = make(tmp_path)
    target = tmp_path / "out.avi"
    assert cli(str(source), "-o", str(target), "--model", "average") == 2
    assert message in capsys.readouterr().err
    assert not target.exists() and leftovers(tmp_path) == []


def test_existing_output_needs_overwrite(tmp_path, capsys):
    source = write_video(tmp_path / "in.avi", pan(3), "MJPG")
    target = tmp_path / "out.avi"
    target.write_text("old")
    assert cli(str(source), "-o", str(target), "--model", "average") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert cli(str(source), "-o", str(target), "--model", "average", "--overwrite") == 0
    assert len(read_video(target)[0]) == 5


class FailsLater:
    name = "fails"
    supports_time = True

    def __init__(self, calls_before_failure: int) -> None:
        self.left = calls_before_failure

    def interpolate(self, frame0, frame1, time):
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run
        return AverageInterpolator().interpolate(frame0, frame1, time)


@pytest.mark.parametrize("target_name", ["out.mp4", "out_frames"])
def test_interrupted_run_leaves_no_output(tmp_path, target_name):
    source = write_video(tmp_path / "in.avi", pan(12), "MJPG")
    config = PipelineConfig(schedule=ScheduleConfig(batch_size=2), progress=False)
    with pytest.raises(KeyboardInterrupt):
        interpolate_file(source, tmp_path / target_name, FailsLater(3), config)
    assert not (tmp_path / target_name).exists()
    assert leftovers(tmp_path) == []


def test_progress_bar_shows_rate(tmp_path, capsys):
    source = write_video(tmp_path / "in.avi", pan(4), "MJPG")
    argv = ["interpolate", str(source), "-o", str(tmp_path / "o.avi"), "--model", "average"]
    assert fbnet_main(argv) == 0
    err = capsys.readouterr().err
    assert "7/7" in err and "frame/s" in err


def test_tiling_option_is_applied(tmp_path, capsys):
    source = tmp_path / "frames"
    source.mkdir()
    for i, frame in enumerate(pan(2, height=40, width=100)):
        cv2.imwrite(str(source / f"{i}.png"), frame[:, :, ::-1])
    untiled, tiled = tmp_path / "a", tmp_path / "b"
    assert cli(str(source), "-o", str(untiled), "--model", "average", "--tile", "0") == 0
    assert json.loads(capsys.readouterr().out)["tile"] is None
    assert cli(str(source), "-o", str(tiled), "--model", "average", "--tile", "32") == 0
    assert json.loads(capsys.readouterr().out)["tile"] == 32
    for a, b in zip(sorted(untiled.iterdir()), sorted(tiled.iterdir())):
        assert np.abs(cv2.imread(str(a)).astype(int) - cv2.imread(str(b)).astype(int)).max() <= 1


def test_missing_pretrained_model_says_to_pass_model(tmp_path, capsys, monkeypatch):
    # An install without shipped weights: point the shipped folder at an empty one.
    monkeypatch.setattr(pretrained, "pretrained_dir", lambda: tmp_path / "no-pretrained")
    source = write_video(tmp_path / "in.avi", pan(3), "MJPG")
    assert cli(str(source), "-o", str(tmp_path / "out.avi")) == 2
    assert "pass --model" in capsys.readouterr().err


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
def test_audio_track_is_copied(tmp_path):
    source = tmp_path / "with_audio.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", "1",
         "-c:v", "mpeg4", "-c:a", "aac", str(source)],
        check=True,
    )  # fmt: skip
    assert has_audio(source)
    target = tmp_path / "out.mp4"
    config = PipelineConfig(progress=False)
    summary = interpolate_file(source, target, AverageInterpolator(), config)
    assert summary["audio_copied"] and has_audio(target)
    frames, fps, _ = read_video(target)
    assert len(frames) == 2 * summary["frames_in"] - 1 and fps == pytest.approx(20.0)
    assert leftovers(tmp_path) == []
    silent = tmp_path / "silent.mp4"
    no_audio = PipelineConfig(progress=False, copy_audio=False)
    assert not interpolate_file(source, silent, AverageInterpolator(), no_audio)["audio_copied"]
    assert not has_audio(silent)


def test_exported_and_keras_models_drive_the_pipeline(tmp_path, capsys):
    from fbnet.export.saved_model import export_saved_model
    from tests.model_helpers import tiny_model

    model = tiny_model()
    model_file = tmp_path / "tiny.keras"
    model.save(model_file)
    export_base = tmp_path / "serving"
    export_saved_model(model, export_base)
    source = write_video(tmp_path / "in.avi", pan(3), "MJPG")
    outputs = []
    for name, spec, runner in (("k", model_file, "tiny"), ("s", export_base, "saved_model:")):
        target = tmp_path / name
        assert cli(str(source), "-o", str(target), "--model", str(spec), "--factor", "2") == 0
        assert json.loads(capsys.readouterr().out)["model"].startswith(runner)
        outputs.append([cv2.imread(str(p)).astype(int) for p in sorted(target.iterdir())])
    assert len(outputs[0]) == 5
    for a, b in zip(*outputs):
        assert np.abs(a - b).max() <= 1


def test_direct_time_needs_a_model_that_uses_time(tmp_path, capsys):
    from tests.model_helpers import tiny_model

    source = write_video(tmp_path / "in.avi", pan(3), "MJPG")
    aware = tmp_path / "aware.keras"
    tiny_model().save(aware)
    argv = ["--factor", "4", "--direct-time"]
    assert cli(str(source), "-o", str(tmp_path / "a"), "--model", str(aware), *argv) == 0
    assert json.loads(capsys.readouterr().out)["frames_out"] == 9
    from fbnet.models.registry import build_model

    params = {"expansion_filters": 4, "spatial_filters": [4], "spatial_kernel_sizes": [3],
              "head_filters": [4], "output_activation": "sigmoid"}  # fmt: skip
    blind = build_model("deep_cnn", **params)  # its docstring: "time is ignored"
    frames = np.zeros((1, 8, 8, 3), np.float32)
    blind({"frame0": frames, "frame1": frames, "time": np.full((1,), 0.5, np.float32)})
    blind.save(tmp_path / "blind.keras")
    target = tmp_path / "b"
    assert cli(str(source), "-o", str(target), "--model", str(tmp_path / "blind.keras"), *argv) == 2
    assert "ignores its time input" in capsys.readouterr().err
    assert not target.exists() and leftovers(tmp_path) == []


def ffprobe_stream(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height,nb_frames", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(result.stdout)["streams"][0]


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
def test_h264_input_gives_h264_output_through_ffmpeg(tmp_path, capsys):
    from fbnet.interpolate.ffmpeg_writer import ffmpeg_encoders

    if "libx264" not in ffmpeg_encoders():
        pytest.skip("ffmpeg has no libx264")
    source = tmp_path / "h264.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
         "-t", "0.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(source)],
        check=True,
    )  # fmt: skip
    target = tmp_path / "out.mp4"
    assert cli(str(source), "-o", str(target), "--model", "average") == 0
    assert json.loads(capsys.readouterr().out)["codec"] == "avc1"
    stream = ffprobe_stream(target)
    assert stream["codec_name"] == "h264" and (stream["width"], stream["height"]) == (64, 48)
    assert int(stream["nb_frames"]) == 9
    odd = tmp_path / "odd"
    odd.mkdir()
    for i, frame in enumerate(pan(2, height=37, width=53)):
        cv2.imwrite(str(odd / f"{i}.png"), frame[:, :, ::-1])
    assert cli(str(odd), "-o", str(tmp_path / "odd.mp4"), "--model", "average") == 0
    stream = ffprobe_stream(tmp_path / "odd.mp4")
    assert (stream["width"], stream["height"]) == (54, 38) and int(stream["nb_frames"]) == 3
    assert leftovers(tmp_path) == []
