"""``make_dataset``: a batched ``tf.data.Dataset`` of ``(inputs, target)`` ready for Keras.

The steps, each its own function: :func:`~data_pipeline.dataset_plan.plan_dataset` checks the
request against the manifest; :func:`read_records` streams the shards;
:func:`stream_batches` (training) or :func:`decoded_batches` (cache or evaluation) make batches
of uint8 windows through the one per-window augmentation path,
:func:`~data_pipeline.window_examples.window_example`; and
:func:`~data_pipeline.window_examples.to_model_inputs` turns each batch into the model's inputs.

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

import tensorflow as tf

from data_pipeline import teacher_flow as teacher
from data_pipeline.augment import batch_draws, window_draws
from data_pipeline.dataset_plan import (
    FULL_VERIFY_LIMIT,
    INPUT_MODES,
    TIME_MODES,
    DatasetPlan,
    plan_dataset,
)
from data_pipeline.tfrecord_format import parse_encoded
from data_pipeline.window_examples import decode_frame, to_model_inputs, window_example

__all__ = [
    "FULL_VERIFY_LIMIT",
    "INPUT_MODES",
    "TIME_MODES",
    "decoded_batches",
    "make_dataset",
    "read_records",
    "stream_batches",
]

AUTOTUNE = tf.data.AUTOTUNE
# Shards are local files and records are large (hundreds of KB): unbuffered reads put each record
# straight into its tensor, where a read buffer would add a copy of every byte.
READ_BUFFER = 0


def read_records(plan: DatasetPlan, seed: int | None = None) -> tf.data.Dataset:
    """The split's serialised windows: in shard order for evaluation; in training, shards in a
    random order (reshuffled every pass) with records interleaved from up to 8 of them."""
    files_ds = tf.data.Dataset.from_tensor_slices([str(p) for p in plan.files])
    if not (plan.training and len(plan.files) > 1):
        return tf.data.TFRecordDataset(files_ds, buffer_size=READ_BUFFER)
    # Reading is cheap next to decoding, so a sequential interleave (no extra threads) keeps up.
    files_ds = files_ds.shuffle(len(plan.files), seed=seed, reshuffle_each_iteration=True)
    return files_ds.interleave(
        lambda path: tf.data.TFRecordDataset(path, buffer_size=READ_BUFFER),
        cycle_length=min(len(plan.files), 8),
    )


def _with_seeds(plan: DatasetPlan, ds: tf.data.Dataset, seed: int | None) -> tf.data.Dataset:
    """Pair every element with its own stateless seed ``[2]`` (fixed in unseeded evaluation)."""
    seeds = tf.data.Dataset.random(seed=seed if (plan.training or seed is not None) else 0)
    return tf.data.Dataset.zip(ds, seeds.batch(2))


def stream_batches(
    plan: DatasetPlan,
    records: tf.data.Dataset,
    *,
    shuffle_buffer: int,
    seed: int | None,
    parallel: dict,
) -> tf.data.Dataset:
    """Training without a cache: shuffle, repeat and batch the serialised windows, then parse
    and draw once per batch and make each window with :func:`window_example` (which decodes
    only the frames it uses)."""
    batch_size = plan.batch_size

    def from_records(serialised: tf.Tensor, seed_pair: tf.Tensor):
        draws = tf.unstack(batch_draws(seed_pair, batch_size), num=batch_size)
        parsed = parse_encoded(serialised, plan.k, frames=plan.stored)
        columns = [tf.unstack(strings, num=batch_size) for strings in parsed]
        flows = [None] * batch_size
        if plan.teacher_flow:
            stored = tf.io.parse_example(serialised, teacher.feature_spec())
            per_key = {key: tf.unstack(value, num=batch_size) for key, value in stored.items()}
            flows = [
                (teacher.decode_stored({key: v[b] for key, v in per_key.items()}),
                 per_key[teacher.SCALE_KEY][b])
                for b in range(batch_size)
            ]  # fmt: skip
        windows = [
            window_example(plan, strings, row, window_flows)
            for strings, row, window_flows in zip(zip(*columns), draws, flows)
        ]
        frames = tuple(tf.stack(position) for position in zip(*(w[0] for w in windows)))
        return (frames, *(tf.stack(field) for field in zip(*(w[1:] for w in windows))))

    records = records.shuffle(shuffle_buffer, seed=seed)
    if plan.repeat:
        records = records.repeat()
    records = records.batch(batch_size, drop_remainder=True)
    return _with_seeds(plan, records, seed).map(from_records, **parallel)


def decoded_batches(
    plan: DatasetPlan,
    records: tf.data.Dataset,
    *,
    cache: bool | str,
    shuffle_buffer: int,
    seed: int | None,
    parallel: dict,
) -> tf.data.Dataset:
    """With a cache, or for evaluation: decode every stored frame once per record (kept by the
    cache), then make each window with :func:`window_example` and batch them."""

    def decode_record(record: tf.Tensor):
        frames = tuple(
            decode_frame(plan, s) for s in parse_encoded(record, plan.k, frames=plan.stored)
        )
        if not plan.teacher_flow:
            return frames, ()
        stored = tf.io.parse_single_example(record, teacher.feature_spec())
        return frames, (teacher.decode_stored(stored), stored[teacher.SCALE_KEY])

    def from_decoded(decoded, seed_pair: tf.Tensor):
        frames, stored_flows = decoded
        return window_example(plan, frames, window_draws(seed_pair), stored_flows or None)

    decoded = records.map(decode_record, **parallel)
    if cache:
        decoded = decoded.cache("" if cache is True else str(cache))
    if plan.training:
        decoded = decoded.shuffle(shuffle_buffer, seed=seed)
    if plan.repeat:
        decoded = decoded.repeat()
    examples = _with_seeds(plan, decoded, seed).map(from_decoded, **parallel)
    return examples.batch(plan.batch_size, drop_remainder=plan.training, **parallel)


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
    plan = plan_dataset(
        data_dir,
        split,
        batch_size=batch_size,
        crop=crop,
        training=training,
        input_mode=input_mode,
        time_mode=time_mode,
        window=window,
        repeat=repeat,
        purpose=purpose,
        verify=verify,
        teacher_flow=teacher_flow,
    )
    options = tf.data.Options()
    options.deterministic = not training or seed is not None
    parallel = {"num_parallel_calls": AUTOTUNE, "deterministic": options.deterministic}
    records = read_records(plan, seed)
    if cache or not training:
        batches = decoded_batches(
            plan, records, cache=cache, shuffle_buffer=shuffle_buffer, seed=seed, parallel=parallel
        )
    else:
        batches = stream_batches(
            plan, records, shuffle_buffer=shuffle_buffer, seed=seed, parallel=parallel
        )

    def to_model(frames: tuple[tf.Tensor, ...], time: tf.Tensor, draws: tf.Tensor, flows=None):
        return to_model_inputs(plan, frames, time, draws, flows)

    # In training the flips, transposition and float conversion fuse into one XLA pass.
    batches = batches.map(tf.function(to_model, jit_compile=training), **parallel)
    return batches.prefetch(AUTOTUNE).with_options(options)
