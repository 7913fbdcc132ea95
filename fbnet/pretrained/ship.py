"""``python -m fbnet.pretrained.ship``: copy a run's checkpoint into the package with a model card.

``--run-dir RUN --name NAME [--checkpoint best|last|PATH] [--train-seconds S]`` loads the
checkpoint file (its own model config; weights strict, not compiled), saves the model, so
the ``.keras`` file carries no optimizer state, as ``fbnet/pretrained/NAME.keras`` (temporary
name, then rename) and writes ``NAME.json``: the registry model, parameter count, file size, the
run's resolved config, the dataset manifests' counts and sources, steps, epochs, hardware,
training time, licence and attribution.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fbnet.pretrained import pretrained_dir

LICENCE = (
    "Weights: Apache-2.0 (the project's licence). Trained on real clips and photographs "
    "under their own licences (see 'attribution'); keep this card with the weights."
)
ATTRIBUTION = [
    "Video clips from Debian packages, see ../shared/data/clips/SOURCES.md: "
    "visp_cube_moving_camera.mpeg (visp-images-data, GPL-2, Inria).",
    "mecavideo_ball_throw_100fps.mp4, mecavideo_ball_toss_highfps.avi, mecavideo_cyclist_1.avi, "
    "mecavideo_airtable_push.avi, mecavideo_airtable_magnets.ogv: (C) 2007 Benoit Markey / "
    "pymecavideo (python3-mecavideo), CC-BY-SA-3.0.",
    "Synthetic-motion textures: 229 photographs from 15 Debian packages "
    "(../shared/data/stills/SOURCES.md lists the author and licence of each: CC0, public domain, "
    "CC-BY, CC-BY-SA, GPL/LGPL, FDL, Apache/BSD).",
    "Not used: megamind_cg_dialogue.avi (commercial film; internal testing only).",
]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def dataset_summary(data_dir: str | None) -> dict[str, Any]:
    from data_pipeline.manifest import read_manifest

    if not data_dir:
        return {"dir": None}
    try:
        manifest = read_manifest(data_dir)
    except (FileNotFoundError, ValueError) as error:
        return {"dir": data_dir, "error": str(error)}
    return {
        "dir": data_dir,
        "window": manifest["window"],
        "frame_size": manifest["frame_size"],
        "examples": {split: info["examples"] for split, info in manifest["splits"].items()},
        "parts": _relative_sources(manifest.get("merged_from", manifest.get("sources", []))),
    }


def _relative_sources(value: Any) -> Any:
    """Absolute source paths rewritten relative to the checkout, so cards name no machine."""
    if isinstance(value, dict):
        return {key: _relative_sources(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_relative_sources(item) for item in value]
    if isinstance(value, str) and os.path.isabs(value):
        return os.path.relpath(value, Path(__file__).resolve().parents[2])
    return value


def training_stages(run_dir: Path, last_step: int | None) -> list[dict[str, Any]]:
    """The runs this one grew from (``training.init_from`` chain), oldest first, with their data.

    ``steps`` are ``[first, last]`` in each run's own step counter (runs started with
    ``--init-from`` count from 1; legacy warm starts carried the earlier run's counter on).
    """
    from fbnet.training.run_dir import RunDir

    stages: list[dict[str, Any]] = []
    current: Path | None = run_dir
    end = last_step
    while current is not None and str(current) not in {stage["run_dir"] for stage in stages}:
        run = RunDir.at(current)
        config = run.read_config()
        origin = run.origin()
        start = origin.step if origin is not None and origin.continues_steps else 0
        stage = {"run_dir": str(current), "data": config.data.dir, "loss": config.loss.name,
                 "steps": [(start or 0) + 1, end]}  # fmt: skip
        if origin is not None and not origin.continues_steps:
            stage["init_from"] = str(origin.source)
        stages.insert(0, stage)
        if origin is None or origin.run_dir is None:
            return stages
        current, end = origin.run_dir, origin.step
    return stages


def save_uncompiled(model: Any, path: Path) -> None:
    """Save ``model`` (uncompiled, so no optimizer state is written) under a temporary name."""
    if getattr(model, "optimizer", None) is not None:
        raise ValueError(f"{path}: the model to ship must be uncompiled (it has an optimizer)")
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.keras")
    model.save(tmp)
    os.replace(tmp, path)


def ship(run_dir: Path, name: str, checkpoint: str = "best", train_seconds: float | None = None,
         out_dir: Path | None = None) -> dict[str, Any]:  # fmt: skip
    from fbnet.models.params import load_keras_file, spec_for_model
    from fbnet.training.config_io import to_dict
    from fbnet.training.run_dir import RunDir, resolve_checkpoint

    out_dir = out_dir or pretrained_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    run = RunDir.at(run_dir)
    train_config = run.read_config()
    source = resolve_checkpoint(run_dir, checkpoint)
    model = load_keras_file(source)  # the checkpoint's own model config, weights strict
    target = out_dir / f"{name}.keras"
    save_uncompiled(model, target)
    config = to_dict(train_config)
    checkpoints = run.checkpoint_manager()
    found = checkpoints.record_for(source)
    record = asdict(found) if found is not None else None
    spec = spec_for_model(model)
    card = {
        "name": name,
        "file": target.name,
        "bytes": target.stat().st_size,
        "registry_model": spec.name if spec is not None else type(model).__name__,
        "parameters": int(model.count_params()),
        "checkpoint": {"source": str(source), **(record or {})},
        "data": dataset_summary(train_config.data.dir),
        "training": {
            "steps": (record or {}).get("step"),
            "run_steps": checkpoints.last_step,
            "epochs": (record or {}).get("epoch"),
            "batch_size": config["data"]["batch_size"],
            "crop": config["data"]["crop"],
            "time_mode": config["data"]["time_mode"],
            "optimizer": config["optimizer"],
            "loss": config["loss"],
            "mixed_precision": config["training"]["mixed_precision"],
            "wall_seconds": train_seconds,
        },
        "stages": training_stages(run_dir, (record or {}).get("step")),
        "hardware": {"device": "CPU (no GPU)", "cpu": cpu_name(), "cores": os.cpu_count()},
        "config": config,
        "retrain": f"scripts/build_shipped_data.sh && scripts/train_shipped.sh {name}",
        "licence": LICENCE,
        "attribution": ATTRIBUTION,
    }
    card_path = out_dir / f"{name}.json"
    tmp = card_path.with_name(f".{card_path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, card_path)
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fbnet.pretrained.ship", description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--name", required=True, help="shipped name (fbnet/pretrained/NAME.keras)")
    parser.add_argument("--checkpoint", default="best", help="best, last or a .keras path")
    parser.add_argument("--train-seconds", type=float, help="wall time of the training command")
    parser.add_argument("--out-dir", type=Path, help="default: the package's pretrained folder")
    args = parser.parse_args(argv)
    try:
        card = ship(args.run_dir, args.name, args.checkpoint, args.train_seconds, args.out_dir)
    except (ValueError, FileNotFoundError) as error:
        print(f"ship: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({k: card[k] for k in ("name", "file", "bytes", "parameters")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
