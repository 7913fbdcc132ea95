"""``fbnet data build`` and ``fbnet data inspect``.

    fbnet data build --source PATH [--source PATH ...] --out DIR [--window 3] [--stride 1]
                     [--size 448x256] [--val-fraction 0.1] [--overwrite]
    fbnet data build --synthetic N --out DIR [--size 128x128] [--window 3] [--seed 0]
        [--motion scene|shift] [--max-shift PX] [--max-object-speed PX]
    (both builds: [--teacher-flow dis [--teacher-flow-preset medium|fine]])
    (--source builds: [--runner local|beam] [--beam-option=--FLAG=VALUE ...])
    fbnet data inspect DIR [--verify]

Both print a JSON summary on stdout (the progress bar goes to stderr). TensorFlow is imported
only when a command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def _build(args: argparse.Namespace) -> int:
    from data_pipeline.build import build_dataset
    from data_pipeline.filters import FilterConfig
    from data_pipeline.images import parse_size
    from data_pipeline.media import IMAGE_EXTENSIONS
    from data_pipeline.summary import inspect_dataset
    from data_pipeline.synthetic_build import build_synthetic_dataset
    from data_pipeline.synthetic_scene import SceneConfig

    size = parse_size(args.size) if args.size else None
    teacher = None
    if args.teacher_flow is not None:
        from data_pipeline.teacher_flow import TeacherFlowConfig

        teacher = TeacherFlowConfig(method=args.teacher_flow, preset=args.teacher_flow_preset)
    shard_bytes = int(args.shard_mb * (1 << 20))
    if args.synthetic is not None and (args.runner != "local" or args.beam_option):
        raise ValueError(f"--runner {args.runner} and --beam-option build --source data only")
    if args.synthetic is not None:
        width, height = size or (128, 128)
        textures = None
        if args.textures is not None:
            if not args.textures.is_dir():
                raise FileNotFoundError(f"--textures folder not found: {args.textures}")
            textures = sorted(
                p for p in args.textures.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
            )
            if not textures:
                raise ValueError(f"--textures folder {args.textures} holds no images")
        scene = SceneConfig(max_translation=args.max_shift)
        if args.max_object_speed is not None:
            if args.max_object_speed < 0:
                raise ValueError(f"--max-object-speed must be >= 0, got {args.max_object_speed}")
            scene = dataclasses.replace(scene, max_object_speed=args.max_object_speed)
        build_synthetic_dataset(
            args.synthetic,
            args.out,
            height=height,
            width=width,
            window=args.window,
            seed=args.seed,
            val_fraction=args.val_fraction,
            textures=textures,
            overwrite=args.overwrite,
            progress=not args.quiet,
            shard_bytes=shard_bytes,
            motion=args.motion,
            scene=scene,
            teacher_flow=teacher,
        )
    else:
        filters = FilterConfig(
            cut_histogram=args.cut_histogram,
            cut_structure=args.cut_structure,
            duplicate_peak=args.duplicate_peak,
            static_peak=args.static_peak,
        )
        if args.no_filters:
            filters = FilterConfig(
                cut_histogram=0, cut_structure=0, duplicate_peak=0, static_peak=0
            )
        common = dict(
            window=args.window,
            stride=args.stride,
            size=size,
            val_fraction=args.val_fraction,
            split_by=args.split_by,
            filters=filters,
            shard_bytes=shard_bytes,
            overwrite=args.overwrite,
            teacher_flow=teacher,
        )
        if args.runner == "beam":
            from data_pipeline.beam_build import build_dataset_beam

            build_dataset_beam(args.source, args.out, beam_options=args.beam_option, **common)
        else:
            build_dataset(args.source, args.out, progress=not args.quiet, **common)
    print(json.dumps(inspect_dataset(args.out), indent=2))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from data_pipeline.summary import inspect_dataset

    print(json.dumps(inspect_dataset(args.dir, verify=args.verify), indent=2))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data`` with its ``build`` and ``inspect`` sub-commands."""
    from data_pipeline.filters import FilterConfig

    defaults = FilterConfig()
    parser = subparsers.add_parser("data", help="build and inspect TFRecord window datasets")
    commands = parser.add_subparsers(dest="data_command", metavar="{build,inspect}")
    commands.required = True

    build = commands.add_parser("build", help="turn videos/frames or synthetic scenes into shards")
    what = build.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--source", action="append", type=Path, metavar="PATH",
        help="video file, image-sequence folder, Vimeo90K root or folder of those (repeatable)",
    )  # fmt: skip
    what.add_argument("--synthetic", type=int, metavar="N", help="N procedural windows instead")
    build.add_argument("--out", type=Path, required=True, help="output dataset directory")
    build.add_argument("--window", type=int, default=3, help="frames per window (3, or 7)")
    build.add_argument("--stride", type=int, default=1, help="1 = consecutive, 2 = skip one")
    build.add_argument("--size", help="resize/centre-crop to WIDTHxHEIGHT, e.g. 448x256")
    build.add_argument("--val-fraction", type=float, default=0.1, help="validation share")
    build.add_argument(
        "--split-by", choices=("segment", "clip"), default="segment",
        help="validation = tail segment of each clip, or whole clips",
    )  # fmt: skip
    build.add_argument("--overwrite", action="store_true", help="replace a dataset in --out")
    build.add_argument("--seed", type=int, default=0, help="synthetic scenes' seed")
    build.add_argument("--textures", type=Path, help="folder of photos for synthetic textures")
    build.add_argument(
        "--motion",
        choices=("scene", "shift"),
        default="scene",
        help="synthetic motion: layered scenes, or one smooth texture shifted as a whole",
    )
    build.add_argument(
        "--max-shift",
        type=float,
        default=4.0,
        help="largest synthetic camera translation per frame, pixels (default 4)",
    )
    build.add_argument(
        "--max-object-speed",
        type=float,
        default=None,
        help="largest synthetic object speed per frame, pixels (default 6)",
    )
    build.add_argument(
        "--teacher-flow", choices=("dis",), default=None,
        help="also store OpenCV DIS teacher flows per window (for flow distillation)",
    )  # fmt: skip
    build.add_argument(
        "--teacher-flow-preset", choices=("medium", "fine"), default="medium",
        help="DIS preset: medium (OpenCV MEDIUM) or fine (MEDIUM refined to full resolution)",
    )  # fmt: skip
    build.add_argument("--shard-mb", type=float, default=128.0, help="target shard size (MiB)")
    build.add_argument("--cut-histogram", type=float, default=defaults.cut_histogram)
    build.add_argument("--cut-structure", type=float, default=defaults.cut_structure)
    build.add_argument("--duplicate-peak", type=float, default=defaults.duplicate_peak)
    build.add_argument("--static-peak", type=float, default=defaults.static_peak)
    build.add_argument("--no-filters", action="store_true", help="keep every window")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument(
        "--runner", choices=("local", "beam"), default="local",
        help="local: one process (default); beam: Apache Beam pipeline (needs the beam extra)",
    )  # fmt: skip
    build.add_argument(
        "--beam-option", action="append", default=[], metavar="FLAG",
        help="Beam pipeline flag, e.g. --beam-option=--runner=FlinkRunner (repeatable)",
    )  # fmt: skip
    build.set_defaults(func=_build)

    inspect = commands.add_parser("inspect", help="print a JSON summary of a dataset")
    inspect.add_argument("dir", type=Path, help="dataset directory (holds manifest.json)")
    inspect.add_argument("--verify", action="store_true", help="checksum and read every shard")
    inspect.set_defaults(func=_inspect)
