"""Image and video reading for the whole project: one extension list, one converter, one decoder.

Dataset building (``fbnet data build``), ``fbnet interpolate`` and ``fbnet evaluate`` all read
frames through this module, so what one accepts the others accept too (a ``.ppm`` folder builds
a dataset and can be interpolated).

Conventions: frames come out as uint8 RGB ``[H, W, 3]`` (C-contiguous). OpenCV decodes to
BGR(A); :func:`to_rgb8` converts greyscale, grey+alpha and RGBA (alpha dropped) to RGB and
rescales 16-bit (``round(v / 257)``) and float (taken to be in [0, 1]) images to 8 bits.
Errors name the file (and the frame index inside a video).

Videos are decoded one frame at a time through OpenCV's FFmpeg backend (:class:`VideoReader`),
never whole: OpenCV reads the container's first video stream, whatever its index, and greyscale
streams come out as three equal channels. Container frame counts are only a hint (raw MPEG
elementary streams report 1, some AVI headers overstate), so readers loop until the decoder
stops, with a warning naming the file when it stops short of the container's count (a truncated
file keeps its decodable frames). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from natsort import natsorted

# Still-image suffixes (lower case), in the order a stem is looked up (``find_image``).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m2v", ".ogv", ".ogg"}
    | {".y4m", ".wmv", ".flv", ".ts", ".mts", ".m2ts", ".3gp", ".dv"}
)


def to_rgb8(image: np.ndarray | None, name: str = "image", *, bgr: bool = True) -> np.ndarray:
    """Convert a decoded image (2-D grey, or 1/2/3/4 channels; uint8, uint16 or float) to RGB8.

    ``None`` (what OpenCV returns for an undecodable image) is a ``ValueError``. ``bgr`` says
    the colour channels are in OpenCV's BGR order. 16-bit values become ``round(v / 257)``
    (65535 -> 255, exactly), float values ``round(clip(v, 0, 1) * 255)``. ``name`` is used in
    error messages.
    """
    if image is None:
        raise ValueError(f"{name}: cannot decode image")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{name}: unsupported image shape {image.shape}")
    if image.dtype == np.uint8:
        pass
    elif image.dtype == np.uint16:
        # round(v / 257) in integers: no ties exist, since 257 is odd.
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        image = np.round(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise ValueError(f"{name}: unsupported pixel type {image.dtype}")
    channels = image.shape[-1]
    if channels in (1, 2):  # grey, or grey + alpha
        image = np.repeat(image[..., :1], 3, axis=-1)
    else:
        image = image[..., :3]
        if bgr:
            image = image[..., ::-1]
    return np.ascontiguousarray(image)


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has one of ``IMAGE_EXTENSIONS`` (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_video_file(path: str | Path) -> bool:
    """Whether ``path`` has one of ``VIDEO_EXTENSIONS`` (any case)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def list_images(folder: str | Path) -> list[Path]:
    """The image files directly inside ``folder``, in natural order of their names."""
    files = [p for p in Path(folder).iterdir() if p.is_file() and is_image_file(p)]
    return natsorted(files, key=lambda p: p.name)


def find_image(folder: str | Path, stem: str) -> Path | None:
    """``folder/STEM.<ext>`` for the first image extension (lower or upper case) that exists."""
    folder = Path(folder)
    for suffix in IMAGE_EXTENSIONS:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 RGB ``[H, W, 3]``; clear errors for missing/unreadable files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError(f"cannot read image {path}: the file is empty, corrupt or not an image")
    return to_rgb8(image, str(path))


def _fourcc_text(code: float) -> str:
    value = int(code)
    text = "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() else ""


class VideoReader:
    """A video file decoded one frame at a time (uint8 RGB), with what its container claims.

    Opening decodes the first frame, so a missing file (``FileNotFoundError``), a file FFmpeg
    cannot open or one without a decodable frame (``ValueError``) fails here, naming the file.
    Iterate once; use as a context manager or call :meth:`close`.

    Attributes:
        path: the video file.
        first: the first frame.
        fps: the container's frame rate (``0.0`` when it reports none).
        claimed_frames: the container's frame count (``None`` when it reports none).
        fourcc: the codec's FourCC text (empty when unknown).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"video not found: {self.path}")
        self._capture: cv2.VideoCapture | None = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not self._capture.isOpened():
            self.close()
            raise ValueError(
                f"{self.path} is not a readable video: OpenCV/FFmpeg cannot decode this file"
            )
        ok, frame = self._capture.read()
        if not ok or frame is None:
            self.close()
            raise ValueError(
                f"{self.path} has no decodable video frames: no frame could be read (corrupt file?)"
            )
        self.first = to_rgb8(frame, f"{self.path} frame 0")
        native_fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = native_fps if np.isfinite(native_fps) and native_fps > 0 else 0.0
        claimed = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.claimed_frames = claimed if claimed > 0 else None
        self.fourcc = _fourcc_text(self._capture.get(cv2.CAP_PROP_FOURCC))

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.first
        index = 1
        while self._capture is not None:
            ok, frame = self._capture.read()
            if not ok or frame is None:
                if self.claimed_frames is not None and index < self.claimed_frames:
                    print(
                        f"warning: {self.path}: decoding stopped after {index} of the "
                        f"{self.claimed_frames} frames its container lists (truncated file?)",
                        file=sys.stderr,
                    )
                return
            yield to_rgb8(frame, f"{self.path} frame {index}")
            index += 1

    def count_remaining(self) -> int:
        """Frames left after the first, by grabbing (not decoding) them; consumes the reader."""
        count = 0
        while self._capture is not None and self._capture.grab():
            count += 1
        return count

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def iter_video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield every decodable frame of ``path`` as uint8 RGB, streaming.

    Raises FileNotFoundError for a missing file and ValueError when nothing can be decoded.
    """
    with VideoReader(path) as reader:
        yield from reader


def estimate_frame_count(path: str | Path) -> int:
    """The number of frames in ``path``: the container's figure, or a grab pass when it is absurd.

    Used only to place the validation segment, so an approximate answer is fine.
    """
    with VideoReader(path) as reader:
        if reader.claimed_frames is not None and reader.claimed_frames > 1:
            return reader.claimed_frames
        return 1 + reader.count_remaining()
