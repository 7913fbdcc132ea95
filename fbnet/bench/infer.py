"""Inference throughput: frame pairs per second per size, beside the ``flow`` reference.

One JSON object per line: ``{"size": "768x576", "pairs_per_s": ..., "s_per_pair": ...,
"reference": "flow", "reference_s_per_pair": ..., ...}`` for each of ``--sizes`` (whole frames;
default 448x256, 768x576, 1280x720 and 1920x1080), then ``{"size": "3840x2160", "tiled": true,
...}`` through the same feathered tiling ``fbnet interpolate`` uses (``--tiled-size``). Every line
also names the model, device, batch size, precision, thread settings and oneDNN setting, and
``peak_rss_mib``, the process's peak resident memory so far. The reference (``--reference``,
default the classical DIS ``flow``) is timed on the same frames in the same process. Each size
gets one untimed warm-up call (tracing), then ``--pairs`` pairs are timed. On a GPU, Keras models
run twice: float32 and mixed_float16.

``--model`` takes what ``fbnet interpolate`` takes (export, run, .keras, ``average``, ``flow``);
``--untrained NAME`` times a freshly built registry model or preset (e.g. ``fbnet_fast``; speed
does not depend on the weights). Both may be repeated to time several models in one run.

``--profile-stages`` adds, for each FBNet and whole-frame size, a line ``{"profile": "stages",
"stages_ms": {...}, "whole_call_ms": ...}`` from :mod:`fbnet.bench.stages` (features, each flow
level, warps, fusion, pad/crop, uint8 conversions); ``--profile-only`` prints only those.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from typing import Any

import numpy as np

SIZES = ((448, 256), (768, 576), (1280, 720), (1920, 1080))
TILED_SIZE = (3840, 2160)
REFERENCES = ("flow", "average", "none")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if width < 2 or height < 2:
        raise argparse.ArgumentTypeError(f"sizes must be at least 2x2, got {text!r}")
    return width, height


def _sizes(text: str) -> list[tuple[int, int]]:
    return [_size(part) for part in text.split(",") if part.strip()]


def _optional_size(text: str) -> tuple[int, int] | None:
    return None if text.lower() == "none" else _size(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", action="append", default=[], help="export dir, run dir, .keras, 'average' or "
        "'flow' (repeatable)"
    )  # fmt: skip
    parser.add_argument(
        "--untrained", action="append", default=[],
        help="registry model or preset name (e.g. fbnet, fbnet_fast), default params (repeatable)",
    )  # fmt: skip
    parser.add_argument("--checkpoint", default="best", help="with a run dir")
    parser.add_argument("--batch-size", type=int, default=1, help="pairs per model call")
    parser.add_argument("--pairs", type=int, default=4, help="timed pairs per size")
    parser.add_argument(
        "--sizes", type=_sizes, default=list(SIZES), help="WxH,WxH,... whole-frame sizes"
    )
    parser.add_argument(
        "--tiled-size", type=_optional_size, default=TILED_SIZE, help="WxH run in tiles, or none"
    )
    parser.add_argument("--tile", type=int, default=1024, help="tile size for --tiled-size")
    parser.add_argument("--tile-overlap", type=int, default=64)
    parser.add_argument("--tile-batch", type=int, default=1, help="tiles per model call")
    parser.add_argument(
        "--reference", choices=REFERENCES, default="flow", help="classical method timed beside"
    )
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed"),
        default="auto",
        help="auto: float32, plus mixed_float16 for Keras models on a GPU",
    )
    parser.add_argument(
        "--intra-op-threads", type=int, default=0, help="TensorFlow intra-op threads (0: TF's)"
    )
    parser.add_argument(
        "--inter-op-threads", type=int, default=0, help="TensorFlow inter-op threads (0: TF's)"
    )
    parser.add_argument(
        "--profile-stages", action="store_true", help="also time each FBNet stage per size"
    )
    parser.add_argument("--profile-only", action="store_true", help="only the stage profiles")
    parser.add_argument("--profile-repeats", type=int, default=3, help="timed calls per stage")


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def mixed_precision_copy(model: Any, policy: str = "mixed_float16") -> Any:
    """The same model rebuilt under a mixed-precision policy, with the same weights."""
    import keras

    from fbnet.export.saved_model import build_model_once

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        config = {k: v for k, v in model.get_config().items() if k != "dtype"}
        clone = type(model).from_config(config)
        build_model_once(clone)
    finally:
        keras.config.set_dtype_policy(previous)
    clone.set_weights(model.get_weights())
    return clone


def process_cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_pairs(interpolator: Any, width: int, height: int, pairs: int, batch: int) -> float:
    """Pairs per second over ``pairs`` pairs, after one warm-up call."""
    return measure_pairs(interpolator, width, height, pairs, batch)[0]


def measure_pairs(
    interpolator: Any, width: int, height: int, pairs: int, batch: int
) -> tuple[float, float]:
    """``(pairs per second, CPU seconds per pair)`` over ``pairs`` pairs, after one warm-up
    call. CPU time is the steadier figure on a shared machine; wall time shows thread waits."""
    rng = np.random.default_rng(0)
    frame0 = rng.integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    frame1 = np.roll(frame0, 4, axis=2)
    time_in = np.full((batch,), 0.5, np.float32)
    interpolator.interpolate(frame0, frame1, time_in)
    calls = max(1, -(-pairs // batch))
    cpu_start, start = process_cpu_seconds(), time.perf_counter()
    for _ in range(calls):
        interpolator.interpolate(frame0, frame1, time_in)
    wall, cpu = time.perf_counter() - start, process_cpu_seconds() - cpu_start
    return calls * batch / wall, cpu / (calls * batch)


def _variants(args: argparse.Namespace, interpolator: Any, gpu: bool) -> list[tuple[str, Any]]:
    from fbnet.loading import KerasInterpolator

    keras_model = getattr(interpolator, "model", None)
    wanted = {"auto": ["float32", "mixed"] if gpu else ["float32"]}.get(
        args.precision, [args.precision]
    )
    variants = []
    for precision in wanted:
        if precision == "float32":
            variants.append(("float32", interpolator))
        elif keras_model is not None:
            policy = "mixed_float16" if gpu else "mixed_bfloat16"
            clone = KerasInterpolator(mixed_precision_copy(keras_model, policy), interpolator.name)
            variants.append((policy, clone))
    return variants


def configure_threads(intra: int, inter: int) -> dict[str, Any]:
    """Apply TensorFlow thread settings (0 keeps TF's default) before any op runs; returns
    what is in effect, with the oneDNN setting (``TF_ENABLE_ONEDNN_OPTS``, read at import)."""
    import tensorflow as tf

    if intra < 0 or inter < 0:
        raise ValueError(f"thread counts must be >= 0, got intra={intra} and inter={inter}")
    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
    }


def _interpolators(args: argparse.Namespace) -> list[Any]:
    from fbnet.interpolate.runner import load_interpolator
    from fbnet.loading import KerasInterpolator
    from fbnet.models.registry import build_model

    found = [load_interpolator(model, checkpoint=args.checkpoint) for model in args.model]
    for name in args.untrained:
        found.append(KerasInterpolator(build_model(name), name=name))
    return found


def _reference_line(
    args: argparse.Namespace, reference: Any, cache: dict, key: tuple, make: Any
) -> dict[str, Any]:
    if reference is None:
        return {}
    if key not in cache:
        cache[key] = time_pairs(make(reference), key[0], key[1], args.pairs, args.batch_size)
    rate = cache[key]
    return {
        "reference": reference.name,
        "reference_pairs_per_s": round(rate, 3),
        "reference_s_per_pair": round(1.0 / rate, 4),
    }


def _print(line: dict[str, Any]) -> None:
    print(json.dumps({**line, "peak_rss_mib": round(peak_rss_mib(), 1)}), flush=True)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from fbnet.interpolate.runner import load_interpolator
    from fbnet.interpolate.tiling import TiledInterpolator

    if args.batch_size < 1 or args.pairs < 1:
        raise ValueError(
            f"--batch-size and --pairs must be >= 1, got {args.batch_size} and {args.pairs}"
        )
    if not args.model and not args.untrained:
        raise ValueError("pass --model or --untrained (either may be repeated)")
    if args.profile_only and not args.profile_stages:
        args.profile_stages = True
    threads = configure_threads(args.intra_op_threads, args.inter_op_threads)
    interpolators = _interpolators(args)
    reference = None if args.reference == "none" else load_interpolator(args.reference)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    device = "GPU" if gpu else "CPU"
    reference_rates: dict[tuple, float] = {}
    for interpolator in interpolators:
        for precision, runner in _variants(args, interpolator, gpu):
            common = {"model": runner.name, "device": device, "precision": precision,
                      "batch_size": args.batch_size, **threads}  # fmt: skip
            if args.profile_stages:
                _profile(args, runner, common)
            if args.profile_only:
                continue
            for width, height in args.sizes:
                rate, cpu = measure_pairs(runner, width, height, args.pairs, args.batch_size)
                line = {"size": f"{width}x{height}", "pairs_per_s": round(rate, 3),
                        "s_per_pair": round(1.0 / rate, 4), "cpu_s_per_pair": round(cpu, 4),
                        **common}  # fmt: skip
                ref = _reference_line(
                    args, reference, reference_rates, (width, height), lambda r: r
                )
                _print({**line, **ref})
            if args.tiled_size is None:
                continue

            def tiled(inner: Any) -> TiledInterpolator:
                return TiledInterpolator(inner, args.tile, args.tile_overlap, args.tile_batch)

            rate, cpu = measure_pairs(tiled(runner), *args.tiled_size, args.pairs, args.batch_size)
            line = {"size": "{}x{}".format(*args.tiled_size), "tiled": True, "tile": args.tile,
                    "tile_batch": args.tile_batch, "pairs_per_s": round(rate, 3),
                    "s_per_pair": round(1.0 / rate, 4),
                    "cpu_s_per_pair": round(cpu, 4)}  # fmt: skip
            key = (*args.tiled_size, "tiled")
            ref = _reference_line(args, reference, reference_rates, key, tiled)
            _print({**line, **common, **ref})
    return 0


def _profile(args: argparse.Namespace, runner: Any, common: dict[str, Any]) -> None:
    from fbnet.models.fbnet_model import FBNet

    model = getattr(runner, "model", None)
    if not isinstance(model, FBNet):
        return
    from fbnet.bench.stages import profile_stages

    for width, height in args.sizes:
        profile = profile_stages(model, width, height, args.profile_repeats, args.batch_size)
        _print({"profile": "stages", **profile, **common, "batch_size": args.batch_size})
