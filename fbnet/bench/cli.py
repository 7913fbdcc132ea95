"""``fbnet bench NAME``: dispatch to the benchmark modules.

Each module in ``BENCHMARKS`` exposes ``add_arguments(parser)`` and ``run(args) -> int`` and prints
one JSON object per line on stdout.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = {
    "warp": "fbnet.bench.warp",
    "pipeline": "fbnet.bench.pipeline",
    "train": "fbnet.bench.train",
    "infer": "fbnet.bench.infer",
    "build": "fbnet.bench.build",
}


def _run(args: argparse.Namespace) -> int:
    module = importlib.import_module(BENCHMARKS[args.benchmark])
    return int(module.run(args) or 0)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks that print JSON")
    bench_sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    bench_sub.required = True
    for name, module_name in BENCHMARKS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue
            raise
        sub = bench_sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(sub)
        sub.set_defaults(func=_run)
