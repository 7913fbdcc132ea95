"""Score several interpolators in one pass over a test set, with seconds per frame and PSNR per t.

Usage::

    python scripts/evaluate_shipped.py --data DIR [--windows] --method NAME=MODEL ... --out FILE

``MODEL`` is anything ``fbnet interpolate --model`` takes (``average``, ``flow``, a ``.keras``
file, an export or a run directory) or ``pretrained:NAME`` for a shipped model. ``DIR`` is a
folder test set (``f0/f1/f2`` triplets, any size per item); with ``--windows`` it holds 7-frame
windows (``0.png ... 6.png``) and every window gives five items, frames 0 and 6 in and frame i
at t = i/6 the target, so each method is scored per t. Scoring is ``fbnet evaluate``'s
(:func:`fbnet.evaluate.scoring.evaluate`: PSNR/SSIM of the uint8-rounded prediction); every
method sees the same batches. Seconds per frame: wall time of the method's calls divided by the
frames it produced, after one warm-up call. The JSON report holds, per method, the means, the
means per clip (folder name up to its last ``-``) and, with ``--windows``, per t.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


class Timed:
    """An interpolator proxy that adds up the wall time of its ``interpolate`` calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0
        self.frames = 0

    def interpolate(self, frame0: np.ndarray, frame1: np.ndarray, t: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = self.inner.interpolate(frame0, frame1, t)
        self.seconds += time.perf_counter() - start
        self.frames += frame0.shape[0]
        return out


def load_method(spec: str) -> Any:
    from fbnet.interpolate.runner import load_interpolator

    if spec.startswith("pretrained:"):  # a shipped model, loaded by fbnet.loading
        return load_interpolator(spec.partition(":")[2])
    return load_interpolator(spec)


def window_items(root: Path, every: int) -> Iterator[Any]:
    """Items at t = i/6 (i = 1..5) from 7-frame window folders, window by window."""
    from fbnet.evaluate.datasets import Triplet, read_rgb

    folders = sorted(p for p in root.iterdir() if (p / "0.png").is_file())[::every]
    if not folders:
        raise ValueError(f"--data {root}: no 7-frame window folders (0.png ... 6.png)")
    for folder in folders:
        frames = [read_rgb(folder / f"{i}.png") for i in range(7)]
        for i in range(1, 6):
            yield Triplet(f"{folder.name}@{i}", frames[0], frames[6], frames[i], i / 6)


def triplet_items(root: Path, every: int) -> Iterator[Any]:
    from fbnet.evaluate.datasets import triplet_folders

    for index, item in enumerate(triplet_folders(root)):
        if index % every == 0:
            yield item


def summarise(scores: Any, timed: Timed, windows: bool) -> dict[str, Any]:
    items = scores.items
    out: dict[str, Any] = {"model": timed.name, **scores.summary(False)}
    out["seconds_per_frame"] = timed.seconds / max(timed.frames, 1)
    groups: dict[str, list[float]] = defaultdict(list)
    for item in items:
        clip = item["name"].split("@")[0].rsplit("-", 1)[0]
        groups[clip].append(item["psnr"])
    out["psnr_per_clip"] = {clip: float(np.mean(v)) for clip, v in sorted(groups.items())}
    out["count_per_clip"] = {clip: len(v) for clip, v in sorted(groups.items())}
    if windows:
        per_t: dict[str, list[float]] = defaultdict(list)
        for item in items:
            per_t[f"{int(item['name'].split('@')[1])}/6"].append(item["psnr"])
        out["psnr_per_t"] = {t: float(np.mean(v)) for t, v in sorted(per_t.items())}
    return out


def main(argv: list[str] | None = None) -> int:
    from fbnet.evaluate.scoring import evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--windows", action="store_true", help="7-frame windows, score per t")
    parser.add_argument("--method", action="append", required=True, help="NAME=MODEL")
    parser.add_argument("--every", type=int, default=1, help="use every N-th item/window")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    methods = {}
    for spec in args.method:
        name, sep, model = spec.partition("=")
        if not sep:
            parser.error(f"--method must be NAME=MODEL, got {spec!r}")
        methods[name] = Timed(load_method(model))
    rng = np.random.default_rng(0)
    warm = rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    for method in methods.values():
        method.inner.interpolate(warm, warm, np.array([0.5], np.float32))
    items = (window_items if args.windows else triplet_items)(args.data, args.every)
    scores = evaluate(items, methods, args.batch_size)
    report = {
        "data": str(args.data),
        "windows": args.windows,
        "every": args.every,
        "methods": {
            name: summarise(scores[name], methods[name], args.windows) for name in methods
        },  # fmt: skip
    }
    tmp = args.out.with_name(f".{args.out.name}.partial")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    header = f"{'method':<14} {'count':>6} {'PSNR':>8} {'SSIM':>7} {'s/frame':>8}"
    print(header)
    for name, entry in report["methods"].items():
        print(f"{name:<14} {entry['count']:>6} {entry['psnr']:>8.3f} {entry['ssim']:>7.4f} "
              f"{entry['seconds_per_frame']:>8.4f}")  # fmt: skip
        if "psnr_per_t" in entry:
            print("    per t: " + "  ".join(f"{t} {v:.2f}" for t, v in entry["psnr_per_t"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
