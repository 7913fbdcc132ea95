"""Dataset build throughput: windows/s of the single-process and the Apache Beam builder.

Both builders build the same sources (by default four of the shared sample clips at 256x192)
in one run, ``--rounds`` times, alternating (local, beam, local, beam, ...), each into a fresh
folder; the median of each is reported with ``beam_vs_local``, the median of the per-round
ratios, the CPU seconds each spent (the Beam figure includes its worker processes) and the
machine's load. Both builds must produce the same number of windows per split.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

DEFAULT_CLIPS = (
    "calais1906_car_race_film.ogv",
    "hug_lego_mechanism.mp4",
    "mecavideo_ball_toss_highfps.avi",
    "megamind_cg_dialogue.avi",
)
SHARED_CLIPS = Path(__file__).resolve().parents[3] / "shared" / "data" / "clips"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", action="append", type=Path, metavar="PATH",
        help=f"source to build (repeatable; default: {len(DEFAULT_CLIPS)} shared sample clips)",
    )  # fmt: skip
    parser.add_argument("--size", default="256x192", help="frame size WIDTHxHEIGHT")
    parser.add_argument("--window", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="Beam DirectRunner workers")
    parser.add_argument("--rounds", type=int, default=1)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> dict[str, float]:
    load = {"loadavg_1m": round(os.getloadavg()[0], 2)}
    pressure = Path("/proc/pressure/cpu")
    if pressure.exists():
        fields = dict(f.split("=") for f in pressure.read_text().splitlines()[0].split()[1:])
        load["cpu_pressure_avg10"] = float(fields["avg10"])
    return load


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from data_pipeline.beam_build import build_dataset_beam
    from data_pipeline.build import build_dataset
    from data_pipeline.images import parse_size

    if args.rounds < 1:
        raise ValueError(f"--rounds must be >= 1, got {args.rounds}")
    sources = args.source or [SHARED_CLIPS / name for name in DEFAULT_CLIPS]
    for source in sources:
        if not source.exists():
            raise FileNotFoundError(f"--source not found: {source}")
    size = parse_size(args.size)
    builders = {
        "local": lambda out: build_dataset(
            sources, out, window=args.window, size=size, progress=False
        ),
        "beam": lambda out: build_dataset_beam(
            sources,
            out,
            window=args.window,
            size=size,
            beam_options=[f"--direct_num_workers={args.workers}"],
        ),  # fmt: skip
    }
    rates: dict[str, list[float]] = {name: [] for name in builders}
    cpu: dict[str, list[float]] = {name: [] for name in builders}
    counts: dict[str, dict[str, int]] = {}
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="fbnet-bench-build-") as tmp:
        for number in range(args.rounds):
            for name, build in builders.items():
                out = Path(tmp) / f"{name}-{number}"
                cpu_start, start = _cpu_seconds(), time.perf_counter()
                manifest = build(out)
                seconds = time.perf_counter() - start
                split_counts = {s: v["examples"] for s, v in manifest["splits"].items()}
                counts[name] = split_counts
                rates[name].append(sum(split_counts.values()) / seconds)
                cpu[name].append(_cpu_seconds() - cpu_start)
    if counts["local"] != counts["beam"]:
        raise RuntimeError(f"the builders disagree on the windows per split: {counts}")
    ratios = [b / a for a, b in zip(rates["local"], rates["beam"])]
    result = {
        "benchmark": "build",
        "sources": [str(s) for s in sources],
        "size": args.size,
        "window": args.window,
        "windows": counts["local"],
        "workers": args.workers,
        "rounds": args.rounds,
        "local_wps": round(statistics.median(rates["local"]), 2),
        "beam_wps": round(statistics.median(rates["beam"]), 2),
        "beam_vs_local": round(statistics.median(ratios), 3),
        "local_cpu_s": round(statistics.median(cpu["local"]), 1),
        "beam_cpu_s": round(statistics.median(cpu["beam"]), 1),
        "cpu_count": os.cpu_count(),
        "load_before": load_before,
        "load_after": _load(),
    }
    print(json.dumps(result))
    return 0
