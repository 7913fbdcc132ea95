"""``interpolate_file``: decode -> interpolate -> encode, streamed, with an atomic output.

Three stages run concurrently with bounded queues between them (a reader thread, the model in
the calling thread, a writer thread), so memory stays flat whatever the video length. The
output goes to a temporary sibling and is renamed only after the last frame (and the audio) is
in, so an interrupted run never leaves a truncated file under the requested name.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fbnet.interpolate.audio import copy_audio_into
from fbnet.interpolate.background import BackgroundWriter, prefetch
from fbnet.interpolate.schedule import ScheduleConfig, StreamStats, interpolate_stream
from fbnet.interpolate.tiling import (
    DEFAULT_MAX_MEGAPIXELS,
    DEFAULT_OVERLAP,
    TiledInterpolator,
    auto_tile,
)
from fbnet.interpolate.video_io import (
    FolderWriter,
    FrameSource,
    check_target,
    commit,
    is_video_path,
    open_video_writer,
)


@dataclass(frozen=True)
class PipelineConfig:
    """Everything about one ``fbnet interpolate`` run except the model.

    Attributes:
        schedule: factor, batch size, direct time, scene-cut threshold.
        tile: tile size in pixels; ``None`` picks one when a frame exceeds ``max_megapixels``,
            0 never tiles.
        tile_overlap: minimum overlap between neighbouring tiles, in pixels.
        max_megapixels: frame size above which automatic tiling starts.
        fps: frame rate of an image-folder input (videos use their own unless this is set).
        copy_audio: copy the input's audio track into a video output (needs ffmpeg).
        overwrite: replace an existing output.
        progress: show a progress bar on stderr.
        queue_frames: frames buffered between the reader, model and writer stages.
    """

    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    tile: int | None = None
    tile_overlap: int = DEFAULT_OVERLAP
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    fps: float | None = None
    copy_audio: bool = True
    overwrite: bool = False
    progress: bool = True
    queue_frames: int = 16

    def __post_init__(self) -> None:
        if self.tile is not None and self.tile != 0 and self.tile < 2:
            raise ValueError(f"tile must be 0 (off), >= 2, or None (auto), got {self.tile}")
        if self.tile_overlap < 0:
            raise ValueError(f"tile_overlap must be >= 0, got {self.tile_overlap}")
        if self.max_megapixels <= 0:
            raise ValueError(f"max_megapixels must be > 0, got {self.max_megapixels}")
        if self.fps is not None and self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if self.queue_frames < 1:
            raise ValueError(f"queue_frames must be >= 1, got {self.queue_frames}")


def _progress_bar(total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit="frame", desc="interpolating", disable=not enabled, file=sys.stderr,
        dynamic_ncols=True, smoothing=0.1,
    )  # fmt: skip


def wrap_tiling(interpolator: Any, height: int, width: int, config: PipelineConfig) -> Any:
    """``interpolator`` as is, or tiled per ``config.tile`` / the megapixel budget."""
    tile = config.tile
    if tile is None:
        tile = auto_tile(height, width, config.max_megapixels)
    if not tile or (tile >= height and tile >= width):
        return interpolator
    return TiledInterpolator(interpolator, tile, min(config.tile_overlap, tile - 1))


def interpolate_file(
    source_path: str | Path, target_path: str | Path, interpolator: Any, config: PipelineConfig
) -> dict[str, Any]:
    """Write ``target_path`` (a video file or, without a video suffix, a PNG folder).

    Returns a summary: frame counts, detected cuts, output frame rate, whether audio was
    copied, and the wall time.
    """
    target = Path(target_path)
    check_target(target, config.overwrite)
    schedule = config.schedule
    if schedule.direct and not interpolator.supports_time:
        raise ValueError(
            f"model {interpolator.name} ignores its time input (its output does not change with "
            "t), so --direct-time would repeat one frame; use recursive midpoints instead"
        )
    source = FrameSource(source_path, fps=config.fps)
    info = source.info
    runner = wrap_tiling(interpolator, info.height, info.width, config)
    fps_out = info.fps * schedule.factor
    if is_video_path(target):
        writer: Any = open_video_writer(target, fps_out, info.height, info.width, info.fourcc)
    else:
        writer = FolderWriter(target)
    total = (info.frame_count - 1) * schedule.factor + 1 if info.frame_count else None
    stats = StreamStats()
    started = time.perf_counter()
    background = BackgroundWriter(writer.write, maxsize=config.queue_frames)
    try:
        with _progress_bar(total, config.progress) as bar:
            frames = prefetch(source, maxsize=config.queue_frames)
            try:
                for frame in interpolate_stream(frames, runner, schedule, stats):
                    background.put(frame)
                    bar.update(1)
            except ValueError as error:  # too few frames, a frame of another size: name the input
                if str(info.path) in str(error):
                    raise
                raise ValueError(f"{info.path}: {error}") from error
        background.close()
        written = writer.close()
        audio = False
        if config.copy_audio and not info.is_folder and is_video_path(target):
            audio = copy_audio_into(written, info.path)
        commit(written, target)
    except BaseException:
        background.abort()
        writer.discard()
        raise
    finally:
        source.close()
    return {
        "input": str(info.path),
        "output": str(target),
        "model": runner.name,
        "frames_in": stats.frames_in,
        "frames_out": stats.frames_out,
        "factor": schedule.factor,
        "fps_in": info.fps,
        "fps_out": fps_out,
        "scene_cuts": stats.cuts,
        "tile": getattr(runner, "tile", None),
        "codec": getattr(writer, "fourcc", "png"),
        "audio_copied": audio,
        "seconds": round(time.perf_counter() - started, 3),
    }
