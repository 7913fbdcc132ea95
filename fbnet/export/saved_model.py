"""Write a two-frame Keras model as ``EXPORT_BASE/<version>/``, TF Serving's model-base-path layout.

The SavedModel holds only traced graphs and variables, so loading it needs TensorFlow alone (not
this package). The version directory is written under a temporary non-numeric name (which TF
Serving ignores) and renamed at the end, so a server polling ``EXPORT_BASE`` never sees a
half-written version. ``assets.extra/fbnet_export.json`` records what was exported.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fbnet.export.serving import (
    DEFAULT_SIGNATURE,
    INPUT_NAMES,
    OUTPUT_NAMES,
    TIME_SIGNATURE,
    input_signature,
    make_middle_frame_fn,
    make_serving_fn,
)
from fbnet.models.params import check_two_frame_model, spec_for_model

METADATA_FILE = "fbnet_export.json"


def existing_versions(export_base: str | Path) -> list[int]:
    """Integer version directories already in ``export_base`` (sorted)."""
    base = Path(export_base)
    if not base.is_dir():
        return []
    return sorted(int(child.name) for child in base.iterdir() if child.name.isdigit())


def next_version(export_base: str | Path) -> int:
    """One more than the highest existing version, or 1 for an empty base directory."""
    versions = existing_versions(export_base)
    return versions[-1] + 1 if versions else 1


def build_model_once(model: Any, size: int = 32) -> None:
    """Create the variables of an unbuilt model with one call on a small input."""
    if getattr(model, "built", False) and model.variables:
        return
    frames = np.zeros((1, size, size, 3), np.float32)
    model(
        {"frame0": frames, "frame1": frames, "time": np.full((1,), 0.5, np.float32)},
        training=False,
    )


def without_xla(model: Any) -> Any:
    """A copy of ``model`` whose warps run without XLA, or ``model`` itself if it has none.

    XLA-compiled functions in a SavedModel need a server started with XLA JIT enabled; TF
    Serving's default build and flags do not have it, so exports use the plain-op warp, which
    gives the same values.
    """
    config = model.get_config()
    guide = config.get("flow_guide")  # a flow-guided SIN-GAN holds an FBNet
    guide_jit = guide is not None and guide.get("fbnet", {}).get("warp_jit_compile", True)
    if not config.get("warp_jit_compile", False) and not guide_jit:
        return model
    config = dict(config)
    if "warp_jit_compile" in config:
        config["warp_jit_compile"] = False
    if guide_jit:
        config["flow_guide"] = {**guide, "fbnet": {**guide["fbnet"], "warp_jit_compile": False}}
    clone = type(model).from_config(config)
    build_model_once(clone)
    clone.set_weights(model.get_weights())
    return clone


def export_saved_model(
    model: Any,
    export_base: str | Path,
    version: int | None = None,
    pad_multiple: int = 1,
    metadata: dict[str, Any] | None = None,
    tta: str = "none",
) -> Path:
    """Export ``model`` with its two signatures (see :mod:`fbnet.export.serving`); returns the
    version directory.

    Args:
        model: a two-frame ``keras.Model`` (see :mod:`fbnet`); context models are refused.
        export_base: TF Serving's ``--model_base_path``; created if missing.
        version: positive integer; the next free one when ``None``. An existing version is
            never overwritten (``FileExistsError``).
        pad_multiple: pad H and W to this multiple inside the graph (models pad themselves,
            so 1 is enough for the registered models).
        metadata: extra JSON-serialisable facts to record (e.g. the run directory).
        tta: test-time augmentation built into both signatures (``fbnet.models.tta``:
            ``"none"``, ``"flip"``, ``"reverse"`` or ``"full"``; 1, 2, 2 or 4 model passes).
    """
    import keras

    from fbnet.models.tta import check_mode
    from fbnet.models.tta_model import TestTimeAugmented

    check_two_frame_model(model)
    check_mode(tta)
    base = Path(export_base)
    if base.exists() and not base.is_dir():
        raise NotADirectoryError(f"--out {base} exists and is not a directory")
    if version is None:
        version = next_version(base)
    if version < 1:
        raise ValueError(f"version must be a positive integer, got {version}")
    target = base / str(version)
    if target.exists():
        raise FileExistsError(f"export version {target} already exists; pick another --version")
    base.mkdir(parents=True, exist_ok=True)
    build_model_once(model)
    model = without_xla(model)
    if tta != "none":
        model = TestTimeAugmented(model, tta)
        build_model_once(model)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        DEFAULT_SIGNATURE,
        make_middle_frame_fn(model, pad_multiple),
        input_signature=input_signature(with_time=False),
    )
    archive.add_endpoint(
        TIME_SIGNATURE, make_serving_fn(model, pad_multiple), input_signature=input_signature()
    )
    staging = base / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        archive.write_out(str(staging), verbose=False)
        spec = spec_for_model(model)
        record = {
            "model_class": f"{type(model).__module__}.{type(model).__name__}",
            "registry_name": spec.name if spec else None,
            "signature": DEFAULT_SIGNATURE,
            "signatures": {DEFAULT_SIGNATURE: ["frame0", "frame1"], TIME_SIGNATURE: INPUT_NAMES},
            "tta": tta,
            "inputs": list(INPUT_NAMES),
            "outputs": list(OUTPUT_NAMES),
            "pad_multiple": pad_multiple,
            **(metadata or {}),
        }
        (staging / "assets.extra").mkdir(exist_ok=True)
        (staging / "assets.extra" / METADATA_FILE).write_text(json.dumps(record, indent=2))
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
