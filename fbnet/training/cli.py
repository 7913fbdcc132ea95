"""``python train.py``: command-line flags -> resolved :class:`TrainConfig` -> :func:`train`.

Precedence (later wins): the model's defaults, or the saved ``config.yaml`` when the run
directory already holds a run (so the same command resumes it, and e.g. ``--epochs 20``
extends it); then ``--config FILE``; then the named flags; then each ``--set key=value``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fbnet.models.registry import list_models
from fbnet.training.config import DISTRIBUTE_KINDS, TrainConfig
from fbnet.training.config_io import apply_overrides, from_dict, load_config_file, merge, to_dict
from fbnet.training.run_dir import RunDir, default_run_dir

EXIT_NON_FINITE = 3
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train.py",
        description="Train a frame interpolation model. Unset options come from the run's "
        "config.yaml when the run directory exists (the same command resumes it), otherwise "
        "from the model's defaults (configs/<model>.yaml).",
        epilog="examples:\n"
        "  python train.py --model fbnet\n"
        "  python train.py --model fbnet --data tfrecords/clips --epochs 100 "
        "--steps-per-epoch 2000 --crop 256\n"
        "  python train.py --config configs/sin_gan.yaml --set optimizer.learning_rate=2e-4\n"
        "  python train.py --run-dir runs/fbnet --epochs 20   # extend a finished run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # fmt: off
    add = parser.add_argument
    add("--model", choices=list_models(), help="registry model to train")
    add("--data", help="shard directory from `fbnet data build` (default: the embedded "
        "synthetic dataset, built on first use)")
    add("--config", help="YAML/JSON config file (e.g. configs/fbnet.yaml)")
    add("--run-dir", help="run directory (default: runs/<model>)")
    add("--epochs", type=int, help="total epochs of the run")
    add("--steps-per-epoch", type=int, help="optimizer steps per epoch")
    add("--batch-size", type=int, help="global batch size (split over replicas)")
    add("--crop", type=int, help="square training crop in pixels")
    add("--mixed-precision", action="store_true", default=None,
        help="mixed_float16 on GPU (mixed_bfloat16 on CPUs with native bfloat16)")
    add("--seed", type=int, help="seed; also turns on deterministic ops")
    add("--distribute", choices=DISTRIBUTE_KINDS,
        help="none, mirrored (this machine's devices) or multiworker (TF_CONFIG)")
    add("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any config field, e.g. --set optimizer.learning_rate=3e-4")
    add("--init-from", metavar="RUN_OR_FILE", help="start a new run from the weights of a "
        ".keras file or of a run directory's best checkpoint (ignored when resuming)")
    add("--no-progress", action="store_true", help="no progress bar")
    # fmt: on
    return parser


def _flag_overrides(args: argparse.Namespace) -> dict:
    flags = {
        ("data", "dir"): args.data,
        ("training", "epochs"): args.epochs,
        ("training", "steps_per_epoch"): args.steps_per_epoch,
        ("data", "batch_size"): args.batch_size,
        ("data", "crop"): args.crop,
        ("training", "mixed_precision"): args.mixed_precision,
        ("training", "distribute"): args.distribute,
        ("training", "seed"): args.seed,
        ("training", "init_from"): args.init_from,
        ("training", "deterministic"): True if args.seed is not None else None,
    }
    update: dict = {}
    for (section, key), value in flags.items():
        if value is not None:
            update.setdefault(section, {})[key] = value
    return update


def resolve(args: argparse.Namespace) -> tuple[TrainConfig, Path]:
    """The run's config and directory from parsed arguments (no TensorFlow needed)."""
    from fbnet.training.defaults import default_config

    file_data = load_config_file(args.config) if args.config else {}
    file_model = (file_data.get("model") or {}).get("name")
    model = args.model or file_model
    if args.run_dir is None and model is None:
        raise ValueError(f"pass --model NAME (one of {list_models()}), --config or --run-dir")
    run = RunDir.at(args.run_dir or default_run_dir(model))
    if run.has_config():
        base = run.read_config()
        if model is not None and model != base.model.name:
            raise ValueError(
                f"{run.root} holds a {base.model.name!r} run, not {model!r}; pass another --run-dir"
            )
    elif model is None:
        raise ValueError(f"{run.root} holds no run; pass --model NAME (one of {list_models()})")
    else:
        base = default_config(model)
    data = merge(to_dict(base), file_data)
    data = merge(data, _flag_overrides(args))
    data = apply_overrides(data, args.overrides)
    config = from_dict(TrainConfig, data).validate()
    if config.model.name != base.model.name:
        raise ValueError(
            f"model.name {config.model.name!r} differs from the run's {base.model.name!r}; "
            "pass --run-dir for a new run"
        )
    return config, run.root


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        config, run_dir = resolve(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2

    from fbnet.training.checkpoints import NonFiniteWeightsError
    from fbnet.training.nan_guard import NonFiniteLossError
    from fbnet.training.trainer import train

    try:
        train(config, run_dir, progress=not args.no_progress, log=lambda s: print(s, flush=True))
    except (NonFiniteLossError, NonFiniteWeightsError) as error:
        print(f"train.py: stopped: {error}", file=sys.stderr)
        return EXIT_NON_FINITE
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a full disk: the message names the file
        print(f"train.py: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("train.py: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
