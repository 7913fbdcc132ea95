"""Sharded, crash-safe TFRecord writing.

A build writes into a hidden staging folder inside the output directory (``.building-*``), with
shards under temporary names. ``StagedDataset.publish`` checksums the finished shards there,
renames them into the output directory under names no file of the previous dataset uses, and then
replaces ``manifest.json`` atomically: that rename is the commit point. Only after it are the
previous dataset's shards deleted. Shards are named ``<split>-00000-of-000NN.tfrecord``; when
overwriting a dataset that uses those names, the new generation is named
``<split>-00000-of-000NN.b.tfrecord`` (the next overwrite goes back to the plain names).

A build killed at any point therefore leaves either the previous dataset, complete and still
described by its manifest (plus, at most, a hidden staging folder and new shards that no manifest
names, which the next build deletes), or the complete new one; never a manifest that describes
missing or partial shards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from data_pipeline.manifest import MANIFEST_NAME, file_crc32, read_manifest, write_manifest


def existing_dataset(out_dir: Path) -> list[Path]:
    """Files in ``out_dir`` that belong to a dataset (manifest or shards)."""
    if not out_dir.is_dir():
        return []
    return sorted(
        p for p in out_dir.iterdir() if p.name == MANIFEST_NAME or p.suffix == ".tfrecord"
    )


def check_output_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse an output directory that already holds a dataset, unless overwriting."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"output path {out_dir} exists and is not a directory")
    found = existing_dataset(out_dir)
    if found and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a dataset ({found[0].name}, ...); pass --overwrite "
            "(overwrite=True) to replace it or choose another --out"
        )


def _shard_name(split: str, number: int, count: int, generation: str) -> str:
    return f"{split}-{number:05d}-of-{count:05d}{generation}.tfrecord"


def _shard_names(manifest: dict[str, Any]) -> set[str]:
    return {
        str(entry["file"]) for split in manifest["splits"].values() for entry in split["shards"]
    }


def _committed_files(out_dir: Path) -> set[str]:
    """Names of the files (manifest and shards) the current manifest in ``out_dir`` commits to.

    A missing or unreadable manifest commits to nothing: its shards are leftovers.
    """
    try:
        return _shard_names(read_manifest(out_dir)) | {MANIFEST_NAME}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


@contextlib.contextmanager
def _as_os_error() -> Iterator[None]:
    """Re-raise TensorFlow's file errors (e.g. a full disk) as ``OSError`` naming the file."""
    try:
        yield
    except tf.errors.OpError as error:
        raise OSError(f"cannot write {error.message}") from None


@dataclass
class _Shard:
    path: Path
    examples: int = 0
    bytes: int = 0


class _SplitWriter:
    def __init__(self, staging: Path, split: str, shard_bytes: int) -> None:
        self.staging = staging
        self.split = split
        self.shard_bytes = shard_bytes
        self.shards: list[_Shard] = []
        self._writer: tf.io.TFRecordWriter | None = None

    def write(self, record: bytes) -> None:
        if self._writer is None or self.shards[-1].bytes >= self.shard_bytes:
            self._close_current()
            shard = _Shard(self.staging / f"{self.split}-{len(self.shards):05d}.partial")
            self.shards.append(shard)
            with _as_os_error():
                self._writer = tf.io.TFRecordWriter(str(shard.path))
        with _as_os_error():
            self._writer.write(record)
        self.shards[-1].examples += 1
        self.shards[-1].bytes += len(record) + 16  # TFRecord framing: length, 2 CRCs

    def _close_current(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            with _as_os_error():
                writer.close()

    def close(self) -> None:
        self._close_current()


class StagedDataset:
    """Collects shards of several splits in a staging folder; ``publish`` makes them final.

    Use it as a context manager: leaving the block by an exception (including Ctrl-C) discards
    the staging folder and leaves any earlier dataset in ``out_dir`` as it was.
    """

    def __init__(self, out_dir: str | Path, *, shard_bytes: int = 128 << 20) -> None:
        if shard_bytes < 1:
            raise ValueError(f"shard_bytes must be positive, got {shard_bytes}")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=".building-", dir=self.out_dir))
        self.shard_bytes = shard_bytes
        self._splits: dict[str, _SplitWriter] = {}

    def write(self, split: str, record: bytes) -> None:
        if split not in self._splits:
            self._splits[split] = _SplitWriter(self.staging, split, self.shard_bytes)
        self._splits[split].write(record)

    def add_shard(self, split: str, source: str | Path, examples: int) -> None:
        """Add a finished shard file of ``examples`` records to ``split`` (used by merging).

        The file is hard-linked into the staging folder (copied when linking fails), so the
        source stays as it is; ``publish`` names it like the shards written here.
        """
        source = Path(source)
        if not source.is_file():
            raise FileNotFoundError(f"shard not found: {source}")
        if split not in self._splits:
            self._splits[split] = _SplitWriter(self.staging, split, self.shard_bytes)
        writer = self._splits[split]
        writer._close_current()
        shard = _Shard(self.staging / f"{split}-{len(writer.shards):05d}.partial", examples)
        try:
            os.link(source, shard.path)
        except OSError:
            shutil.copyfile(source, shard.path)
        shard.bytes = shard.path.stat().st_size
        writer.shards.append(shard)

    def examples(self, split: str) -> int:
        writer = self._splits.get(split)
        return sum(s.examples for s in writer.shards) if writer else 0

    def publish(self, manifest: dict[str, Any], splits: tuple[str, ...], overwrite: bool) -> Path:
        """Finish the shards, commit them with the manifest, then delete the old dataset's files."""
        for writer in self._splits.values():
            writer.close()
        check_output_dir(self.out_dir, overwrite)
        staged = {
            split: self._splits[split].shards if split in self._splits else [] for split in splits
        }
        checksums = {  # before anything in out_dir is touched
            shard.path: (shard.path.stat().st_size, file_crc32(shard.path))
            for shards in staged.values()
            for shard in shards
        }
        previous = _committed_files(self.out_dir)
        for stray in existing_dataset(self.out_dir):  # shards of an earlier interrupted build
            if stray.name not in previous:
                stray.unlink()
        plain = {
            _shard_name(split, number, len(shards), "")
            for split, shards in staged.items()
            for number in range(len(shards))
        }
        generation = ".b" if plain & previous else ""
        manifest = dict(manifest)
        manifest["splits"] = {}
        for split, shards in staged.items():
            entries = []
            for number, shard in enumerate(shards):
                name = _shard_name(split, number, len(shards), generation)
                size, crc = checksums[shard.path]
                os.replace(shard.path, self.out_dir / name)
                entries.append(
                    {"file": name, "examples": shard.examples, "bytes": size, "crc32": crc}
                )
            total = sum(entry["examples"] for entry in entries)
            manifest["splits"][split] = {"examples": total, "shards": entries}
        path = write_manifest(self.out_dir, manifest)  # the commit point
        published = _shard_names(manifest)
        for old in existing_dataset(self.out_dir):
            if old.name != MANIFEST_NAME and old.name not in published:
                old.unlink()
        self.discard()
        return path

    def __enter__(self) -> StagedDataset:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self.discard()

    def discard(self) -> None:
        """Close writers and delete the staging folder (after publishing, or on failure)."""
        for writer in self._splits.values():
            with contextlib.suppress(OSError):  # e.g. a full disk: the files go anyway
                writer.close()
        shutil.rmtree(self.staging, ignore_errors=True)
