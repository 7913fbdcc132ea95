"""Merge several ``fbnet data build`` datasets into one directory (one ``--data`` for train.py).

Every input must hold the same window length and frame size, and the same teacher-flow settings
(:mod:`data_pipeline.teacher_flow`: all without teacher flows, or all with the same method and
encoding, which the merged manifest keeps under ``settings``). The shards go through the staged
writer (:class:`data_pipeline.writer.StagedDataset`): hard-linked (copied when linking fails) into a
hidden staging folder and published as a new build's shards are (the manifest's atomic
replacement is the commit point). The merged manifest lists every shard of every split, sums the
drop counts and keeps each input's manifest under ``merged_from``. An output that already holds a
dataset is refused unless ``overwrite``, and a failed merge leaves the old dataset intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from data_pipeline.manifest import FORMAT, VERSION, read_manifest
from data_pipeline.teacher_flow import manifest_settings


def merge_datasets(
    out: str | Path, inputs: list[str | Path], *, overwrite: bool = False
) -> dict[str, Any]:
    """Merge ``inputs`` into ``out``; returns the merged manifest.

    Raises:
        ValueError: no inputs, or inputs that differ in window, frame size or teacher flows.
        FileExistsError: ``out`` holds a dataset and ``overwrite`` is off.
    """
    from data_pipeline.writer import StagedDataset, check_output_dir

    out = Path(out)
    paths = [Path(path) for path in inputs]
    if not paths:
        raise ValueError(f"merging needs at least one input dataset, got {inputs!r}")
    if any(path.resolve() == out.resolve() for path in paths):
        raise ValueError(f"the output {out} is also an input; merge into another directory")
    manifests = [read_manifest(path) for path in paths]
    first = manifests[0]
    for path, manifest in zip(paths, manifests):
        for key in ("window", "frame_size"):
            if manifest[key] != first[key]:
                raise ValueError(
                    f"{path}: {key} is {manifest[key]!r} but {paths[0]} has {first[key]!r}"
                )
        if manifest_settings(manifest) != manifest_settings(first):
            raise ValueError(
                f"{path}: teacher flows {manifest_settings(manifest)!r} but {paths[0]} has "
                f"{manifest_settings(first)!r}; merge datasets built with the same --teacher-flow"
            )
    check_output_dir(out, overwrite)
    splits: list[str] = []
    dropped: dict[str, int] = {}
    with StagedDataset(out) as staged:
        for path, manifest in zip(paths, manifests):
            for split, info in manifest["splits"].items():
                if split not in splits:
                    splits.append(split)
                for shard in info["shards"]:
                    staged.add_shard(split, path / shard["file"], int(shard["examples"]))
            for reason, count in manifest["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + int(count)
        merged = {
            "format": FORMAT,
            "version": VERSION,
            "window": first["window"],
            "stride": first["stride"],
            "frame_size": first["frame_size"],
            "dropped": dropped,
            "settings": {"teacher_flow": manifest_settings(first)},
            "sources": [str(path) for path in paths],
            "merged_from": [
                {"dir": str(path), "stride": m["stride"], "sources": m.get("sources", [])}
                for path, m in zip(paths, manifests)
            ],
        }
        staged.publish(merged, tuple(splits), overwrite)
    return read_manifest(out)
