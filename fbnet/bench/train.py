"""Training throughput: samples/s with the data pipeline in the loop and with in-memory batches.

``fbnet bench train --model NAME`` builds the model with its default training config (full
size: optimizer, loss, metrics and the distributed train step of ``train.py``), then times
optimizer steps on ``--crop``-pixel crops, batch ``--batch-size`` (256 and 8 by default):

* ``samples_per_s_pipeline``: batches from ``data_pipeline.make_dataset`` on synthetic shards
  (448x256 frames by default, or ``--data DIR``), decoding and augmenting while training;
* ``samples_per_s_in_memory``: one batch kept in memory and fed again each step.

When the two are close the run is compute-bound; a lower pipeline figure means input-bound.
After ``--warmup`` steps (tracing) the two modes alternate for ``--rounds`` rounds of
``--steps`` steps and the medians are printed, with the CPU time per sample (all threads), so
that a busy shared machine can be recognised. One JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fbnet.models.registry import list_models

    parser.add_argument("--model", required=True, choices=list_models())
    parser.add_argument("--data", type=Path, help="existing dataset (default: synthetic shards)")
    parser.add_argument("--size", default="448x256", help="synthetic frame size WIDTHxHEIGHT")
    parser.add_argument("--windows", type=int, default=24, help="synthetic windows to build")
    parser.add_argument("--crop", type=int, default=256, help="square training crop")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round and mode")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per mode first")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--jit-compile", choices=("auto", "true", "false"), default="auto")


def _time_steps(step, iterator, steps: int, batch_size: int) -> tuple[float, float]:
    """(samples/s, CPU ms per sample) over ``steps`` optimizer steps."""
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        logs = step(iterator)
    float(next(iter(logs.values())))  # wait for the last step
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    samples = steps * batch_size
    return samples / elapsed, 1000.0 * cpu / samples


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from data_pipeline.dataset import make_dataset
    from data_pipeline.images import parse_size
    from data_pipeline.manifest import read_manifest
    from data_pipeline.synthetic_build import build_synthetic_dataset
    from fbnet.models.registry import get_spec
    from fbnet.training.build import build_model, compile_model
    from fbnet.training.defaults import default_config
    from fbnet.training.runtime import dtype_policy, jit_enabled, precision_policy
    from fbnet.training.steps import build_training_state, make_train_function

    spec = get_spec(args.model)
    config = default_config(args.model)
    policy, policy_note = precision_policy(args.mixed_precision)
    strategy = tf.distribute.get_strategy()
    with tempfile.TemporaryDirectory(prefix="fbnet-bench-train-") as tmp, dtype_policy(policy):
        data_dir = args.data
        if data_dir is None:
            width, height = parse_size(args.size)
            data_dir = Path(tmp) / "data"
            build_synthetic_dataset(
                args.windows, data_dir, height=height, width=width, window=spec.window,
                val_fraction=0.0, progress=False,
            )  # fmt: skip
        manifest = read_manifest(data_dir)
        dataset = make_dataset(
            data_dir,
            "train",
            batch_size=args.batch_size,
            crop=args.crop,
            training=True,
            input_mode=spec.input_mode,
            window=spec.window if spec.input_mode == "context" else None,
        )
        batch = next(iter(dataset))
        model = build_model(config, spec)
        compile_model(model, config, spec)
        build_training_state(model, batch)
        step = make_train_function(model, strategy, jit_enabled(args.jit_compile))
        iterators = {
            "pipeline": iter(strategy.experimental_distribute_dataset(dataset)),
            "in_memory": iter(
                strategy.experimental_distribute_dataset(
                    tf.data.Dataset.from_tensors(batch).repeat()
                )
            ),
        }
        for iterator in iterators.values():
            _time_steps(step, iterator, args.warmup, args.batch_size)
        rates: dict[str, list[float]] = {name: [] for name in iterators}
        cpu_ms: dict[str, list[float]] = {name: [] for name in iterators}
        for _ in range(args.rounds):
            for name, iterator in iterators.items():
                rate, cost = _time_steps(step, iterator, args.steps, args.batch_size)
                rates[name].append(rate)
                cpu_ms[name].append(cost)
    gpus = tf.config.list_physical_devices("GPU")
    result = {
        "model": args.model,
        "samples_per_s_pipeline": round(statistics.median(rates["pipeline"]), 2),
        "samples_per_s_in_memory": round(statistics.median(rates["in_memory"]), 2),
        "crop": args.crop,
        "batch_size": args.batch_size,
        "precision": policy,
        "precision_note": policy_note,
        "jit_compile": jit_enabled(args.jit_compile),
        "device": tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        if gpus
        else f"CPU ({os.cpu_count()} cores)",
        "rounds": {k: [round(v, 2) for v in values] for k, values in rates.items()},
        "cpu_ms_per_sample": {k: round(statistics.median(v), 1) for k, v in cpu_ms.items()},
        "load_average": round(os.getloadavg()[0], 2),
        "frame_size": manifest["frame_size"],
        "parameters": int(sum(int(tf.size(w)) for w in model.trainable_weights)),
        "tensorflow": tf.__version__,
    }
    print(json.dumps(result))
    return 0
