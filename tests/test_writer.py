"""The staged writer's publish: a kill at any file operation keeps a complete dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_pipeline.manifest import FORMAT, VERSION, read_manifest, shard_files
from data_pipeline.writer import StagedDataset


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even cleanup."""


def _publish(out: Path, label: str, records: int, shard_bytes: int = 64) -> None:
    staged = StagedDataset(out, shard_bytes=shard_bytes)
    for i in range(records):
        staged.write("train" if i % 4 else "val", f"{label}-{i:03d}".encode() * 4)
    manifest = {"format": FORMAT, "version": VERSION, "label": label, "window": 3, "stride": 1}
    manifest |= {"frame_size": [8, 8], "dropped": {}}
    staged.publish(manifest, ("train", "val"), overwrite=True)


def _records(out: Path) -> tuple[str, list[bytes]]:
    """The committed dataset's label and records, every shard verified (size and CRC-32)."""
    manifest = read_manifest(out)
    found = []
    for split in ("train", "val"):
        for path in shard_files(out, manifest, split, verify="full"):
            data = Path(path).read_bytes()
            while data:  # TFRecord framing: 8-byte length, 4-byte CRC, payload, 4-byte CRC
                length = int.from_bytes(data[:8], "little")
                found.append(data[12 : 12 + length])
                data = data[16 + length :]
    return manifest["label"], sorted(found)


def _expected(label: str, records: int) -> list[bytes]:
    return sorted(f"{label}-{i:03d}".encode() * 4 for i in range(records))


def _operations(monkeypatch: pytest.MonkeyPatch, kill_at: int | None) -> list[str]:
    """Count (and optionally kill at) every rename and delete the publish does."""
    seen: list[str] = []
    real_replace, real_unlink = os.replace, Path.unlink

    def step(name: str) -> None:
        seen.append(name)
        if kill_at is not None and len(seen) == kill_at:
            raise Killed

    def replace(src, dst, *args, **kwargs):
        step(f"replace {Path(dst).name}")
        return real_replace(src, dst, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        step(f"unlink {path.name}")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(Path, "unlink", unlink)
    return seen


def test_overwrite_killed_at_any_step_leaves_the_old_or_the_new_dataset(tmp_path, monkeypatch):
    probe = tmp_path / "probe"
    _publish(probe, "old", 12)
    with monkeypatch.context() as patch:
        steps = _operations(patch, None)
        _publish(probe, "new", 20)
    assert len(steps) >= 6 and any(s.startswith("unlink") for s in steps), steps
    assert _records(probe) == ("new", _expected("new", 20))

    outcomes = set()
    for kill_at in range(1, len(steps) + 1):
        out = tmp_path / f"kill-{kill_at}"
        _publish(out, "old", 12)
        with monkeypatch.context() as patch:
            _operations(patch, kill_at)
            with pytest.raises(Killed):
                _publish(out, "new", 20)
        label, records = _records(out)
        assert records == _expected(label, 12 if label == "old" else 20), (kill_at, steps)
        outcomes.add(label)
        # the next build finishes and leaves only its own shards
        _publish(out, "next", 8)
        assert _records(out) == ("next", _expected("next", 8))
        committed = {e["file"] for s in read_manifest(out)["splits"].values() for e in s["shards"]}
        assert {p.name for p in out.glob("*.tfrecord")} == committed
    assert outcomes == {"old", "new"}, "the kill points cover both sides of the commit"


def test_overwrites_alternate_shard_names_and_delete_the_previous_generation(tmp_path):
    out = tmp_path / "out"
    names = []
    for label, records in (("a", 12), ("b", 12), ("c", 6)):
        _publish(out, label, records)
        assert _records(out) == (label, _expected(label, records))
        names.append(sorted(p.name for p in out.iterdir()))
    assert "train-00000-of-00005.tfrecord" in names[0]
    assert "train-00000-of-00005.b.tfrecord" in names[1]
    assert not set(names[0]) - {"manifest.json"} & set(names[1])
    assert "train-00000-of-00002.tfrecord" in names[2]  # no clash with the .b generation
    assert all(not n.startswith(".") for n in names[2]), "no staging folder left"


def test_leftover_shards_without_a_manifest_are_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "train-00000-of-00001.tfrecord").write_bytes(b"half-written")
    _publish(out, "fresh", 6)
    assert _records(out) == ("fresh", _expected("fresh", 6))
