"""IO faults of the long-running commands: each is reported clearly, and nothing that looks
complete is left behind.

TFRecord write errors become ``OSError`` naming the shard, the CLIs print ``OSError`` as one line
(exit code 1), a video that decodes short of its container's frame count is reported, and a
video file missing frames after writing is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_pipeline.media import VideoReader
from fbnet.cli import main as fbnet_main
from tests.data_helpers import moving_frames, write_video

REPO = Path(__file__).resolve().parents[1]


def test_tfrecord_write_errors_become_os_errors_naming_the_shard(tmp_path: Path) -> None:
    from data_pipeline.writer import _SplitWriter

    writer = _SplitWriter(tmp_path / "gone", "train", shard_bytes=1 << 20)
    with pytest.raises(OSError, match=r"cannot write .*gone.*train-00000\.partial"):
        writer.write(b"record")


def test_cli_reports_os_errors_in_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import data_pipeline.summary

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", "/data/train-00000.partial")

    monkeypatch.setattr(data_pipeline.summary, "inspect_dataset", full)
    assert fbnet_main(["data", "inspect", "/data"]) == 1
    err = capsys.readouterr().err
    assert "fbnet data: error: [Errno 28] No space left on device: '/data/train-00000" in err


def test_truncated_video_is_reported_naming_the_file(tmp_path: Path, capsys) -> None:
    whole = write_video(tmp_path / "whole.avi", moving_frames(24))
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    with VideoReader(whole) as reader:
        assert len(list(reader)) == 24
    assert "truncated" not in capsys.readouterr().err
    with VideoReader(cut) as reader:
        kept = len(list(reader))
    assert 0 < kept < 24
    assert f"{cut}: decoding stopped after {kept} of the 24 frames" in capsys.readouterr().err


def test_video_writer_refuses_a_file_missing_frames(tmp_path: Path) -> None:
    from fbnet.interpolate.video_io import VideoWriter

    writer = VideoWriter(tmp_path / "out.avi", 10.0, 48, 64, "MJPG")
    for frame in moving_frames(3):
        writer.write(frame)
    writer.frames += 2  # as if two writes had failed silently (OpenCV only logs them)
    with pytest.raises(OSError, match=r"out\.avi: it holds 3 of 5 frames"):
        writer.close()

    complete = VideoWriter(tmp_path / "ok.avi", 10.0, 48, 64, "MJPG")
    for frame in moving_frames(3):
        complete.write(np.asarray(frame))
    assert complete.close() == tmp_path / "ok.avi"
