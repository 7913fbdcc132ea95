"""``python export.py``: write a trained model as ``EXPORT_BASE/<version>/`` for TF Serving.

Sources (exactly one): ``--run-dir RUN [--checkpoint best|last|PATH]``, ``--model-file
FILE.keras``, or ``--pretrained NAME`` (a model shipped in ``fbnet/pretrained/``). After
writing, the export is reloaded and compared with the Keras model on a small odd-sized pair
(``--no-verify`` skips this).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fbnet.models.tta import TTA_MODES

MAX_GREY_LEVEL_ERROR = 1


def load_source_model(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The Keras model named by the arguments and metadata describing where it came from."""
    from fbnet import loading

    if args.run_dir is not None:
        source = loading.run_source(args.run_dir, args.checkpoint)
        metadata = {"run_dir": str(args.run_dir), "checkpoint": str(source.path)}
    elif args.model_file:
        source = loading.file_source(args.model_file)
        metadata = {"model_file": str(source.path)}
    else:
        source = loading.shipped_source(args.pretrained)
        metadata = {"model_file": str(source.path)}
    return loading.load_source(source, two_frame=True), metadata


def verify_export(model: Any, version_dir: Path, seed: int = 0) -> int:
    """Largest grey-level difference between the export's two signatures and ``model``.

    On a random 2x37x53 pair: ``interpolate_at_time`` at t = 0.5 and 0.25, ``serving_default``
    (the middle frame).
    """
    import tensorflow as tf

    from fbnet.loading import KerasInterpolator

    rng = np.random.default_rng(seed)
    frame0 = rng.integers(0, 256, (2, 37, 53, 3), dtype=np.uint8)
    frame1 = rng.integers(0, 256, (2, 37, 53, 3), dtype=np.uint8)
    time = np.array([0.5, 0.25], np.float32)
    expected = np.round(KerasInterpolator(model).interpolate(frame0, frame1, time) * 255.0)
    signatures = tf.saved_model.load(str(version_dir)).signatures
    at_time = signatures["interpolate_at_time"]
    got = at_time(frame0=tf.constant(frame0), frame1=tf.constant(frame1), time=tf.constant(time))
    worst = np.abs(got["frame"].numpy().astype(np.int32) - expected.astype(np.int32)).max()
    middle = np.round(KerasInterpolator(model).interpolate(frame0, frame1, np.full(2, 0.5)) * 255)
    got = signatures["serving_default"](frame0=tf.constant(frame0), frame1=tf.constant(frame1))
    diff = np.abs(got["frame"].numpy().astype(np.int32) - middle.astype(np.int32))
    worst = max(worst, diff.max())
    return int(worst)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="export.py", description="Export a two-frame model as a TF Serving SavedModel."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", type=Path, help="training run directory (config.yaml)")
    source.add_argument("--model-file", type=Path, help="a whole-model .keras file")
    source.add_argument("--pretrained", help="name of a model shipped in fbnet/pretrained/")
    parser.add_argument(
        "--checkpoint", default="best", help="with --run-dir: best, last, or a .keras path"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="EXPORT_BASE (TF Serving --model_base_path)"
    )
    parser.add_argument("--version", type=int, help="version number (default: next free)")
    parser.add_argument(
        "--pad-multiple", type=int, default=1, help="pad H, W to this multiple in the graph"
    )
    parser.add_argument(
        "--tta", choices=TTA_MODES, default="none",
        help="build test-time augmentation into the export: flip, reverse (2 passes), full (4)",
    )  # fmt: skip
    parser.add_argument("--no-verify", action="store_true", help="skip the reload check")
    return parser


def run(args: argparse.Namespace) -> int:
    from fbnet.export.saved_model import export_saved_model

    model, metadata = load_source_model(args)
    version_dir = export_saved_model(
        model,
        args.out,
        version=args.version,
        pad_multiple=args.pad_multiple,
        metadata=metadata,
        tta=args.tta,
    )
    summary = {
        "export": str(version_dir),
        "signatures": ["serving_default", "interpolate_at_time"],
        **metadata,
    }
    if not args.no_verify:
        from fbnet.models.tta_model import TestTimeAugmented

        reference = model if args.tta == "none" else TestTimeAugmented(model, args.tta)
        error = verify_export(reference, version_dir)
        summary["max_grey_level_error"] = error
        if error > MAX_GREY_LEVEL_ERROR:
            print(json.dumps(summary), file=sys.stderr)
            raise ValueError(
                f"{version_dir}: export differs from the Keras model by {error} grey levels"
            )
    print(json.dumps(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError) as error:
        print(f"export.py: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a full disk: the message names the file
        print(f"export.py: error: {error}", file=sys.stderr)
        return 1
