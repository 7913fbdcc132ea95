"""The embedded synthetic dataset: procedural scenes (``synthetic_scene``) written as TFRecords.

Every scene is its own clip and gives one window, so the split is by clip: scenes
``0 .. n_train - 1`` are training data and the rest validation. ``ensure_synthetic_dataset`` builds
the dataset once and reuses it while the manifest records the same settings; a synthetic dataset
built with other settings is rebuilt, while a directory holding any other dataset is refused.

Default size (``DEFAULT_SYNTHETIC``): 640 windows (576 train + 64 val) of 128x128 frames. That is
about 10 s of generation on one core and ~60 MB of PNG, and at 128x128 a small model sees a few
thousand distinct crops per epoch: enough variety for the first training run to learn motion, small
enough that the README's main command trains in minutes on two CPU cores.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from data_pipeline.images import encode_png
from data_pipeline.manifest import FORMAT, MANIFEST_NAME, SPLITS, VERSION, read_manifest
from data_pipeline.synthetic import shifted_window
from data_pipeline.synthetic_scene import SceneConfig, render_scene
from data_pipeline.teacher_flow import (
    FlowEstimator,
    TeacherFlowConfig,
    manifest_settings,
    teacher_features,
    window_flows,
)
from data_pipeline.tfrecord_format import serialize_window
from data_pipeline.writer import StagedDataset, check_output_dir, existing_dataset

GENERATOR_VERSION = 1
MOTIONS = ("scene", "shift")
DEFAULT_SYNTHETIC = {"num_windows": 640, "height": 128, "width": 128, "val_fraction": 0.1}


def build_synthetic_dataset(
    num_windows: int,
    out_dir: str | Path,
    *,
    height: int = 128,
    width: int = 128,
    window: int = 3,
    seed: int = 0,
    val_fraction: float = 0.1,
    scene: SceneConfig | None = None,
    textures: Sequence | None = None,
    overwrite: bool = False,
    progress: bool = True,
    shard_bytes: int = 128 << 20,
    motion: str = "scene",
    teacher_flow: TeacherFlowConfig | None = None,
) -> dict[str, Any]:
    """Render ``num_windows`` synthetic windows into ``out_dir``; returns the manifest.

    ``scene`` tunes the motion (its size/window fields are replaced by the arguments here);
    ``textures`` (photographs as arrays or paths) replace the procedural textures.
    ``motion="shift"`` renders, instead of scenes, one smooth band-limited texture translated as a
    whole (:func:`~data_pipeline.synthetic.shifted_window`) by a random per-frame shift of
    ``0.25 .. 1`` times ``scene.max_translation`` pixels in a random direction: the easiest data
    to learn flow from, a warm-up for flow-based models. ``teacher_flow`` also stores OpenCV
    teacher flows estimated on the rendered frames (:mod:`data_pipeline.teacher_flow`).
    """
    if num_windows < 1:
        raise ValueError(f"num_windows must be >= 1, got {num_windows}")
    if motion not in MOTIONS:
        raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")
    if motion == "shift" and textures:
        raise ValueError("motion='shift' renders procedural textures only; got textures too")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if teacher_flow is not None and (window < 3 or window % 2 == 0):
        raise ValueError(f"teacher flows need an odd window >= 3, got {window}")
    scene = replace(scene or SceneConfig(), height=height, width=width, window=window)
    estimator = FlowEstimator(teacher_flow) if teacher_flow is not None else None
    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite)
    num_val = int(round(val_fraction * num_windows)) if num_windows > 1 else 0
    num_train = num_windows - num_val
    kinds = {split: {} for split in SPLITS}
    with StagedDataset(out_dir, shard_bytes=shard_bytes) as staged:
        for index in tqdm(range(num_windows), unit="window", disable=not progress, desc="synth"):
            if motion == "shift":
                frames, kind = _shift_window(scene, seed, index), "shift"
            else:
                frames, kind = render_scene(scene, seed, index, textures)
            uint8 = np.round(frames * 255.0).astype(np.uint8)
            split = "train" if index < num_train else "val"
            kinds[split][kind] = kinds[split].get(kind, 0) + 1
            extra = {}
            if estimator is not None:
                extra = teacher_features(window_flows(uint8, estimator), teacher_flow.scale)
            record = serialize_window(
                [encode_png(f) for f in uint8],
                [(height, width)] * window,
                f"synthetic/{index}",
                0,
                extra,
            )
            staged.write(split, record)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "window": window,
            "stride": 1,
            "frame_size": {"height": height, "width": width},
            "dropped": {},
            "sources": ["synthetic"],
            "synthetic": _synthetic_settings(
                num_windows, scene, seed, val_fraction, textures, motion
            ),
            "motion_kinds": kinds,
            "settings": _build_settings(val_fraction, teacher_flow),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        staged.publish(manifest, SPLITS, overwrite)
    return read_manifest(out_dir)


def _build_settings(val_fraction: float, teacher_flow: TeacherFlowConfig | None) -> dict:
    settings: dict[str, Any] = {"split_by": "clip", "val_fraction": val_fraction}
    if teacher_flow is not None:  # only then, so other manifests are unchanged
        settings["teacher_flow"] = asdict(teacher_flow)
    return settings


def _shift_window(scene: SceneConfig, seed: int, index: int) -> np.ndarray:
    """One whole-frame translation window (see ``motion="shift"``), deterministic per index."""
    rng = np.random.default_rng([seed, index, 0x5F])
    magnitude = rng.uniform(0.25, 1.0) * scene.max_translation
    angle = rng.uniform(0.0, 2.0 * np.pi)
    shift = (magnitude * np.sin(angle), magnitude * np.cos(angle))
    texture_seed = int(rng.integers(2**31))
    return shifted_window(scene.height, scene.width, shift, scene.window, texture_seed)


def _synthetic_settings(
    num_windows: int,
    scene: SceneConfig,
    seed: int,
    val_fraction: float,
    textures: Sequence | None,
    motion: str = "scene",
) -> dict[str, Any]:
    settings = {
        "generator_version": GENERATOR_VERSION,
        "num_windows": num_windows,
        "seed": seed,
        "val_fraction": val_fraction,
        "scene": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(scene).items()},
        "textures": len(textures) if textures else 0,
    }
    if motion != "scene":  # recorded only when set, so existing scene datasets still match
        settings["motion"] = motion
    return settings


def ensure_synthetic_dataset(
    out_dir: str | Path,
    *,
    num_windows: int = DEFAULT_SYNTHETIC["num_windows"],
    height: int = DEFAULT_SYNTHETIC["height"],
    width: int = DEFAULT_SYNTHETIC["width"],
    window: int = 3,
    seed: int = 0,
    val_fraction: float = DEFAULT_SYNTHETIC["val_fraction"],
    teacher_flow: TeacherFlowConfig | None = None,
    progress: bool = True,
) -> Path:
    """Build the synthetic dataset into ``out_dir`` unless a matching one is already there.

    ``teacher_flow`` also stores teacher flows (for flow distillation); a dataset is reused only
    if it was built with the same teacher-flow settings (or, for ``None``, without any). A
    synthetic dataset with different settings (or a half-written one without manifest) is
    rebuilt in place; a directory holding a non-synthetic dataset raises FileExistsError.
    """
    out_dir = Path(out_dir)
    scene = SceneConfig(height=height, width=width, window=window)
    wanted = _synthetic_settings(num_windows, scene, seed, val_fraction, None)
    wanted_teacher = asdict(teacher_flow) if teacher_flow is not None else None
    overwrite = False
    if (out_dir / MANIFEST_NAME).is_file():
        try:
            manifest = read_manifest(out_dir)
        except ValueError as error:
            raise FileExistsError(
                f"{out_dir} holds an unreadable dataset ({error}); remove it to rebuild"
            ) from None
        if "synthetic" not in manifest:
            raise FileExistsError(
                f"{out_dir} holds a dataset that is not the synthetic one; choose another directory"
            )
        if (
            manifest["synthetic"] == wanted
            and manifest_settings(manifest) == wanted_teacher
            and _shards_intact(out_dir)
        ):
            return out_dir
        overwrite = True
    elif existing_dataset(out_dir):
        overwrite = True  # shards of an interrupted build, no manifest: nothing finished to keep
    build_synthetic_dataset(
        num_windows,
        out_dir,
        height=height,
        width=width,
        window=window,
        seed=seed,
        val_fraction=val_fraction,
        overwrite=overwrite,
        progress=progress,
        teacher_flow=teacher_flow,
    )
    return out_dir


def _shards_intact(out_dir: Path) -> bool:
    from data_pipeline.manifest import shard_files

    manifest = read_manifest(out_dir)
    try:
        for split in manifest["splits"]:
            shard_files(out_dir, manifest, split, verify="size")
    except (OSError, ValueError):
        return False
    return True
