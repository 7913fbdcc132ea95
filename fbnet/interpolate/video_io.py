"""Streaming frame sources (video file or image folder) and writers (video file or PNG folder).

Frames are uint8 RGB ``[H, W, 3]``, read through :mod:`data_pipeline.media` (the project's one
image/video reader: grey, grey+alpha, BGRA and 16-bit images become 8-bit RGB). Writers always
write to a temporary name beside the target (``.NAME.partial...``) and :func:`commit` renames it
at the end, so an interrupted run leaves no file that looks complete.

Video codecs: the output container is chosen by the output suffix; within it the input's codec
family is preferred when it can be encoded (H.264 input -> H.264 through the ffmpeg command line
when it has libx264, else MPEG-4 Part 2 ``mp4v``; MPEG-4 Part 2 -> ``mp4v``/``XVID``; MJPEG ->
``MJPG``; VP8/VP9 -> same), see :func:`open_video_writer`.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from data_pipeline.media import IMAGE_EXTENSIONS, VideoReader, list_images, read_image

CONTAINER_CODECS = {
    ".mp4": ("avc1", "mp4v"),
    ".m4v": ("avc1", "mp4v"),
    ".mov": ("avc1", "mp4v"),
    ".avi": ("MJPG", "XVID", "FFV1"),
    ".mkv": ("avc1", "VP90", "mp4v", "FFV1", "MJPG"),
    ".webm": ("VP90", "VP80"),
}
_CODEC_FAMILIES = {
    "avc1": ("avc1", "h264", "x264", "H264", "X264", "AVC1"),
    "mp4v": ("mp4v", "FMP4", "XVID", "DIVX", "DX50", "MP4V", "xvid", "divx"),
    "XVID": ("XVID", "FMP4", "DIVX", "DX50", "mp4v", "MP4V"),
    "MJPG": ("MJPG", "mjpg", "MJPEG"),
    "VP90": ("VP90", "vp09", "VP9"),
    "VP80": ("VP80", "vp08", "VP8"),
    "FFV1": ("FFV1", "ffv1"),
}
DEFAULT_FOLDER_FPS = 25.0


@dataclass(frozen=True)
class SourceInfo:
    """What is known about an input before decoding it all.

    ``frame_count`` is the container's claim (``None`` when unknown); only the progress bar
    uses it. ``fourcc`` is empty for image folders.
    """

    path: Path
    is_folder: bool
    height: int
    width: int
    fps: float
    frame_count: int | None
    fourcc: str


class FrameSource:
    """Frames of a video file or an image folder, decoded one at a time (RGB uint8).

    Opening reads the first frame, so an unreadable or empty input fails here with a
    ``ValueError`` naming it. Iterate once; frames of a different size are an error.
    """

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"input {self.path} does not exist")
        self._video: VideoReader | None = None
        if self.path.is_dir():
            self._files = list_images(self.path)
            if not self._files:
                raise ValueError(f"input folder {self.path} has no images {IMAGE_EXTENSIONS}")
            self._first = read_image(self._files[0])
            height, width = self._first.shape[:2]
            self.info = SourceInfo(
                self.path, True, height, width, fps or DEFAULT_FOLDER_FPS, len(self._files), ""
            )
            return
        self._video = VideoReader(self.path)
        self._first = self._video.first
        height, width = self._first.shape[:2]
        if fps is None and not self._video.fps:
            self.close()
            raise ValueError(f"input {self.path} reports no frame rate; pass --fps")
        self.info = SourceInfo(
            self.path,
            False,
            height,
            width,
            float(fps or self._video.fps),
            self._video.claimed_frames,
            self._video.fourcc,
        )

    def _check_size(self, frame: np.ndarray, where: str) -> np.ndarray:
        if frame.shape[:2] != (self.info.height, self.info.width):
            raise ValueError(
                f"{where}: frame size {frame.shape[1]}x{frame.shape[0]} differs from the first "
                f"frame's {self.info.width}x{self.info.height}"
            )
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._video is not None:
            for frame in self._video:
                yield self._check_size(frame, str(self.path))
            return
        yield self._first
        for path in self._files[1:]:
            yield self._check_size(read_image(path), str(path))

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None


def is_video_path(path: str | Path) -> bool:
    """True when ``path`` names a video container this module can write."""
    return Path(path).suffix.lower() in CONTAINER_CODECS


def codec_candidates(suffix: str, input_fourcc: str = "") -> list[str]:
    """FourCCs to try for a container, the input's codec family first when it fits."""
    suffix = suffix.lower()
    if suffix not in CONTAINER_CODECS:
        raise ValueError(
            f"unsupported output container {suffix!r}; use one of {sorted(CONTAINER_CODECS)} "
            "or a folder name (no suffix) for PNG frames"
        )
    allowed = CONTAINER_CODECS[suffix]
    preferred = [code for code in allowed if input_fourcc in _CODEC_FAMILIES.get(code, ())]
    return preferred + [code for code in allowed if code not in preferred]


def partial_path(target: Path) -> Path:
    """The temporary sibling a writer fills before :func:`commit` renames it to ``target``."""
    return target.with_name(f".{target.stem}.partial{target.suffix}")


class VideoWriter:
    """Encode RGB frames with OpenCV's ``fourcc`` codec into ``path``.

    ``ValueError`` if this OpenCV build cannot encode it. Odd widths/heights are padded by one
    edge row/column (encoders need even sizes).
    """

    def __init__(self, path: str | Path, fps: float, height: int, width: int, fourcc: str) -> None:
        self.path = Path(path)
        self.pad = (height % 2, width % 2)
        self.fourcc = fourcc
        size = (width + self.pad[1], height + self.pad[0])
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        code = cv2.VideoWriter_fourcc(*fourcc)
        try:
            self._writer = cv2.VideoWriter(str(self.path), code, fps, size)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not self._writer.isOpened():
            self._writer.release()
            self.path.unlink(missing_ok=True)
            raise ValueError(f"OpenCV cannot encode {fourcc!r} into {self.path.suffix}")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if any(self.pad):
            frame = np.pad(frame, ((0, self.pad[0]), (0, self.pad[1]), (0, 0)), mode="edge")
        self._writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file; ``OSError`` if it holds fewer frames than were written.

        OpenCV's writer only logs failed writes (a full disk, say), so the file is read back.
        """
        self._writer.release()
        capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        found = 0
        while found < self.frames and capture.grab():
            found += 1
        capture.release()
        if found < self.frames:
            raise OSError(
                f"could not write {self.path}: it holds {found} of {self.frames} frames "
                "(disk full?)"
            )
        return self.path

    def discard(self) -> None:
        self._writer.release()
        self.path.unlink(missing_ok=True)


def open_video_writer(
    target: str | Path, fps: float, height: int, width: int, input_fourcc: str = ""
) -> Any:
    """A writer filling ``partial_path(target)`` with the best codec for the container.

    H.264 goes through the ffmpeg command line (``libx264``) when it is installed, since pip's
    OpenCV cannot encode it; everything else through OpenCV.
    """
    from fbnet.interpolate.ffmpeg_writer import FfmpegWriter, ffmpeg_encoders

    target = Path(target)
    path = partial_path(target)
    if height % 2 or width % 2:
        print(
            f"warning: {width}x{height} is odd; the video is padded to "
            f"{width + width % 2}x{height + height % 2} (encoders need even sizes)",
            file=sys.stderr,
        )
    encoders = None
    for code in codec_candidates(target.suffix, input_fourcc):
        if code == "avc1":
            encoders = ffmpeg_encoders() if encoders is None else encoders
            if "libx264" in encoders:
                return FfmpegWriter(path, fps, height, width, "libx264")
        try:
            return VideoWriter(path, fps, height, width, code)
        except ValueError:
            continue
    raise ValueError(f"no available encoder can write {target}")


class FolderWriter:
    """Write RGB frames as ``frame_000000.png``, ... into ``partial_path(target)``."""

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        self.path = partial_path(self.target)
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        name = self.path / f"frame_{self.frames:06d}.png"
        if not cv2.imwrite(str(name), np.ascontiguousarray(frame[:, :, ::-1])):
            raise OSError(f"could not write {name}")
        self.frames += 1

    def close(self) -> Path:
        return self.path

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def check_target(target: str | Path, overwrite: bool) -> None:
    """``FileExistsError`` if ``target`` exists and ``overwrite`` is off."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"output {target} exists; pass --overwrite to replace it")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"output folder {target.parent} does not exist")


def commit(written: Path, target: Path) -> None:
    """Move a finished temporary output to ``target``, replacing an older one."""
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(written, target)
        shutil.rmtree(old, ignore_errors=True)
        return
    if written.is_dir() and (target.exists() or target.is_symlink()):
        target.unlink()
    os.replace(written, target)
