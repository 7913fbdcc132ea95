"""``build_dataset``: turn videos, image folders or Vimeo90K into TFRecord shards + manifest.

Frames stream from each clip through an optional resize/centre-crop (``size = (width, height)``),
the window filters and the split, and are written as PNG windows (see ``tfrecord_format``).
Validation data is the tail segment of each clip (``split_by="segment"``, the default) or whole
clips (``split_by="clip"``); Vimeo90K sequences keep the split of the official lists. All frames of
a dataset must share one size: pass ``size`` when sources differ. With ``teacher_flow`` each
window also stores OpenCV DIS teacher flows (:mod:`data_pipeline.teacher_flow`).
"""

from __future__ import annotations

import time
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from data_pipeline.filters import FILTER_NAMES, FilterConfig
from data_pipeline.images import encode_png, resize_and_crop
from data_pipeline.manifest import FORMAT, SPLITS, VERSION, read_manifest
from data_pipeline.sources import Clip, discover_clips
from data_pipeline.teacher_flow import (
    FlowEstimator,
    TeacherFlowConfig,
    decode_png_rgb,
    teacher_features,
    window_flows,
)
from data_pipeline.tfrecord_format import serialize_window
from data_pipeline.windows import SegmentSplit, iter_windows
from data_pipeline.writer import StagedDataset, check_output_dir


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a build; recorded in the manifest under ``settings``."""

    window: int = 3
    stride: int = 1
    size: tuple[int, int] | None = None  # (width, height)
    val_fraction: float = 0.1
    split_by: str = "segment"
    filters: FilterConfig = field(default_factory=FilterConfig)
    shard_bytes: int = 128 << 20
    png_compression: int = 1
    teacher_flow: TeacherFlowConfig | None = None

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"window must be >= 2 frames, got {self.window}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.split_by not in ("segment", "clip"):
            raise ValueError(f"split_by must be 'segment' or 'clip', got {self.split_by!r}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 2):
            raise ValueError(f"size must be (width, height) of at least 2x2, got {self.size}")
        if not 0 <= self.png_compression <= 9:
            raise ValueError(f"png_compression must be in 0..9, got {self.png_compression}")
        if self.teacher_flow is not None and (self.window < 3 or self.window % 2 == 0):
            raise ValueError(f"teacher flows need an odd window >= 3, got {self.window}")

    @property
    def span(self) -> int:
        return (self.window - 1) * self.stride + 1


def _plan_splits(clips: list[Clip], config: BuildConfig) -> tuple[dict[str, SegmentSplit], int]:
    """A split rule per clip id, and the total estimated frame count (for the progress bar)."""
    estimates = {clip.clip_id: clip.estimated_frames() for clip in clips}
    plans: dict[str, SegmentSplit] = {}
    free = [clip for clip in clips if clip.split is None]
    for clip in clips:
        if clip.split is not None:
            plans[clip.clip_id] = SegmentSplit(fixed=clip.split)
    if config.split_by == "clip" and free:
        # Whole clips to validation, in a fixed pseudo-random order, up to the asked fraction.
        budget = config.val_fraction * sum(estimates[c.clip_id] for c in free)
        order = sorted(free, key=lambda c: (_hash_id(c.clip_id), c.clip_id))
        used = 0
        for clip in order:
            frames = estimates[clip.clip_id]
            to_val = config.val_fraction > 0 and used + frames / 2 <= budget and len(free) > 1
            plans[clip.clip_id] = SegmentSplit(fixed="val" if to_val else "train")
            used += frames if to_val else 0
    else:
        for clip in free:
            frames = estimates[clip.clip_id]
            val_frames = int(round(config.val_fraction * frames))
            plans[clip.clip_id] = (
                SegmentSplit(val_start=frames - val_frames, guard=config.span)
                if val_frames > 0
                else SegmentSplit()
            )
    return plans, sum(estimates.values())


def _hash_id(text: str) -> int:
    """A stable (process-independent) 32-bit hash of a clip id."""
    return zlib.crc32(text.encode("utf-8"))


def _clip_frames(
    clip: Clip, config: BuildConfig, expected: list, counter: list[int]
) -> Iterator[np.ndarray]:
    for frame in clip.frames():
        frame = resize_and_crop(frame, config.size)
        if not expected:
            expected.append(frame.shape)
        elif frame.shape != expected[0]:
            raise ValueError(
                f"{clip.path}: frames are {frame.shape[1]}x{frame.shape[0]} but the dataset's "
                f"frames are {expected[0][1]}x{expected[0][0]}; pass --size WIDTHxHEIGHT to "
                "bring all sources to one size"
            )
        counter[0] += 1
        yield frame


def build_dataset(
    sources: Sequence[str | Path],
    out_dir: str | Path,
    *,
    window: int = 3,
    stride: int = 1,
    size: tuple[int, int] | None = None,
    val_fraction: float = 0.1,
    split_by: str = "segment",
    filters: FilterConfig | None = None,
    shard_bytes: int = 128 << 20,
    overwrite: bool = False,
    progress: bool = True,
    teacher_flow: TeacherFlowConfig | None = None,
) -> dict[str, Any]:
    """Build a TFRecord window dataset from real sources into ``out_dir``; returns the manifest.

    ``teacher_flow`` also stores each window's teacher flows (see ``data_pipeline.teacher_flow``).
    """
    config = BuildConfig(
        window=window,
        stride=stride,
        size=tuple(size) if size is not None else None,
        val_fraction=val_fraction,
        split_by=split_by,
        filters=filters or FilterConfig(),
        shard_bytes=shard_bytes,
        teacher_flow=teacher_flow,
    )
    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite)
    clips = discover_clips(sources, window=config.window)
    plans, total_frames = _plan_splits(clips, config)
    dropped: Counter = Counter({name: 0 for name in (*FILTER_NAMES, "split_gap")})
    expected: list = []
    clip_records = []
    estimator = FlowEstimator(config.teacher_flow) if config.teacher_flow else None
    with StagedDataset(out_dir, shard_bytes=config.shard_bytes) as staged:
        with tqdm(total=total_frames, unit="frame", disable=not progress, desc="build") as bar:
            for clip in clips:
                clip_dropped: Counter = Counter()
                counts = Counter()
                seen = [0]
                windows = iter_windows(
                    _clip_frames(clip, config, expected, seen),
                    window=config.window,
                    stride=config.stride,
                    filters=config.filters,
                    split=plans[clip.clip_id],
                    encode=lambda f: encode_png(f, config.png_compression),
                    dropped=clip_dropped,
                    on_frame=lambda: bar.update(1),
                )
                for item in windows:
                    staged.write(
                        item.split,
                        serialize_window(
                            item.encoded,
                            [item.size] * config.window,
                            clip.clip_id,
                            item.index,
                            _teacher_flow_features(item.encoded, estimator),
                        ),
                    )
                    counts[item.split] += 1
                if seen[0] < config.span:
                    raise ValueError(
                        f"{clip.path}: {seen[0]} frames, shorter than one window ({config.span} "
                        f"frames for --window {config.window} --stride {config.stride})"
                    )
                dropped.update(clip_dropped)
                clip_records.append(
                    {
                        "id": clip.clip_id,
                        "kind": clip.kind,
                        "path": str(clip.path),
                        "frames": seen[0],
                        "examples": {split: counts[split] for split in SPLITS},
                        "dropped": dict(clip_dropped),
                    }
                )
        if staged.examples("train") + staged.examples("val") == 0:
            raise ValueError(
                f"no window survived the filters (dropped: {dict(dropped)}); loosen the filter "
                "thresholds or check the sources"
            )
        height, width = expected[0][:2]
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "window": config.window,
            "stride": config.stride,
            "frame_size": {"height": int(height), "width": int(width)},
            "dropped": dict(dropped),
            "sources": [str(Path(s)) for s in sources],
            "clips": clip_records,
            "settings": _settings(config),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        staged.publish(manifest, SPLITS, overwrite)
    return read_manifest(out_dir)


def _teacher_flow_features(encoded: Sequence[bytes], estimator: FlowEstimator | None) -> dict:
    """Teacher-flow record features of a window given as PNG bytes ({} without a teacher)."""
    if estimator is None:
        return {}
    frames = np.stack([decode_png_rgb(data) for data in encoded])
    return teacher_features(window_flows(frames, estimator), estimator.config.scale)


def _settings(config: BuildConfig) -> dict[str, Any]:
    settings = asdict(config)
    settings["size"] = list(config.size) if config.size else None
    if config.teacher_flow is None:
        del settings["teacher_flow"]  # manifests of builds without teacher flows are unchanged
    return settings
