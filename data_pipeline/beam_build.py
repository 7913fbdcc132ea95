"""``build_dataset_beam``: :func:`data_pipeline.build.build_dataset` as an Apache Beam pipeline.

Same sources, windowing, filters, split, record format and manifest as the single-process build;
only the engine differs. The driver (this process) discovers the clips and plans their splits
exactly as ``build_dataset`` does, then cuts the clips into *work units* (a clip, or a range of
window start frames of a long clip) and runs::

    Create(units, keyed by bucket) -> GroupByKey -> ParDo(WindowUnits)
        decode, resize/crop, filters, split, PNG encode and serialise each kept window, and
        append it (TFRecord-framed) to the unit's part file of its split in the staging folder
        (output: one summary dict per unit, with the framed size of each of its records)
    summaries -> ToList -> FlatMap(shard_pieces) -> Reshuffle -> Map(write_shard)
        deterministic sharding: a record's shard is its byte offset in the split (clips in
        order, windows in frame order) // shard_bytes; each shard is written by copying its
        byte ranges out of the part files, so the records of a split read in the same order as
        the single-process build's
    summaries, shard list -> WriteToText (JSON lines)

Only summaries and shard plans cross the pipeline's stages; the records (most of the bytes) go
from a worker's encoder to its part file and from there to a shard, never through the runner's
data plane, whose per-byte cost would otherwise exceed the encoding's. A retried unit rewrites
its part files (each is written under a temporary name and renamed when complete).
and finally reads the summaries and the shard list back, checks them (the first error of a unit,
in clip order, is raised with its original type and message; frame sizes must agree across the
dataset), and publishes the shards with :class:`data_pipeline.writer.StagedDataset` and the
manifest last. Everything the pipeline writes lies in the staging folder inside ``out_dir``,
so an interrupted or failed build leaves an existing dataset intact.

Units are balanced over ``parallelism`` buckets (longest-processing-time first, splitting the
longest clips while that shortens the longest bucket; skipping into a video decodes the skipped
frames, which the cost model charges). Locally the pipeline runs on the DirectRunner in
multi-threading mode with ``direct_num_workers = 2``: decoding, resizing and PNG encoding run in
OpenCV with the GIL released, so two threads use both cores without the seconds each worker
process spends starting and importing Beam (``--beam-option=--direct_running_mode=
multi_processing`` is the process-based alternative). ``beam_options`` (Beam's own flags, e.g.
``--runner=FlinkRunner``) replace those defaults. Workers need only OpenCV,
NumPy and ``google-crc32c``: records are serialised and framed here without TensorFlow
(TensorFlow is imported by a worker only for teacher flows), which saves each worker process the
seconds of a TensorFlow import. ``out_dir`` must be a filesystem that the workers share with
the driver.
"""

from __future__ import annotations

import dataclasses
import errno
import heapq
import itertools
import json
import os
import struct
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import apache_beam as beam
    from apache_beam.metrics import Metrics
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "--runner beam needs Apache Beam: pip install -e '.[beam]' (apache-beam, google-crc32c)"
    ) from error

from typing import TYPE_CHECKING

from data_pipeline.filters import FILTER_NAMES, FilterConfig
from data_pipeline.manifest import FORMAT, SPLITS, VERSION
from data_pipeline.sources import Clip
from data_pipeline.windows import SegmentSplit

if TYPE_CHECKING:  # the driver's modules import TensorFlow; workers must not
    from data_pipeline.build import BuildConfig
    from data_pipeline.teacher_flow import TeacherFlowConfig

DEFAULT_OPTIONS = (
    "--runner=DirectRunner",
    "--direct_running_mode=multi_threading",
    "--direct_num_workers=2",
)
# Cost of decoding a skipped video frame, relative to processing (resizing, filtering, encoding)
# one: reading is about 0.5 ms per frame at 640x480 against 15-20 ms for the rest.
SKIP_COST = 0.1
MIN_UNIT_FRAMES = 16
COPY_CHUNK = 16 << 20  # bytes per read when copying part files into shards
_ERRORS = {"ValueError": ValueError, "FileNotFoundError": FileNotFoundError, "OSError": OSError}


@dataclass(frozen=True)
class UnitConfig:
    """What a worker needs of a :class:`~data_pipeline.build.BuildConfig` (no TensorFlow import).

    ``teacher_flow`` is the ``TeacherFlowConfig`` as a dict, or None.
    """

    window: int
    stride: int
    size: tuple[int, int] | None
    filters: FilterConfig
    png_compression: int
    shard_bytes: int
    teacher_flow: dict[str, Any] | None = None

    @classmethod
    def from_build(cls, config: BuildConfig) -> UnitConfig:
        teacher = config.teacher_flow
        return cls(
            window=config.window,
            stride=config.stride,
            size=config.size,
            filters=config.filters,
            png_compression=config.png_compression,
            shard_bytes=config.shard_bytes,
            teacher_flow=dataclasses.asdict(teacher) if teacher is not None else None,
        )

    @property
    def span(self) -> int:
        return (self.window - 1) * self.stride + 1


@dataclass(frozen=True)
class WorkUnit:
    """The windows of clip number ``order`` that start in ``[start, stop)`` (``stop`` None: end)."""

    order: int
    clip: Clip
    plan: SegmentSplit
    start: int = 0
    stop: int | None = None


# ---------------------------------------------------------------------------------------------
# Records without TensorFlow: tf.train.Example wire format and TFRecord framing.


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # int64 as protobuf encodes it (two's complement)
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def bytes_feature(value: bytes) -> bytes:
    """A serialised ``tf.train.Feature`` holding one bytes value."""
    return _field(1, _field(1, value))  # Feature.bytes_list = BytesList(value=[value])


def int64_feature(value: int) -> bytes:
    """A serialised ``tf.train.Feature`` holding one int64 value (packed, as protobuf writes it)."""
    return _field(3, _field(1, _varint(int(value))))  # Feature.int64_list


def serialize_example(features: dict[str, bytes]) -> bytes:
    """A serialised ``tf.train.Example`` from ``{key: serialised tf.train.Feature}``."""
    entries = b"".join(
        _field(1, _field(1, key.encode("utf-8")) + _field(2, value))
        for key, value in features.items()
    )
    return _field(1, entries)  # Example.features = Features(feature=entries)


def serialize_window_bytes(
    encoded_frames: Sequence[bytes],
    sizes: Sequence[tuple[int, int]],
    source: str,
    index: int,
    extra_features: dict[str, bytes] | None = None,
) -> bytes:
    """The record of :func:`data_pipeline.tfrecord_format.serialize_window`, without TensorFlow.

    ``extra_features`` maps keys to serialised ``tf.train.Feature`` messages.
    """
    if len(encoded_frames) != len(sizes) or not encoded_frames:
        raise ValueError(
            f"need one size per frame, got {len(encoded_frames)} frames and {len(sizes)} sizes"
        )
    features = {
        "window_size": int64_feature(len(encoded_frames)),
        "source": bytes_feature(source.encode("utf-8")),
        "index": int64_feature(index),
    }
    for i, (data, (height, width)) in enumerate(zip(encoded_frames, sizes)):
        features[f"frame_{i}/encoded"] = bytes_feature(data)
        features[f"frame_{i}/height"] = int64_feature(height)
        features[f"frame_{i}/width"] = int64_feature(width)
    features.update(extra_features or {})
    return serialize_example(features)


def _masked_crc32c(data: bytes) -> int:
    import google_crc32c

    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_frame(record: bytes) -> bytes:
    """One record in TFRecord framing: length, masked CRC-32C of the length, data, its CRC."""
    length = struct.pack("<Q", len(record))
    return (
        length
        + struct.pack("<I", _masked_crc32c(length))
        + record
        + struct.pack("<I", _masked_crc32c(record))
    )


# ---------------------------------------------------------------------------------------------
# Planning (driver side).


def _unit_cost(unit: WorkUnit, frames: int, weight: float) -> float:
    stop = frames if unit.stop is None else unit.stop
    skipped = unit.start if unit.clip.kind == "video" else 0
    return weight * (stop - unit.start + SKIP_COST * skipped)


def _balance(costs: list[float], buckets: int) -> tuple[list[int], float]:
    """Longest-processing-time assignment: the bucket of each cost, and the largest bucket load."""
    heap = [(0.0, b) for b in range(buckets)]
    assignment = [0] * len(costs)
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        load, bucket = heapq.heappop(heap)
        assignment[i] = bucket
        heapq.heappush(heap, (load + costs[i], bucket))
    return assignment, max(load for load, _ in heap)


def _frame_weight(clip: Clip, size: tuple[int, int] | None, probe: bool) -> float:
    """Relative cost of one frame of ``clip``: larger sources cost more to decode and resize."""
    if not probe:
        return 1.0
    from data_pipeline.media import VideoReader, read_image

    try:
        if clip.kind == "video":
            with VideoReader(clip.path) as reader:
                height, width = reader.first.shape[:2]
        else:
            height, width = read_image(clip.frame_paths[0]).shape[:2]
    except (OSError, ValueError, IndexError):
        return 1.0  # the unit reports the error itself
    out = size[0] * size[1] if size else height * width
    return 1.0 + 0.2 * (height * width) / max(out, 1)


def plan_units(
    clips: Sequence[Clip],
    plans: dict[str, SegmentSplit],
    config: BuildConfig,
    parallelism: int,
) -> list[tuple[int, WorkUnit]]:
    """Work units with their bucket (0 .. parallelism-1), longest clips split for balance."""
    if parallelism < 1:
        raise ValueError(f"parallelism must be >= 1, got {parallelism}")
    frames = {c.clip_id: max(c.estimated_frames(), 1) for c in clips}
    probe = len(clips) <= 256
    weights = {c.clip_id: _frame_weight(c, config.size, probe) for c in clips}
    units = [WorkUnit(order, clip, plans[clip.clip_id]) for order, clip in enumerate(clips)]

    def cost(unit: WorkUnit) -> float:
        return _unit_cost(unit, frames[unit.clip.clip_id], weights[unit.clip.clip_id])

    for _ in range(8 * parallelism):
        assignment, makespan = _balance([cost(u) for u in units], parallelism)
        if makespan <= 1.05 * sum(cost(u) for u in units) / parallelism:
            break
        splittable = [
            u
            for u in units
            if (frames[u.clip.clip_id] if u.stop is None else u.stop) - u.start
            >= 2 * max(MIN_UNIT_FRAMES, config.span)
        ]
        if not splittable:
            break
        largest = max(splittable, key=cost)
        stop = frames[largest.clip.clip_id] if largest.stop is None else largest.stop
        middle = (largest.start + stop) // 2
        position = units.index(largest)
        units[position : position + 1] = [
            dataclasses.replace(largest, stop=middle),
            dataclasses.replace(largest, start=middle),
        ]
    assignment, _ = _balance([cost(u) for u in units], parallelism)
    return list(zip(assignment, units))


# ---------------------------------------------------------------------------------------------
# Pipeline stages (worker side).


def _unit_frames(unit: WorkUnit, span: int) -> Iterator[Any]:
    """Raw frames ``start .. stop + span - 2`` of the unit's clip (to its end if ``stop`` None)."""
    end = None if unit.stop is None else unit.stop + span - 1
    clip = unit.clip
    if clip.kind == "video":
        return itertools.islice(clip.frames(), unit.start, end)
    return dataclasses.replace(clip, frame_paths=clip.frame_paths[unit.start : end]).frames()


def process_unit(
    unit: WorkUnit, config: UnitConfig, estimator: Any = None
) -> Iterator[tuple[str, Any]]:
    """Yield ``("record", (split, record))`` per kept window, then one ``("summary", dict)``;
    an input error ends the unit with the error in its summary."""
    from data_pipeline.images import encode_png, resize_and_crop
    from data_pipeline.windows import iter_windows

    dropped: Counter = Counter()
    examples: Counter = Counter()
    shapes: dict[str, list[int] | None] = {"raw": None, "frame": None}
    seen = [0]
    summary: dict[str, Any] = {"order": unit.order, "clip_id": unit.clip.clip_id}
    summary.update(start=unit.start, stop=unit.stop, error=None)

    def frames() -> Iterator[Any]:
        for frame in _unit_frames(unit, config.span):
            if shapes["raw"] is None:
                shapes["raw"] = list(frame.shape[:2])
            frame = resize_and_crop(frame, config.size)
            if shapes["frame"] is None:
                shapes["frame"] = list(frame.shape[:2])
            elif list(frame.shape[:2]) != shapes["frame"]:
                raise ValueError(
                    f"{unit.clip.path}: frames are {frame.shape[1]}x{frame.shape[0]} but the "
                    f"dataset's frames are {shapes['frame'][1]}x{shapes['frame'][0]}; pass "
                    "--size WIDTHxHEIGHT to bring all sources to one size"
                )
            seen[0] += 1
            yield frame

    start = unit.start
    windows = iter_windows(
        frames(),
        window=config.window,
        stride=config.stride,
        filters=config.filters,
        split=lambda first, last: unit.plan(first + start, last + start),
        encode=lambda frame: encode_png(frame, config.png_compression),
        dropped=dropped,
    )
    try:
        for item in windows:
            index = item.index + start
            if unit.stop is not None and index >= unit.stop:
                break
            extra = {}
            if estimator is not None:
                from data_pipeline.build import _teacher_flow_features

                features = _teacher_flow_features(item.encoded, estimator)
                extra = {key: feature.SerializeToString() for key, feature in features.items()}
            record = serialize_window_bytes(
                item.encoded, [item.size] * config.window, unit.clip.clip_id, index, extra
            )
            yield "record", (item.split, record)
            examples[item.split] += 1
    except (ValueError, OSError) as error:
        summary["error"] = {"type": type(error).__name__, "message": str(error)}
    summary.update(
        frames_end=start + seen[0],
        raw_shape=shapes["raw"],
        shape=shapes["frame"],
        dropped=dict(dropped),
        examples=dict(examples),
    )
    yield "summary", summary


def shard_pieces(summaries: list[dict[str, Any]], shard_bytes: int) -> list[dict[str, Any]]:
    """Plan the shards from the units' summaries: per (split, shard), the byte ranges
    ``[path, begin, end]`` of the part files that hold its records, in split order."""
    shards: dict[tuple[str, int], dict[str, Any]] = {}
    position: Counter = Counter()  # bytes of each split so far
    for summary in sorted(summaries, key=lambda s: (s["order"], s["start"])):
        for split, part in sorted(summary.get("parts", {}).items()):
            begin = 0
            for size in part["sizes"]:
                key = (split, position[split] // shard_bytes)
                shard = shards.setdefault(key, {"split": split, "shard": key[1], "pieces": []})
                pieces = shard["pieces"]
                if pieces and pieces[-1][0] == part["path"] and pieces[-1][2] == begin:
                    pieces[-1][2] += size
                else:
                    pieces.append([part["path"], begin, begin + size])
                shard["examples"] = shard.get("examples", 0) + 1
                begin += size
                position[split] += size
    return [shards[key] for key in sorted(shards)]


def _copy_range(source: Any, out: Any, begin: int, end: int, name: str) -> None:
    """Append bytes ``begin .. end`` of the open file ``source`` to ``out`` (in the kernel
    where the platform allows, else through a buffer)."""
    position = begin
    if hasattr(os, "copy_file_range"):
        try:
            while position < end:
                copied = os.copy_file_range(
                    source.fileno(), out.fileno(), min(end - position, COPY_CHUNK), position
                )
                if copied == 0:
                    raise OSError(f"{name}: part file ends before byte {end}")
                position += copied
            return
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
    source.seek(position)
    while position < end:
        chunk = source.read(min(end - position, COPY_CHUNK))
        if not chunk:
            raise OSError(f"{name}: part file ends before byte {end}")
        out.write(chunk)
        position += len(chunk)


def write_shard(plan: dict[str, Any], folder: str) -> dict[str, Any]:
    """Write one planned shard to ``folder`` from its part-file ranges; return what it holds."""
    path = Path(folder) / f"{plan['split']}-{plan['shard']:05d}.beam"
    with open(path, "wb") as out:
        for source, begin, end in plan["pieces"]:
            with open(source, "rb") as handle:
                _copy_range(handle, out, begin, end, source)
    return {"split": plan["split"], "shard": plan["shard"], "path": str(path),
            "examples": plan["examples"]}  # fmt: skip


class _PartFiles:
    """A unit's part files, one per split, written under temporary names until ``close``."""

    def __init__(self, folder: Path, unit: WorkUnit) -> None:
        self.folder = folder
        self.stem = f"{unit.order:05d}-{unit.start:09d}"
        self.handles: dict[str, Any] = {}
        self.sizes: dict[str, list[int]] = {}

    def path(self, split: str) -> Path:
        return self.folder / f"{split}-{self.stem}.part"

    def write(self, split: str, record: bytes) -> None:
        if split not in self.handles:
            self.handles[split] = open(self.path(split).with_suffix(".tmp"), "wb")
            self.sizes[split] = []
        framed = tfrecord_frame(record)
        self.handles[split].write(framed)
        self.sizes[split].append(len(framed))

    def close(self) -> dict[str, Any]:
        for split, handle in self.handles.items():
            handle.close()
            os.replace(self.path(split).with_suffix(".tmp"), self.path(split))
        return {split: {"path": str(self.path(split)), "sizes": self.sizes[split]}
                for split in self.handles}  # fmt: skip


class WindowUnits(beam.DoFn):
    """Decode, window, filter, split, encode and serialise the work units of one bucket,
    writing the records to the units' part files in ``parts_dir``; output: one summary per unit
    (with ``parts``: per split, the part file and the framed size of each record)."""

    def __init__(self, config: UnitConfig, parts_dir: str) -> None:
        super().__init__()
        self.config = config
        self.parts_dir = parts_dir
        self.estimator = None

    def setup(self) -> None:
        if self.config.teacher_flow is not None:
            from data_pipeline.teacher_flow import FlowEstimator, TeacherFlowConfig

            self.estimator = FlowEstimator(TeacherFlowConfig(**self.config.teacher_flow))

    def process(self, element: tuple[int, Iterable[WorkUnit]]) -> Iterator[dict[str, Any]]:
        _, bucket_units = element
        for unit in bucket_units:
            parts = _PartFiles(Path(self.parts_dir), unit)
            try:
                for kind, value in process_unit(unit, self.config, self.estimator):
                    if kind == "record":
                        split, record = value
                        parts.write(split, record)
                        Metrics.counter("fbnet_build", f"windows_{split}").inc()
                        continue
                    for reason, count in value["dropped"].items():
                        Metrics.counter("fbnet_build", f"dropped_{reason}").inc(count)
                    value["parts"] = parts.close()
                    yield value
            finally:
                for handle in parts.handles.values():
                    handle.close()


def _pipeline(
    units: list[tuple[int, WorkUnit]], config: UnitConfig, staging: Path, options: Any
) -> beam.Pipeline:
    shard_dir, parts_dir = staging / "beam-shards", staging / "beam-parts"
    shard_dir.mkdir()
    parts_dir.mkdir()
    pipeline = beam.Pipeline(options=options)
    summaries = (
        pipeline
        | "Units" >> beam.Create(units)
        | "Balance" >> beam.GroupByKey()
        | "Windows" >> beam.ParDo(WindowUnits(config, str(parts_dir)))
    )
    (
        summaries
        | "AllSummaries" >> beam.combiners.ToList()
        | "ShardPlan" >> beam.FlatMap(shard_pieces, config.shard_bytes)
        | "Spread" >> beam.Reshuffle()
        | "WriteShards" >> beam.Map(write_shard, str(shard_dir))
        | "ShardJson" >> beam.Map(json.dumps)
        | "ShardList" >> beam.io.WriteToText(str(staging / "beam-shard-list"), ".jsonl")
    )
    (
        summaries
        | "SummaryJson" >> beam.Map(json.dumps)
        | "Summaries" >> beam.io.WriteToText(str(staging / "beam-summaries"), ".jsonl")
    )
    return pipeline


def _read_jsonl(staging: Path, prefix: str) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(staging.glob(f"{prefix}*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return rows


def _pipeline_options(beam_options: Sequence[str]) -> Any:
    from apache_beam.options.pipeline_options import PipelineOptions

    given = list(beam_options)
    names = {option.split("=", 1)[0] for option in given}
    defaults = [o for o in DEFAULT_OPTIONS if o.split("=", 1)[0] not in names]
    if any(name == "--runner" for name in names):
        defaults = []  # another runner: only the user's flags
    return PipelineOptions(flags=[*defaults, *given])


def _parallelism(options: Any) -> tuple[int, bool]:
    """Workers to balance the units over, and whether the runner is the local DirectRunner."""
    view = options.get_all_options(drop_default=True)
    runner = str(view.get("runner") or "DirectRunner")
    if "Direct" in runner:
        return int(view.get("direct_num_workers") or 1), True
    return int(view.get("max_num_workers") or view.get("num_workers") or 8), False


def build_dataset_beam(
    sources: Sequence[str | Path],
    out_dir: str | Path,
    *,
    window: int = 3,
    stride: int = 1,
    size: tuple[int, int] | None = None,
    val_fraction: float = 0.1,
    split_by: str = "segment",
    filters: FilterConfig | None = None,
    shard_bytes: int = 128 << 20,
    overwrite: bool = False,
    teacher_flow: TeacherFlowConfig | None = None,
    beam_options: Sequence[str] = (),
) -> dict[str, Any]:
    """Build the dataset of :func:`data_pipeline.build.build_dataset` on Apache Beam.

    ``beam_options``: Beam pipeline flags (``--runner=...`` and the runner's own); without a
    ``--runner`` the DirectRunner runs in multi-threading mode on 2 workers. Returns the manifest.
    """
    from data_pipeline.build import BuildConfig, _plan_splits, _settings
    from data_pipeline.manifest import read_manifest
    from data_pipeline.sources import discover_clips
    from data_pipeline.writer import StagedDataset, check_output_dir

    config = BuildConfig(
        window=window,
        stride=stride,
        size=tuple(size) if size is not None else None,
        val_fraction=val_fraction,
        split_by=split_by,
        filters=filters or FilterConfig(),
        shard_bytes=shard_bytes,
        teacher_flow=teacher_flow,
    )
    out_dir = Path(out_dir)
    check_output_dir(out_dir, overwrite)
    options = _pipeline_options(beam_options)
    clips = discover_clips(sources, window=config.window)
    plans, _ = _plan_splits(clips, config)
    workers, local = _parallelism(options)
    units = plan_units(clips, plans, config, workers)
    if not local:  # a service runner balances the work itself: one key per unit
        units = [(key, unit) for key, (_, unit) in enumerate(units)]
    with StagedDataset(out_dir, shard_bytes=config.shard_bytes) as staged:
        pipeline = _pipeline(units, UnitConfig.from_build(config), staged.staging, options)
        pipeline.run().wait_until_finish()
        summaries = sorted(
            _read_jsonl(staged.staging, "beam-summaries"), key=lambda s: (s["order"], s["start"])
        )
        clip_records, dropped, shape = _merge_summaries(clips, summaries, config)
        shards = sorted(
            _read_jsonl(staged.staging, "beam-shard-list"), key=lambda s: (s["split"], s["shard"])
        )
        for shard in shards:
            staged.add_shard(shard["split"], shard["path"], shard["examples"])
        if staged.examples("train") + staged.examples("val") == 0:
            raise ValueError(
                f"no window survived the filters (dropped: {dict(dropped)}); loosen the filter "
                "thresholds or check the sources"
            )
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "window": config.window,
            "stride": config.stride,
            "frame_size": {"height": int(shape[0]), "width": int(shape[1])},
            "dropped": dict(dropped),
            "sources": [str(Path(s)) for s in sources],
            "clips": clip_records,
            "settings": _settings(config),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        staged.publish(manifest, SPLITS, overwrite)
    return read_manifest(out_dir)


def _merge_summaries(
    clips: Sequence[Clip], summaries: list[dict[str, Any]], config: BuildConfig
) -> tuple[list[dict[str, Any]], Counter, list[int]]:
    """Per-clip manifest records, dropped counts and the frame shape; raises the first error."""
    by_clip: dict[int, list[dict[str, Any]]] = {}
    for summary in summaries:
        by_clip.setdefault(summary["order"], []).append(summary)
    dropped: Counter = Counter({name: 0 for name in (*FILTER_NAMES, "split_gap")})
    shape: list[int] | None = None
    records = []
    for order, clip in enumerate(clips):
        parts = by_clip.get(order, [])
        for part in parts:
            if part["error"] is not None:
                raise _ERRORS.get(part["error"]["type"], RuntimeError)(part["error"]["message"])
        raw = {tuple(p["raw_shape"]) for p in parts if p["raw_shape"] is not None}
        if clip.kind != "video" and len(raw) > 1:
            (h0, w0), (h1, w1) = sorted(raw)[:2]
            raise ValueError(
                f"{clip.path}: frame sizes {w0}x{h0} and {w1}x{h1} differ in the same sequence"
            )
        frames = max((p["frames_end"] for p in parts), default=0)
        if frames < config.span:
            raise ValueError(
                f"{clip.path}: {frames} frames, shorter than one window ({config.span} "
                f"frames for --window {config.window} --stride {config.stride})"
            )
        for part in parts:
            if part["shape"] is None:
                continue
            if shape is None:
                shape = part["shape"]
            elif part["shape"] != shape:
                raise ValueError(
                    f"{clip.path}: frames are {part['shape'][1]}x{part['shape'][0]} but the "
                    f"dataset's frames are {shape[1]}x{shape[0]}; pass --size WIDTHxHEIGHT to "
                    "bring all sources to one size"
                )
        clip_dropped: Counter = Counter()
        counts: Counter = Counter()
        for part in parts:
            clip_dropped.update(part["dropped"])
            counts.update(part["examples"])
        dropped.update(clip_dropped)
        records.append(
            {
                "id": clip.clip_id,
                "kind": clip.kind,
                "path": str(clip.path),
                "frames": frames,
                "examples": {split: counts[split] for split in SPLITS},
                "dropped": dict(clip_dropped),
            }
        )
    return records, dropped, shape or [0, 0]
