"""Frame transforms for dataset building: cover-resize and centre-crop, PNG encoding, sizes.

Frames are uint8 RGB ``[H, W, 3]``, as :mod:`data_pipeline.media` (which reads every image and
video of the project) returns them.
"""

from __future__ import annotations

import cv2
import numpy as np


def resize_and_crop(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Scale ``frame`` to cover ``size = (width, height)`` keeping its aspect, then centre-crop.

    ``None`` returns the frame unchanged. Downscaling uses area averaging, upscaling bicubic.
    """
    if size is None:
        return frame
    width, height = size
    src_h, src_w = frame.shape[:2]
    if (src_w, src_h) == (width, height):
        return frame
    scale = max(width / src_w, height / src_h)
    new_w = max(width, int(round(src_w * scale)))
    new_h = max(height, int(round(src_h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    resized = cv2.resize(frame, (new_w, new_h), interpolation=interpolation)
    top = (new_h - height) // 2
    left = (new_w - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def encode_png(frame: np.ndarray, compression: int = 1) -> bytes:
    """Losslessly encode an RGB8 frame as PNG bytes (low compression: fast to write and read)."""
    ok, buffer = cv2.imencode(
        ".png", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, compression]
    )
    if not ok:
        raise ValueError(f"PNG encoding failed for a frame of shape {frame.shape}")
    return buffer.tobytes()


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WIDTHxHEIGHT"`` (e.g. ``"448x256"``) into ``(width, height)``."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        width, height = (int(part) for part in parts)
    except ValueError:
        raise ValueError(f"size must look like 448x256 (WIDTHxHEIGHT), got {text!r}") from None
    if width < 2 or height < 2:
        raise ValueError(f"size must be at least 2x2, got {text!r}")
    return width, height
