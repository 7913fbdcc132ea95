"""Readers for the standard interpolation test sets, each yielding :class:`Triplet` items.

Frames are uint8 RGB ``[H, W, 3]``; the target lies at ``time`` between ``frame0`` and ``frame1``.
Layouts (``detect_layout`` picks one from the directory structure):

* ``vimeo90k``: ``tri_testlist.txt`` listing ``00001/0266`` clips, with either
  ``sequences/<clip>/im1.png, im2.png, im3.png`` (vimeo_triplet) or ``input/<clip>/im1.png,
  im3.png`` + ``target/<clip>/im2.png`` (vimeo_interp_test).
* ``middlebury``: ``other-data/<Name>/frame10.png, frame11.png`` and
  ``other-gt-interp/<Name>/frame10i11.png`` (the "other" set with public ground truth).
* ``ucf101``: the DVF triplets, ``<id>/frame_00.png, frame_01_gt.png, frame_02.png``.
* ``triplets``: folders holding ``f0, f1, f2`` or ``im1, im2, im3`` images (any image suffix),
  or such a folder itself.
* ``tfrecord``: shards from ``fbnet data build`` (``manifest.json``), read with
  ``data_pipeline.make_dataset`` (first/last frame of each window in, middle frame as target).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from natsort import natsorted

from data_pipeline.media import find_image, read_image

LAYOUTS = ("vimeo90k", "middlebury", "ucf101", "triplets", "tfrecord")
TRIPLET_NAMES = (("f0", "f1", "f2"), ("im1", "im2", "im3"))


@dataclass(frozen=True)
class Triplet:
    """One test item: two input frames and the ground-truth frame at ``time``."""

    name: str
    frame0: np.ndarray
    frame1: np.ndarray
    target: np.ndarray
    time: float = 0.5


def read_rgb(path: Path) -> np.ndarray:
    """A uint8 RGB image (:func:`data_pipeline.media.read_image`); errors name the file."""
    return read_image(path)


def _triplet(name: str, paths: tuple[Path, Path, Path], time: float = 0.5) -> Triplet:
    frame0, target, frame1 = (read_rgb(p) for p in paths)
    shapes = {frame0.shape, target.shape, frame1.shape}
    if len(shapes) != 1:
        raise ValueError(f"{name}: frames differ in size {sorted(shapes)}")
    return Triplet(name, frame0, frame1, target, time)


def _triplet_paths(folder: Path) -> tuple[Path, Path, Path] | None:
    for names in TRIPLET_NAMES:
        paths = [find_image(folder, name) for name in names]
        if all(paths):
            return paths[0], paths[1], paths[2]
    return None


def _subdirs(folder: Path) -> list[Path]:
    return natsorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name)


def detect_layout(data_dir: str | Path) -> str:
    """The layout of ``data_dir`` (see the module docstring); ``ValueError`` if none fits."""
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"--data {root}: no such directory")
    if (root / "manifest.json").is_file():
        return "tfrecord"
    if (root / "tri_testlist.txt").is_file():
        return "vimeo90k"
    if (root / "other-data").is_dir() and (root / "other-gt-interp").is_dir():
        return "middlebury"
    if _triplet_paths(root):
        return "triplets"
    for child in _subdirs(root):
        if (child / "frame_01_gt.png").is_file():
            return "ucf101"
        if _triplet_paths(child):
            return "triplets"
    raise ValueError(
        f"--data {root}: no known layout (Vimeo90K tri_testlist.txt, Middlebury other-data + "
        "other-gt-interp, UCF101 frame_01_gt.png folders, f0/f1/f2 or im1/im2/im3 triplet "
        "folders, or TFRecord shards with manifest.json)"
    )


def vimeo90k(root: Path) -> Iterator[Triplet]:
    clips = [line.strip() for line in (root / "tri_testlist.txt").read_text().splitlines()]
    for clip in filter(None, clips):
        if (root / "sequences").is_dir():
            folder = root / "sequences" / clip
            paths = (folder / "im1.png", folder / "im2.png", folder / "im3.png")
        else:
            inputs = root / "input" / clip
            paths = (inputs / "im1.png", root / "target" / clip / "im2.png", inputs / "im3.png")
        yield _triplet(clip, paths)


def middlebury(root: Path) -> Iterator[Triplet]:
    for folder in _subdirs(root / "other-gt-interp"):
        data = root / "other-data" / folder.name
        paths = (data / "frame10.png", folder / "frame10i11.png", data / "frame11.png")
        yield _triplet(folder.name, paths)


def ucf101(root: Path) -> Iterator[Triplet]:
    for folder in _subdirs(root):
        if (folder / "frame_01_gt.png").is_file():
            paths = (folder / "frame_00.png", folder / "frame_01_gt.png", folder / "frame_02.png")
            yield _triplet(folder.name, paths)


def triplet_folders(root: Path) -> Iterator[Triplet]:
    own = _triplet_paths(root)
    if own:
        yield _triplet(root.name, own)
        return
    for folder in _subdirs(root):
        paths = _triplet_paths(folder)
        if paths:
            yield _triplet(folder.name, paths)


def tfrecord_shards(root: Path, split: str, batch_size: int = 8) -> Iterator[Triplet]:
    from data_pipeline import make_dataset

    dataset = make_dataset(root, split, batch_size=batch_size, training=False, input_mode="pair")
    index = 0
    for inputs, target in dataset.as_numpy_iterator():
        frames = [np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8) for x in
                  (inputs["frame0"], inputs["frame1"], target)]  # fmt: skip
        for frame0, frame1, middle, time in zip(*frames, inputs["time"]):
            yield Triplet(f"{split}/{index:06d}", frame0, frame1, middle, float(time))
            index += 1


def iter_triplets(
    data_dir: str | Path, layout: str = "auto", split: str = "val"
) -> tuple[str, Iterator[Triplet]]:
    """``(layout, items)`` for ``data_dir``; ``split`` only applies to TFRecord shards."""
    root = Path(data_dir)
    if layout == "auto":
        layout = detect_layout(root)
    elif not root.is_dir():
        raise FileNotFoundError(f"--data {root}: no such directory")
    readers = {
        "vimeo90k": lambda: vimeo90k(root),
        "middlebury": lambda: middlebury(root),
        "ucf101": lambda: ucf101(root),
        "triplets": lambda: triplet_folders(root),
        "tfrecord": lambda: tfrecord_shards(root, split),
    }
    if layout not in readers:
        raise ValueError(f"--layout must be 'auto' or one of {LAYOUTS}, got {layout!r}")
    return layout, readers[layout]()
