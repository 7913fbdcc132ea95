"""``plan_dataset``: the checked, resolved request behind one ``make_dataset`` call.

A :class:`DatasetPlan` holds everything the pipeline's steps need to know about a request, read
once from the manifest and the arguments: the shard files, the window length ``k``, the frame and
output sizes (``(height, width)``, BHWC frames), which stored frames can be used (``stored``:
indices into the window, in temporal order), which teacher flows are read (``flow_keys``), and
whether the request trains (random crops, reversal, flips) or evaluates (centre crop, none of
them). Every refusal happens here, before a ``tf.data`` graph exists, with a message that names
the dataset directory or the argument and the value received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from data_pipeline import teacher_flow as teacher
from data_pipeline.augment import TIME
from data_pipeline.manifest import read_manifest, shard_files

INPUT_MODES = ("pair", "context")
TIME_MODES = ("middle", "random")
VERIFY_MODES = ("auto", "size", "full", "none")
FULL_VERIFY_LIMIT = 1 << 30  # "auto" verification checksums shards up to this total size


@dataclass(frozen=True)
class DatasetPlan:
    """A validated ``make_dataset`` request; see the module docstring."""

    data_dir: Path
    split: str
    files: tuple[Path, ...]
    k: int
    frame_hw: tuple[int, int]
    crop_hw: tuple[int, int] | None
    batch_size: int
    training: bool
    repeat: bool
    input_mode: str
    time_mode: str
    teacher_flow: bool

    @property
    def out_hw(self) -> tuple[int, int]:
        """Size of the frames handed to the model: the crop, else the full frames."""
        return self.crop_hw or self.frame_hw

    @property
    def mid(self) -> int:
        return self.k // 2

    @property
    def rotate(self) -> bool:
        """Whether training draws transpositions too (only square outputs can be transposed)."""
        return self.training and self.out_hw[0] == self.out_hw[1]

    @property
    def full(self) -> bool:
        """Whether every frame of a window may be used (context inputs or random-time targets)."""
        return self.input_mode == "context" or self.time_mode == "random"

    @property
    def stored(self) -> list[int]:
        """Window indices of the frames any example can use, decoded or cached."""
        return list(range(self.k)) if self.full else [0, self.mid, self.k - 1]

    @property
    def flow_keys(self) -> tuple[str, ...]:
        """Teacher flows read: the input pair's, plus the middle target's when it is fixed."""
        return teacher.INPUT_KEYS if self.time_mode == "middle" else teacher.INPUT_KEYS[:2]

    def pick(self, draws: tf.Tensor | Sequence[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        """Target frame (an index into the window) and its time; context mode uses the middle."""
        if self.input_mode == "pair" and self.time_mode == "random":
            i = tf.minimum(1 + tf.cast(draws[TIME] * (self.k - 2), tf.int32), self.k - 2)
            return i, tf.cast(i, tf.float32) / float(self.k - 1)
        return tf.constant(self.mid), tf.constant(0.5)

    def select(self, items: Sequence[Any], target: tf.Tensor) -> list:
        """The used ones of ``items`` (one per frame in ``stored``), in temporal order: the
        first, the target and the last frame in pair mode, all of them in context mode."""
        items = list(items)
        if self.input_mode == "pair" and self.full:
            middle = tf.switch_case(target - 1, [lambda item=item: item for item in items[1:-1]])
            return [items[0], middle, items[-1]]
        return items


def crop_size(
    crop: int | tuple[int, int] | None, frame_hw: tuple[int, int]
) -> tuple[int, int] | None:
    """``crop`` (a side or ``(height, width)``) checked against the frames; ``None`` keeps them."""
    if crop is None:
        return None
    height, width = (crop, crop) if isinstance(crop, int) else tuple(crop)
    if height < 1 or width < 1:
        raise ValueError(f"crop must be positive, got {crop}")
    if height > frame_hw[0] or width > frame_hw[1]:
        raise ValueError(
            f"crop {height}x{width} (HxW) is larger than the dataset's frames "
            f"{frame_hw[0]}x{frame_hw[1]}"
        )
    return int(height), int(width)


def resolve_verify(verify: str, manifest: dict[str, Any], split: str) -> str:
    """``"auto"`` becomes ``"full"`` up to 1 GiB of shards in the split, else ``"size"``."""
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {VERIFY_MODES}, got {verify!r}")
    if verify != "auto":
        return verify
    total = sum(shard["bytes"] for shard in manifest["splits"][split]["shards"])
    return "full" if total <= FULL_VERIFY_LIMIT else "size"


def plan_dataset(
    data_dir: str | Path,
    split: str,
    *,
    batch_size: int,
    crop: int | tuple[int, int] | None,
    training: bool,
    input_mode: str,
    time_mode: str,
    window: int | None,
    repeat: bool | None,
    purpose: str | None,
    verify: str,
    teacher_flow: bool,
) -> DatasetPlan:
    """Check a ``make_dataset`` request against the dataset's manifest (arguments as there)."""
    data_dir = Path(data_dir)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if input_mode not in INPUT_MODES:
        raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {input_mode!r}")
    if time_mode not in TIME_MODES:
        raise ValueError(f"time_mode must be one of {TIME_MODES}, got {time_mode!r}")
    manifest = read_manifest(data_dir)
    k = int(manifest["window"])
    if window is not None and window != k:
        who = f"model {purpose}" if purpose else "the caller"
        raise ValueError(
            f"{who} needs {window}-frame windows but {data_dir} holds {k}-frame windows; build "
            f"a dataset with `fbnet data build --window {window}`"
        )
    if k < 3:
        raise ValueError(f"{data_dir} holds {k}-frame windows; at least 3 are needed")
    if split not in manifest["splits"]:
        raise ValueError(f"{data_dir} has no split {split!r}; it has {sorted(manifest['splits'])}")
    if teacher_flow and teacher.manifest_settings(manifest) is None:
        raise ValueError(
            f"{data_dir} holds no teacher flows (teacher_flow={teacher_flow}); rebuild it with "
            "`fbnet data build ... --teacher-flow dis`"
        )
    if teacher_flow and input_mode != "pair":
        raise ValueError(f"teacher flows need input_mode 'pair', got {input_mode!r}")
    files = shard_files(data_dir, manifest, split, verify=resolve_verify(verify, manifest, split))
    if manifest["splits"][split]["examples"] == 0 or not files:
        raise ValueError(f"{data_dir} has no {split!r} windows (manifest: 0 examples)")
    frame_hw = (int(manifest["frame_size"]["height"]), int(manifest["frame_size"]["width"]))
    return DatasetPlan(
        data_dir=data_dir,
        split=split,
        files=tuple(Path(p) for p in files),
        k=k,
        frame_hw=frame_hw,
        crop_hw=crop_size(crop, frame_hw),
        batch_size=int(batch_size),
        training=bool(training),
        repeat=training if repeat is None else bool(repeat),
        input_mode=input_mode,
        time_mode=time_mode,
        teacher_flow=bool(teacher_flow),
    )
