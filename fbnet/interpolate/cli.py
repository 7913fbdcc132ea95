"""``fbnet interpolate INPUT -o OUTPUT --factor {2,4,8}``: boost a video's frame rate.

INPUT is a video file or a folder of frames; OUTPUT is a video (``.mp4``, ``.avi``, ``.mkv``,
``.mov``, ``.webm``) or, without such a suffix, a folder of PNG frames. ``--model`` takes an
export directory (base or version), a training run directory, a ``.keras`` file, or one of the
classical methods ``average`` / ``flow``; without it, the model shipped in ``fbnet/pretrained/``
is used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fbnet.interpolate.scene import DEFAULT_SCENE_THRESHOLD
from fbnet.interpolate.schedule import FACTORS
from fbnet.interpolate.tiling import DEFAULT_MAX_MEGAPIXELS, DEFAULT_OVERLAP
from fbnet.models.tta import TTA_MODES, TTAInterpolator


def _tile(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or pixels, got {text!r}") from None
    if value != 0 and value < 16:
        raise argparse.ArgumentTypeError(f"tile must be 0 (off) or >= 16 pixels, got {value}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "interpolate",
        help="boost a video's frame rate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, help="video file or folder of frames")
    parser.add_argument("-o", "--output", type=Path, required=True, help="video file or folder")
    parser.add_argument("--factor", type=int, choices=FACTORS, default=2, help="frame rate x")
    parser.add_argument("--model", help="export dir, run dir, .keras file, 'average' or 'flow'")
    parser.add_argument("--checkpoint", default="best", help="with a run dir: best, last, PATH")
    parser.add_argument("--batch-size", type=int, default=4, help="frame pairs per model call")
    parser.add_argument(
        "--direct-time",
        action="store_true",
        help="ask the model for t = k/factor directly (models with a time input) instead of "
        "recursive midpoints",
    )
    parser.add_argument(
        "--scene-threshold",
        type=float,
        default=DEFAULT_SCENE_THRESHOLD,
        help="scene-cut score in (0, 1] at which frames are repeated instead of blended",
    )
    parser.add_argument("--no-scene-detection", action="store_true", help="never detect cuts")
    parser.add_argument(
        "--tile", type=_tile, default=None, help="tile size in pixels, 0 = off, auto (default)"
    )
    parser.add_argument("--tile-overlap", type=int, default=DEFAULT_OVERLAP, help="pixels")
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=DEFAULT_MAX_MEGAPIXELS,
        help="with --tile auto: tile frames larger than this",
    )
    parser.add_argument(
        "--tta", choices=TTA_MODES, default="none",
        help="test-time augmentation: flip, reverse (2 model passes) or full (4); default none",
    )  # fmt: skip
    parser.add_argument("--fps", type=float, help="input frame rate (image folders; default 25)")
    parser.add_argument("--no-audio", action="store_true", help="do not copy the audio track")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fbnet.interpolate.pipeline import PipelineConfig, interpolate_file
    from fbnet.interpolate.runner import load_interpolator
    from fbnet.interpolate.schedule import ScheduleConfig

    if not args.input.exists():
        raise FileNotFoundError(f"input {args.input} does not exist")
    schedule = ScheduleConfig(
        factor=args.factor,
        batch_size=args.batch_size,
        direct=args.direct_time,
        scene_threshold=None if args.no_scene_detection else args.scene_threshold,
    )
    config = PipelineConfig(
        schedule=schedule,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        max_megapixels=args.max_megapixels,
        fps=args.fps,
        copy_audio=not args.no_audio,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    interpolator = load_interpolator(args.model, checkpoint=args.checkpoint)
    if args.tta != "none":
        interpolator = TTAInterpolator(interpolator, args.tta)
    summary = interpolate_file(args.input, args.output, interpolator, config)
    print(json.dumps(summary))
    return 0
