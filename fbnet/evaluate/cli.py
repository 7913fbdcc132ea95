"""``fbnet evaluate --model EXPORT_OR_RUN --data DIR [--out results.json]``.

Scores the model next to the classical references (``average``: frame blending; ``flow``: DIS
optical flow, warped halfway both ways, blended) in one run. The JSON report's top level holds
the first method's ``psnr``, ``ssim`` (and ``ie`` on Middlebury), ``count`` and per-item
``items``; ``references`` holds the same for the other methods. A table goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from fbnet.evaluate.datasets import LAYOUTS
from fbnet.models.tta import TTA_MODES, TTAInterpolator

METHODS = ("model", "average", "flow")
IE_LAYOUTS = ("middlebury",)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="PSNR/SSIM on Vimeo90K, Middlebury, UCF101, triplet folders or TFRecord shards",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, help="test set directory")
    parser.add_argument("--model", help="export dir, run dir or .keras (default: shipped model)")
    parser.add_argument("--checkpoint", default="best", help="with a run dir: best, last, PATH")
    parser.add_argument(
        "--method",
        action="append",
        choices=METHODS,
        help="methods to score, repeatable; the first one is the report's top level "
        "(default: model average flow)",
    )
    parser.add_argument(
        "--tta", choices=TTA_MODES, default="none",
        help="test-time augmentation of the model method (not average/flow); default none",
    )  # fmt: skip
    parser.add_argument("--layout", default="auto", choices=("auto", *LAYOUTS))
    parser.add_argument("--split", default="val", help="TFRecord split to read")
    parser.add_argument("--batch-size", type=int, default=8, help="items per model call")
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    parser.add_argument("--show-items", action="store_true", help="print one row per item")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def load_methods(
    names: list[str], model: str | None, checkpoint: str, tta: str = "none"
) -> dict[str, Any]:
    from fbnet.interpolate.runner import load_interpolator

    methods = {}
    for name in dict.fromkeys(names):  # keep order, drop repeats
        methods[name] = load_interpolator(model if name == "model" else name, checkpoint)
        if name == "model" and tta != "none":
            methods[name] = TTAInterpolator(methods[name], tta)
    return methods


def build_report(scores: dict, methods: dict, data: Path, layout: str) -> dict[str, Any]:
    with_ie = layout in IE_LAYOUTS
    names = list(scores)
    primary = scores[names[0]]
    report = {
        "data": str(data),
        "layout": layout,
        "method": names[0],
        "model": methods[names[0]].name,
        **primary.summary(with_ie),
        "items": [_item(item, with_ie) for item in primary.items],
        "references": {},
    }
    for name in names[1:]:
        report["references"][name] = {
            "model": methods[name].name,
            **scores[name].summary(with_ie),
            "items": [_item(item, with_ie) for item in scores[name].items],
        }
    return report


def _item(item: dict[str, Any], with_ie: bool) -> dict[str, Any]:
    return item if with_ie else {k: v for k, v in item.items() if k != "ie"}


def format_table(report: dict[str, Any], show_items: bool) -> str:
    with_ie = "ie" in report
    header = f"{'method':<28} {'count':>6} {'PSNR':>8} {'SSIM':>7}"
    header += f" {'IE':>7}" if with_ie else ""
    rows = [header, "-" * len(header)]

    def row(label: str, entry: dict[str, Any], count: Any) -> str:
        text = f"{label[:28]:<28} {count!s:>6} {entry['psnr']:>8.3f} {entry['ssim']:>7.4f}"
        return text + (f" {entry['ie']:>7.3f}" if with_ie else "")

    if show_items:
        for item in report["items"]:
            rows.append(row(item["name"], item, ""))
        rows.append("-" * len(header))
    rows.append(row(f"{report['method']} ({report['model']})", report, report["count"]))
    for name, entry in report["references"].items():
        rows.append(row(name, entry, entry["count"]))
    return "\n".join(rows)


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write ``report`` to ``path`` via a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(temporary, path)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from fbnet.evaluate.datasets import iter_triplets
    from fbnet.evaluate.scoring import evaluate
    from fbnet.interpolate.background import prefetch

    if args.out is not None and not args.out.parent.is_dir():
        raise FileNotFoundError(f"--out folder {args.out.parent} does not exist")
    layout, items = iter_triplets(args.data, args.layout, args.split)
    methods = load_methods(args.method or list(METHODS), args.model, args.checkpoint, args.tta)
    with tqdm(unit="item", desc="evaluating", disable=args.quiet, file=sys.stderr) as bar:
        try:
            scores = evaluate(
                prefetch(items, maxsize=2 * args.batch_size), methods, args.batch_size, bar.update
            )
        except ValueError as error:
            raise ValueError(f"--data {args.data} ({layout}): {error}") from None
    report = build_report(scores, methods, args.data, layout)
    print(format_table(report, args.show_items))
    if args.out is not None:
        write_json(report, args.out)
    return 0
