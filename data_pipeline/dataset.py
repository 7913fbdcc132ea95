"""``make_dataset``: a batched ``tf.data.Dataset`` of ``(inputs, target)`` ready for Keras.

Inputs and targets are float32 in [0, 1]:

* ``input_mode="pair"``: ``inputs = {"frame0": [B, H, W, 3], "frame1": [B, H, W, 3],
  "time": [B]}`` with the first and last frames of each window; the target is the middle frame
  (``time_mode="middle"``, time 0.5 for odd windows) or, with ``time_mode="random"``, frame ``i``
  drawn uniformly from ``1 .. K-2`` per example with ``time = i / (K - 1)``.
* ``input_mode="context"``: ``inputs = {"context": [B, K-1, H, W, 3]}``, every frame but the
  middle one in temporal order; the target is the middle frame.

Training reads the shards in random order (records interleaved from several shards), shuffles
records, repeats them and batches them (dropping the last partial batch) before any parsing: one
parse and one draw of random numbers (a vector per window) per batch, which costs less per window
than doing both per record. Then per window: temporal reversal (the used frames taken last to
first: ``frame0``/``frame1`` swapped, ``time -> 1 - time``, context reversed), decode only the
frames it uses, one random crop position for all of them. Then per batch: random
vertical/horizontal flips and a transposition (so with the flips: any 90-degree rotation; only
when the output is square), drawn per example from the draws batched alongside and fused by XLA
with the conversion to float into one pass over the pixels; then prefetch. Randomness is per
example and, with ``seed``, repeatable (the pipeline then runs deterministically, otherwise out of
order for speed).
Evaluation is deterministic: shards in order, no augmentation, centre crop (or full frames), no
repetition.
``cache`` keeps decoded frames in memory (``True``) or in a cache file (a path), so later epochs
skip PNG decoding; augmentation still differs every epoch.
``teacher_flow=True`` (datasets built with ``--teacher-flow``, pair mode) adds the window's teacher
flows to the inputs, float32 ``[B, H, W, 2]`` in FBNet's convention (see
:mod:`data_pipeline.teacher_flow`): ``teacher_flow_01`` (warps ``frame0`` onto ``frame1``) and
``teacher_flow_10``, plus, when the target is the middle frame (``time_mode="middle"``),
``teacher_flow0`` / ``teacher_flow1`` (warp ``frame0`` / ``frame1`` onto the target). They are
cropped with the frames, swapped by temporal reversal, and flipped/transposed with them (flips
negate the flipped component, a transposition swaps the components).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tensorflow as tf

from data_pipeline import teacher_flow as teacher
from data_pipeline.augment import (
    TIME,
    batch_draws,
    crop_offsets,
    flip_transpose_batch,
    maybe_reversed,
    reverse_order,
    window_draws,
)
from data_pipeline.manifest import read_manifest, shard_files
from data_pipeline.tfrecord_format import parse_encoded

INPUT_MODES = ("pair", "context")
TIME_MODES = ("middle", "random")
AUTOTUNE = tf.data.AUTOTUNE
FULL_VERIFY_LIMIT = 1 << 30  # "auto" verification checksums shards up to this total size
# Shards are local files and records are large (hundreds of KB): unbuffered reads put each record
# straight into its tensor, where a read buffer would add a copy of every byte.
READ_BUFFER = 0


def _crop_size(crop: int | tuple[int, int] | None, frame_hw: tuple[int, int]):
    if crop is None:
        return None
    height, width = (crop, crop) if isinstance(crop, int) else tuple(crop)
    if height < 1 or width < 1:
        raise ValueError(f"crop must be positive, got {crop}")
    if height > frame_hw[0] or width > frame_hw[1]:
        raise ValueError(
            f"crop {height}x{width} (HxW) is larger than the dataset's frames "
            f"{frame_hw[0]}x{frame_hw[1]}"
        )
    return int(height), int(width)


def _resolve_verify(verify: str, manifest: dict[str, Any], split: str) -> str:
    if verify != "auto":
        return verify
    total = sum(shard["bytes"] for shard in manifest["splits"][split]["shards"])
    return "full" if total <= FULL_VERIFY_LIMIT else "size"


def make_dataset(
    data_dir: str | Path,
    split: str = "train",
    *,
    batch_size: int,
    crop: int | tuple[int, int] | None = None,
    training: bool = True,
    input_mode: str = "pair",
    time_mode: str = "middle",
    window: int | None = None,
    cache: bool | str = False,
    shuffle_buffer: int = 256,
    seed: int | None = None,
    repeat: bool | None = None,
    purpose: str | None = None,
    verify: str = "auto",
    teacher_flow: bool = False,
) -> tf.data.Dataset:
    """Stream ``split`` of the dataset in ``data_dir`` as ``(inputs, target)`` batches.

    Args:
        batch_size: examples per batch (>= 1).
        crop: ``(height, width)`` or a side for square crops; random in training, centred in
            evaluation. ``None`` keeps full frames.
        window: the window length the caller needs; a dataset with another one is refused.
        cache: ``True`` for an in-memory decoded-frame cache, or a file path prefix.
        seed: makes shuffling and augmentation repeatable (and the pipeline deterministic).
        repeat: defaults to ``training``.
        purpose: a name (e.g. the model) used in error messages.
        verify: shard check before reading: ``"size"``, ``"full"`` (CRC-32 of every shard),
            ``"none"``, or ``"auto"`` (full up to 1 GiB of shards, else size). Errors name the file.
        teacher_flow: add the stored teacher flows to the inputs (see the module docstring); a
            dataset built without them is refused.
    """
    data_dir = Path(data_dir)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if input_mode not in INPUT_MODES:
        raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {input_mode!r}")
    if time_mode not in TIME_MODES:
        raise ValueError(f"time_mode must be one of {TIME_MODES}, got {time_mode!r}")
    manifest = read_manifest(data_dir)
    k = int(manifest["window"])
    if window is not None and window != k:
        who = f"model {purpose}" if purpose else "the caller"
        raise ValueError(
            f"{who} needs {window}-frame windows but {data_dir} holds {k}-frame windows; build "
            f"a dataset with `fbnet data build --window {window}`"
        )
    if k < 3:
        raise ValueError(f"{data_dir} holds {k}-frame windows; at least 3 are needed")
    if split not in manifest["splits"]:
        raise ValueError(f"{data_dir} has no split {split!r}; it has {sorted(manifest['splits'])}")
    if teacher_flow and teacher.manifest_settings(manifest) is None:
        raise ValueError(
            f"{data_dir} holds no teacher flows (teacher_flow={teacher_flow}); rebuild it with "
            "`fbnet data build ... --teacher-flow dis`"
        )
    if teacher_flow and input_mode != "pair":
        raise ValueError(f"teacher flows need input_mode 'pair', got {input_mode!r}")
    files = shard_files(data_dir, manifest, split, verify=_resolve_verify(verify, manifest, split))
    if manifest["splits"][split]["examples"] == 0 or not files:
        raise ValueError(f"{data_dir} has no {split!r} windows (manifest: 0 examples)")
    frame_hw = (int(manifest["frame_size"]["height"]), int(manifest["frame_size"]["width"]))
    crop_hw = _crop_size(crop, frame_hw)
    out_hw = crop_hw or frame_hw
    rotate = training and out_hw[0] == out_hw[1]
    repeat = training if repeat is None else repeat
    mid = k // 2

    # Frames decoded up front (for the cache and evaluation): only those any example can use.
    full = input_mode == "context" or time_mode == "random"
    stored = list(range(k)) if full else [0, mid, k - 1]
    # Teacher flows used: the input pair's, plus the middle target's when the target is fixed.
    flow_keys = teacher.INPUT_KEYS if time_mode == "middle" else teacher.INPUT_KEYS[:2]

    def window_flows(stored_flows: tf.Tensor, scale, reverse, top, left) -> tf.Tensor:
        """Stored uint16 flows ``[H, W, 8]`` -> float32 ``[h, w, 2 * len(flow_keys)]``, cropped
        at ``(top, left)`` and swapped for a reversed window."""
        stored_flows = tf.ensure_shape(stored_flows, [*frame_hw, 8])
        flows = tf.slice(stored_flows, tf.stack([top, left, 0]), [*out_hw, 8])
        flows = tf.where(reverse, teacher.reverse_flows(flows), flows)
        return teacher.to_pixels(flows[..., : 2 * len(flow_keys)], scale)

    def pick(draws: tf.Tensor | list[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        """Target frame (index into the window) and its time; context mode uses the middle."""
        if input_mode == "pair" and time_mode == "random":
            i = tf.minimum(1 + tf.cast(draws[TIME] * (k - 2), tf.int32), k - 2)
            return i, tf.cast(i, tf.float32) / float(k - 1)
        return tf.constant(mid), tf.constant(0.5)

    def select(items: list, target: tf.Tensor) -> list:
        """The used ones of ``items`` (one per frame in ``stored``), in temporal order."""
        if input_mode == "pair" and full:  # first, target, last
            middle = tf.switch_case(target - 1, [lambda item=item: item for item in items[1:-1]])
            return [items[0], middle, items[-1]]
        return items

    def decode(encoded: tf.Tensor) -> tf.Tensor:
        return tf.ensure_shape(tf.io.decode_png(encoded, channels=3), [*frame_hw, 3])

    def from_encoded(encoded: list[tf.Tensor], draws: tf.Tensor, flow_parsed=None):
        """One training window from the PNG strings of ``stored`` and its draws ``[7]``: decode
        just the frames it uses, in its order, and crop them (and its teacher flows)."""
        scalars = tf.unstack(draws)  # one op for all the draws
        target, time = pick(scalars)
        reverse = reverse_order(scalars)
        frames = [decode(s) for s in maybe_reversed(select(encoded, target), reverse)]
        top, left = tf.constant(0), tf.constant(0)
        if crop_hw is not None:
            top, left = crop_offsets(frame_hw, out_hw, scalars)
            begin = tf.stack([top, left, 0])
            frames = [tf.slice(f, begin, [*out_hw, 3]) for f in frames]
        flows = None
        if flow_parsed is not None:
            stored_flows = teacher.decode_stored(flow_parsed)
            flows = window_flows(stored_flows, flow_parsed[teacher.SCALE_KEY], reverse, top, left)
        return frames, tf.where(reverse, 1.0 - time, time), flows

    def from_records(records: tf.Tensor, seed_pair: tf.Tensor):
        """Training without cache: a batch of serialised windows -> uint8 frames per position,
        times and draws ``[B, 7]``, parsed and drawn for the whole batch at once."""
        draws = batch_draws(seed_pair, batch_size)
        columns = [tf.unstack(s, num=batch_size) for s in parse_encoded(records, k, frames=stored)]
        rows = tf.unstack(draws, num=batch_size)
        parsed_flows = [None] * batch_size
        if teacher_flow:
            parsed = tf.io.parse_example(records, teacher.feature_spec())
            per_key = {key: tf.unstack(value, num=batch_size) for key, value in parsed.items()}
            parsed_flows = [{key: v[b] for key, v in per_key.items()} for b in range(batch_size)]
        windows = [
            from_encoded(list(strings), row, flows)
            for strings, row, flows in zip(zip(*columns), rows, parsed_flows)
        ]
        frames = tuple(tf.stack(position) for position in zip(*(w[0] for w in windows)))
        times = tf.stack([w[1] for w in windows])
        if teacher_flow:
            return frames, times, draws, tf.stack([w[2] for w in windows])
        return frames, times, draws

    def from_stack(decoded, seed_pair: tf.Tensor):
        """From decoded frames ``stored`` [S, H, W, 3] (with teacher flows: and the stored
        flows and their scale): one slice per used frame."""
        stack, stored_flows, scale = decoded if teacher_flow else (decoded, None, None)
        draws = window_draws(seed_pair)
        target, time = pick(draws)
        if input_mode == "pair" and full:
            indices = tf.stack([0, target, k - 1])
        else:
            indices = tf.range(len(stored))  # ``stored`` holds exactly the used frames
        reverse = tf.constant(False)
        if training:
            reverse = reverse_order(draws)
            indices = tf.where(reverse, indices[::-1], indices)
            time = tf.where(reverse, 1.0 - time, time)
        top, left = (tf.constant(0), tf.constant(0))
        if crop_hw is not None:
            top, left = crop_offsets(frame_hw, out_hw, draws if training else None)
        frames = tuple(
            tf.slice(stack, [indices[j], top, left, 0], [1, *out_hw, 3])[0]
            for j in range(len(stored) if input_mode == "context" else 3)
        )
        if teacher_flow:
            return frames, time, draws, window_flows(stored_flows, scale, reverse, top, left)
        return frames, time, draws

    options = tf.data.Options()
    options.deterministic = not training or seed is not None
    parallel = {"num_parallel_calls": AUTOTUNE, "deterministic": options.deterministic}
    files_ds = tf.data.Dataset.from_tensor_slices([str(p) for p in files])
    if training and len(files) > 1:
        # Shards in random order, records interleaved from up to 8 of them. Reading is cheap next
        # to decoding, so a sequential interleave (no extra threads) keeps up.
        files_ds = files_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        records = files_ds.interleave(
            lambda path: tf.data.TFRecordDataset(path, buffer_size=READ_BUFFER),
            cycle_length=min(len(files), 8),
        )
    else:
        records = tf.data.TFRecordDataset(files_ds, buffer_size=READ_BUFFER)

    def with_seeds(ds: tf.data.Dataset) -> tf.data.Dataset:
        seeds = tf.data.Dataset.random(seed=seed if (training or seed is not None) else 0)
        return tf.data.Dataset.zip(ds, seeds.batch(2))

    def decode_record(record: tf.Tensor):
        stack = tf.stack([decode(s) for s in parse_encoded(record, k, frames=stored)])
        if not teacher_flow:
            return stack
        parsed = tf.io.parse_single_example(record, teacher.feature_spec())
        return stack, teacher.decode_stored(parsed), parsed[teacher.SCALE_KEY]

    if cache or not training:
        decoded = records.map(decode_record, **parallel)
        if cache:
            decoded = decoded.cache("" if cache is True else str(cache))
        if training:
            decoded = decoded.shuffle(shuffle_buffer, seed=seed)
        if repeat:
            decoded = decoded.repeat()
        examples = with_seeds(decoded).map(from_stack, **parallel)
        batches = examples.batch(batch_size, drop_remainder=training, **parallel)
    else:
        records = records.shuffle(shuffle_buffer, seed=seed)
        if repeat:
            records = records.repeat()
        records = records.batch(batch_size, drop_remainder=True)
        batches = with_seeds(records).map(from_records, **parallel)

    def to_model(frames: tuple[tf.Tensor, ...], time: tf.Tensor, draws: tf.Tensor, flows=None):
        """uint8 batches -> augmented float32 in [0, 1], split into the model's inputs."""
        if training:
            frames = flip_transpose_batch(frames, draws, transpose=rotate)
            if flows is not None:
                flows = teacher.flip_transpose_flows(flows, draws, transpose=rotate)
            floats = [tf.cast(f, tf.float32) * (1.0 / 255.0) for f in frames]
        else:
            # x / 255 in one pass over the data (cast-then-scale takes two outside XLA)
            floats = [
                tf.quantization.dequantize(tf.bitcast(f, tf.quint8), 0.0, 1.0, mode="MIN_COMBINED")
                for f in frames
            ]
        if input_mode == "context":
            return {"context": tf.stack(floats[:mid] + floats[mid + 1 :], axis=1)}, floats[mid]
        inputs = {"frame0": floats[0], "frame1": floats[2], "time": time}
        if flows is not None:
            inputs.update({key: flows[..., 2 * i : 2 * i + 2] for i, key in enumerate(flow_keys)})
        return inputs, floats[1]

    # In training the flips, transposition and float conversion fuse into one XLA pass.
    batches = batches.map(tf.function(to_model, jit_compile=training), **parallel)
    return batches.prefetch(AUTOTUNE).with_options(options)
