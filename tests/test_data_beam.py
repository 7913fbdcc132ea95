"""The Apache Beam build: same windows as the single-process build, readable, atomic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("apache_beam")

from data_pipeline import build_dataset, make_dataset, read_manifest  # noqa: E402
from data_pipeline.beam_build import (  # noqa: E402
    UnitConfig,
    WorkUnit,
    build_dataset_beam,
    plan_units,
    serialize_window_bytes,
    tfrecord_frame,
)
from data_pipeline.build import BuildConfig  # noqa: E402
from data_pipeline.manifest import shard_files  # noqa: E402
from data_pipeline.tfrecord_format import feature_spec, serialize_window  # noqa: E402
from data_pipeline.windows import SegmentSplit  # noqa: E402
from fbnet.cli import main  # noqa: E402
from tests.data_helpers import moving_frames, write_png_folder, write_video  # noqa: E402


def _windows(data_dir: Path, split: str) -> list[tuple[str, int, list[np.ndarray]]]:
    """(source, index, decoded frames) of each record of a split, in shard order."""
    manifest = read_manifest(data_dir)
    spec = feature_spec(manifest["window"], with_sizes=True)
    out = []
    for path in shard_files(data_dir, manifest, split, verify="full"):
        for record in tf.data.TFRecordDataset(str(path)):
            parsed = tf.io.parse_single_example(record, spec)
            frames = [
                tf.io.decode_png(parsed[f"frame_{i}/encoded"]).numpy()
                for i in range(manifest["window"])
            ]
            out.append((parsed["source"].numpy().decode(), int(parsed["index"]), frames))
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[Path]:
    """Two small clips: an MJPG video and a PNG folder."""
    root = tmp_path_factory.mktemp("beam-sources")
    video = write_video(root / "walk.avi", moving_frames(44, height=24, width=32))
    folder = root / "pan"
    write_png_folder(folder, moving_frames(30, height=24, width=32, speed=1.5, seed=3))
    return [video, folder]


@pytest.fixture(scope="module")
def both_builds(sources, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("beam-builds")
    local, beam = root / "local", root / "beam"
    settings = dict(size=(32, 24), val_fraction=0.2, shard_bytes=30_000)
    build_dataset(sources, local, progress=False, **settings)
    build_dataset_beam(sources, beam, **settings)
    return local, beam


def test_record_bytes_parse_like_tensorflows(tmp_path):
    frames = [tf.io.encode_png(np.full((3, 4, 3), i, np.uint8)).numpy() for i in range(3)]
    ours = serialize_window_bytes(frames, [(3, 4)] * 3, "clip.mp4", 300)
    theirs = serialize_window(frames, [(3, 4)] * 3, "clip.mp4", 300)
    assert tf.train.Example.FromString(ours) == tf.train.Example.FromString(theirs)
    path = tmp_path / "one.tfrecord"
    path.write_bytes(tfrecord_frame(ours) + tfrecord_frame(theirs))
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(path))]  # checks both CRCs
    assert records == [ours, theirs]


def test_beam_build_yields_the_single_process_windows(both_builds):
    local, beam = both_builds
    ours, theirs = read_manifest(beam), read_manifest(local)
    for key in ("window", "stride", "frame_size", "dropped", "clips", "settings", "sources"):
        assert ours[key] == theirs[key], key
    for split in ("train", "val"):
        assert ours["splits"][split]["examples"] == theirs["splits"][split]["examples"] > 0
        beam_windows, local_windows = _windows(beam, split), _windows(local, split)
        # The same records in the same order, decoded frame by frame.
        assert [w[:2] for w in beam_windows] == [w[:2] for w in local_windows]
        for (source, index, a), (_, _, b) in zip(beam_windows, local_windows):
            assert all(np.array_equal(x, y) for x, y in zip(a, b)), (source, index)
    assert len(ours["splits"]["train"]["shards"]) > 1  # 30 kB shards: sharding is exercised


def test_beam_output_passes_inspect_verify_and_trains(both_builds, capsys):
    _, beam = both_builds
    assert main(["data", "inspect", str(beam), "--verify"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["verified"] is True
    inputs, target = next(iter(make_dataset(beam, "train", batch_size=4, crop=16)))
    assert target.shape == (4, 16, 16, 3) and inputs["frame0"].shape == (4, 16, 16, 3)
    assert float(tf.reduce_max(target)) <= 1.0


def test_units_split_long_clips_and_cover_every_window(sources):
    from data_pipeline.sources import discover_clips

    config = BuildConfig(size=(32, 24))
    clips = discover_clips(sources, window=3)
    plans = {clip.clip_id: SegmentSplit() for clip in clips}
    units = plan_units(clips, plans, config, parallelism=4)
    assert {bucket for bucket, _ in units} <= set(range(4))
    for order in range(len(clips)):
        parts = sorted((u for _, u in units if u.order == order), key=lambda u: u.start)
        assert parts[0].start == 0 and parts[-1].stop is None
        assert all(a.stop == b.start for a, b in zip(parts[:-1], parts[1:]))
    assert len(units) > len(clips)  # 4 workers, 2 clips: at least one clip was cut
    with pytest.raises(ValueError, match="parallelism must be >= 1, got 0"):
        plan_units(clips, plans, config, parallelism=0)
    assert isinstance(units[0][1], WorkUnit) and UnitConfig.from_build(config).span == 3


def test_cli_refuses_an_existing_dataset_and_a_failed_rebuild_keeps_it(
    both_builds, tmp_path, capsys
):
    _, beam = both_builds
    before = {p.name: p.read_bytes() for p in beam.iterdir()}
    good = write_png_folder(tmp_path / "good", moving_frames(12, 24, 32))[0].parent
    build = ["data", "build", "--source", str(good), "--out", str(beam), "--runner", "beam"]
    assert main(build) == 2
    assert "already holds a dataset" in capsys.readouterr().err
    short = write_png_folder(tmp_path / "short", moving_frames(2, 24, 32))[0].parent
    assert main([*build, "--source", str(short), "--overwrite"]) == 2
    assert f"{short}: 2 frames, shorter than one window" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in beam.iterdir()} == before  # no staging left either


def test_synthetic_build_refuses_the_beam_runner(tmp_path, capsys):
    build = ["data", "build", "--synthetic", "8", "--out", str(tmp_path), "--runner", "beam"]
    assert main(build) == 2
    assert "--runner beam" in capsys.readouterr().err
