"""Frame sources: video files, image-sequence folders and the Vimeo90K layouts, as ``Clip``s.

A clip is one continuous frame sequence (a video, a folder of numbered images, one Vimeo90K
sequence). ``discover_clips`` expands the paths given on the command line:

* a video file (see ``VIDEO_EXTENSIONS``) is one clip;
* a folder holding images is one clip, frames in natural order (``frame2`` before ``frame10``);
* a Vimeo90K root (``sequences/`` plus ``tri_trainlist.txt``/``tri_testlist.txt`` or the ``sep_``
  lists) gives one clip per listed sequence, with its split fixed by the list it is in;
* any other folder is searched one level deep for videos and image folders.

Frames are uint8 RGB ``[H, W, 3]``; a folder whose images differ in size is an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from natsort import natsorted

from data_pipeline.media import (
    VIDEO_EXTENSIONS,
    estimate_frame_count,
    iter_video_frames,
    list_images,
    read_image,
)

VIMEO_LISTS = {
    "tri": ("tri_trainlist.txt", "tri_testlist.txt", 3),
    "sep": ("sep_trainlist.txt", "sep_testlist.txt", 7),
}


@dataclass(frozen=True)
class Clip:
    """One continuous frame sequence; ``split`` is set when the source fixes it (Vimeo90K)."""

    clip_id: str
    kind: str  # "video", "images" or "vimeo"
    path: Path
    frame_paths: tuple[Path, ...] = ()
    split: str | None = None

    def frames(self) -> Iterator[np.ndarray]:
        """Stream the frames as uint8 RGB; image folders must hold frames of one size."""
        if self.kind == "video":
            yield from iter_video_frames(self.path)
            return
        first_shape = None
        for frame_path in self.frame_paths:
            frame = read_image(frame_path)
            if first_shape is None:
                first_shape = frame.shape
            elif frame.shape != first_shape:
                raise ValueError(
                    f"{frame_path}: frame size {frame.shape[1]}x{frame.shape[0]} differs from "
                    f"{first_shape[1]}x{first_shape[0]} of {self.frame_paths[0].name} in the "
                    f"same sequence {self.path}"
                )
            yield frame

    def estimated_frames(self) -> int:
        if self.kind == "video":
            return estimate_frame_count(self.path)
        return len(self.frame_paths)


def _vimeo_clips(root: Path, window: int) -> list[Clip] | None:
    """Clips of a Vimeo90K root, or None when ``root`` is not one."""
    if not (root / "sequences").is_dir():
        return None
    present = {
        layout: spec
        for layout, spec in VIMEO_LISTS.items()
        if any((root / name).is_file() for name in spec[:2])
    }
    if not present:
        return None
    layout = "sep" if "sep" in present and (window > 3 or "tri" not in present) else "tri"
    train_list, test_list, frames_per_sequence = present[layout]
    if window > frames_per_sequence:
        raise ValueError(
            f"{root}: Vimeo90K {layout} sequences hold {frames_per_sequence} frames, too few for "
            f"--window {window} (use the septuplet layout for 7-frame windows)"
        )
    clips = []
    for list_name, split in ((train_list, "train"), (test_list, "val")):
        list_path = root / list_name
        if not list_path.is_file():
            continue
        for line in list_path.read_text().splitlines():
            name = line.strip()
            if not name:
                continue
            folder = root / "sequences" / name
            paths = tuple(folder / f"im{i}.png" for i in range(1, frames_per_sequence + 1))
            missing = [p for p in paths if not p.is_file()]
            if missing:
                raise FileNotFoundError(f"{list_path} lists {name} but {missing[0]} is missing")
            clips.append(Clip(f"vimeo/{name}", "vimeo", folder, paths, split))
    return clips


def _clips_of(path: Path, window: int, depth: int = 0) -> list[Clip]:
    if path.is_file():
        if path.suffix.lower() in VIDEO_EXTENSIONS:
            return [Clip(path.name, "video", path)]
        raise ValueError(
            f"{path}: not a video file this tool reads (extensions: "
            f"{', '.join(sorted(VIDEO_EXTENSIONS))}); pass image sequences as a folder"
        )
    vimeo = _vimeo_clips(path, window)
    if vimeo is not None:
        return vimeo
    images = list_images(path)
    if images:
        return [Clip(path.name, "images", path, tuple(images))]
    clips: list[Clip] = []
    if depth == 0:
        for child in natsorted(path.iterdir(), key=lambda p: p.name):
            if child.is_dir() or child.suffix.lower() in VIDEO_EXTENSIONS:
                clips.extend(_clips_of(child, window, depth + 1))
    return clips


def discover_clips(sources: Sequence[str | Path], window: int = 3) -> list[Clip]:
    """Expand source paths into clips (ids made unique); clear errors for bad paths."""
    if not sources:
        raise ValueError("no source given: pass at least one video file or frame folder")
    clips: list[Clip] = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"source not found: {path}")
        found = _clips_of(path, window)
        if not found:
            raise ValueError(
                f"{path}: no video files, image sequences or Vimeo90K lists found in this folder"
            )
        clips.extend(found)
    seen: dict[str, int] = {}
    unique = []
    for clip in clips:
        count = seen.get(clip.clip_id, 0)
        seen[clip.clip_id] = count + 1
        if count:
            clip = replace(clip, clip_id=f"{clip.clip_id}#{count + 1}")
        unique.append(clip)
    return unique
