"""The training loop end to end, in-process, on tiny models and a tiny synthetic dataset.

Checks what a user relies on: the run directory contract, TensorBoard tags and values, the
checkpoints and ``best.keras``, resuming/extending a run, strict loading for inference, the
non-finite loss policies, window-size checks, the GAN's optimizers and learning-rate decay.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from data_pipeline.synthetic_build import ensure_synthetic_dataset
from fbnet.metrics import psnr
from fbnet.training import data as data_lib
from fbnet.training import trainer as trainer_lib
from fbnet.training.cli import EXIT_NON_FINITE
from fbnet.training.cli import main as cli_main
from fbnet.training.config import TrainConfig
from fbnet.training.config_io import from_dict, load_config_file
from fbnet.training.run_dir import RunDir, load_run_model
from fbnet.training.trainer import train
from tests.train_helpers import TINY_PARAMS, tiny_config


def _dataset(factory: pytest.TempPathFactory, window: int) -> Path:
    directory = factory.getbasetemp() / f"train-tiny-w{window}"
    return ensure_synthetic_dataset(
        directory, num_windows=20, height=32, width=32, window=window, seed=3, progress=False
    )


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _dataset(tmp_path_factory, 3)


@pytest.fixture(scope="session")
def tiny_data_w7(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _dataset(tmp_path_factory, 7)


def _events(directory: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(directory), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def _scalars(accumulator: EventAccumulator, tag: str) -> dict[int, float]:
    return {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)}


@pytest.mark.slow
def test_run_directory_tensorboard_checkpoints_and_resume(tiny_data: Path, tmp_path: Path):
    lines: list[str] = []
    run_dir = tmp_path / "run"
    result = train(tiny_config(tiny_data), run_dir, progress=False, log=lines.append)
    run = RunDir.at(run_dir)
    assert result.step == 6 and result.steps_run == 6

    # config.yaml is the fully resolved config: every constructor argument, a seed, the data.
    saved = from_dict(TrainConfig, load_config_file(run.config_path))
    assert saved.model.params["negative_slope"] == 0.2  # a default we did not pass
    assert saved.data.dir == str(tiny_data) and saved.training.seed == 1

    # checkpoints: every 2 steps inside an epoch and at each epoch end, the last 3 kept.
    names = sorted(p.name for p in run.checkpoints.glob("*.keras"))
    assert names == ["best.keras", "ckpt-00000003.keras", "ckpt-00000004.keras",
                     "ckpt-00000006.keras"]  # fmt: skip

    train_events, val_events = _events(run.train_logs), _events(run.validation_logs)
    train_tags = set(train_events.Tags()["tensors"])
    assert {"loss", "psnr", "ssim", "learning_rate", "steps_per_s", "samples_per_s"} <= train_tags
    assert sorted(_scalars(train_events, "loss")) == [1, 2, 3, 4, 5, 6]
    assert list(_scalars(train_events, "learning_rate").values()) == [pytest.approx(1e-3)] * 6
    assert all(v > 0 for v in _scalars(train_events, "samples_per_s").values())
    val_psnr = _scalars(val_events, "psnr")
    assert sorted(val_psnr) == [3, 6]
    assert val_psnr[6] == pytest.approx(result.history[-1]["val_psnr"], rel=1e-5)
    assert 0 < _scalars(val_events, "ssim")[6] <= 1
    images = val_events.Tensors("windows")
    assert len(images) == 2  # one grid per epoch
    # an image summary tensor holds [width, height, png, png]: two fixed windows, 5 panels each
    width, height = (int(v) for v in tf.make_ndarray(images[-1].tensor_proto)[:2])
    assert (width, height) == (5 * 32 + 4 * 2, 32) and len(images[-1].tensor_proto.string_val) == 4

    best = max(result.history, key=lambda h: h["val_psnr"])
    assert any(f"best checkpoint: {run.checkpoints / 'best.keras'}" in line for line in lines)
    assert any(
        f"python export.py --run-dir {run_dir} --out exports/deep_cnn" in line for line in lines
    )
    assert any(line.startswith("epoch 2/2  step 6") for line in lines)

    # load_run_model: the best checkpoint, in float32, validating like the run did.
    model = load_run_model(run_dir, "best")
    inputs, target = next(
        iter(data_lib.make_dataset(tiny_data, "val", batch_size=2, training=False))
    )

    assert float(tf.reduce_mean(psnr(target, model(inputs, training=False)))) == pytest.approx(
        best["val_psnr"], abs=1e-3
    )

    # Same command again: nothing left to do. With more epochs: resumes at step 6.
    lines.clear()
    again = train(tiny_config(tiny_data), run_dir, progress=False, log=lines.append)
    assert again.steps_run == 0 and any("already complete" in line for line in lines)
    longer = train(tiny_config(tiny_data, epochs=3), run_dir, progress=False, log=lines.append)
    assert (longer.step, longer.steps_run) == (9, 3)
    assert any("resuming from" in line and "ckpt-00000006.keras" in line for line in lines)
    assert sorted(_scalars(_events(run.train_logs), "loss"))[-3:] == [7, 8, 9]


def test_load_run_model_is_strict(tiny_data: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(tiny_config(tiny_data, epochs=1, steps_per_epoch=1), run_dir, progress=False,
          log=lambda _: None)  # fmt: skip
    assert isinstance(load_run_model(run_dir, "last"), keras.Model)
    with pytest.raises(FileNotFoundError, match="checkpoint 'nope.keras' not found"):
        load_run_model(run_dir, "nope.keras")
    config_path = RunDir.at(run_dir).config_path
    config_path.write_text(config_path.read_text().replace("expansion_filters: 4",
                                                           "expansion_filters: 6"))  # fmt: skip
    with pytest.raises(ValueError, match=r"does not match the run's model config.*expansion"):
        load_run_model(run_dir, "best")


def _poison_train_batches(monkeypatch: pytest.MonkeyPatch, bad_batch: int) -> None:
    """Make training batch number ``bad_batch`` (0-based) carry a NaN target."""
    original = data_lib.make_dataset

    def poisoned(data_dir, split="train", **kwargs):
        dataset = original(data_dir, split, **kwargs)
        if split != "train":
            return dataset

        def poison(index, batch):
            inputs, target = batch
            nan = tf.fill(tf.shape(target), float("nan"))
            return inputs, tf.where(index == bad_batch, nan, target)

        return dataset.enumerate().map(poison)

    monkeypatch.setattr(data_lib, "make_dataset", poisoned)


def test_non_finite_loss_stops_with_step_and_last_good_checkpoint(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    _poison_train_batches(monkeypatch, bad_batch=2)
    run_dir = tmp_path / "run"
    tiny = [f"--set=model.params.{k}={v}" for k, v in TINY_PARAMS["deep_cnn"].items()]
    argv = ["--model", "deep_cnn", "--data", str(tiny_data), "--run-dir", str(run_dir),
            "--crop", "16", "--batch-size", "2", "--no-progress",
            "--set", "training.checkpoint_every_steps=1", "--set", "training.validation_steps=1",
            *tiny]  # fmt: skip
    assert cli_main(argv) == EXIT_NON_FINITE
    message = capsys.readouterr().err
    assert "train.py: stopped: non-finite training values at step 3 (loss=nan" in message
    assert "ckpt-00000002.keras" in message and "nan_policy" in message
    checkpoints = RunDir.at(run_dir).checkpoints
    assert sorted(p.name for p in checkpoints.glob("ckpt-*.keras"))[-1] == "ckpt-00000002.keras"


def test_non_finite_batches_can_be_skipped(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _poison_train_batches(monkeypatch, bad_batch=1)
    lines: list[str] = []
    config = tiny_config(tiny_data, nan_policy="skip", epochs=1)
    result = train(config, tmp_path / "run", progress=False, log=lines.append)
    assert result.step == 3
    model = load_run_model(tmp_path / "run", "last")
    assert all(np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in model.weights)
    assert math.isfinite(result.history[0]["loss"])  # the epoch mean leaves the bad step out
    skipped = _scalars(_events(RunDir.at(tmp_path / "run").train_logs), "skipped_steps")
    assert skipped[1] == 0 and skipped[3] == 1
    assert any("skipped 1 non-finite steps" in line for line in lines)


def test_default_data_is_the_synthetic_dataset_built_once(tiny_data: Path, tmp_path: Path):
    config = tiny_config(tiny_data, epochs=1, steps_per_epoch=1)
    config.data.dir = None
    config.data.synthetic_root = str(tmp_path / "tfrecords")
    config.data.synthetic_windows, config.data.synthetic_height = 12, 32
    config.data.synthetic_width = 32
    lines: list[str] = []
    train(config, tmp_path / "a", progress=False, log=lines.append)
    manifest = tmp_path / "tfrecords" / "synthetic-w3" / "manifest.json"
    assert manifest.is_file() and f"training deep_cnn on {manifest.parent}" in lines[0]
    built = manifest.stat().st_mtime_ns
    train(config, tmp_path / "b", progress=False, log=lines.append)
    assert manifest.stat().st_mtime_ns == built  # reused, not rebuilt


def test_context_model_refuses_three_frame_windows(tiny_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'dncnn' needs 7-frame windows but .* holds 3-frame"):
        train(tiny_config(tiny_data, model="dncnn"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_context_model_trains_on_seven_frame_windows(tiny_data_w7: Path, tmp_path: Path):
    config = tiny_config(tiny_data_w7, model="dncnn", epochs=1, steps_per_epoch=2)
    result = train(config, tmp_path / "run", progress=False, log=lambda _: None)
    assert result.step == 2 and result.best_checkpoint is not None
    assert "windows" in _events(RunDir.at(tmp_path / "run").validation_logs).Tags()["tensors"]


@pytest.mark.slow
def test_gan_logs_both_optimizers_and_decays_their_learning_rate(tiny_data: Path, tmp_path):
    config = tiny_config(tiny_data, model="sin_gan", steps_per_epoch=2, log_every_steps=2)
    config.discriminator_optimizer.learning_rate = 5e-4
    result = train(config, tmp_path / "run", progress=False, log=lambda _: None)
    events = _events(RunDir.at(tmp_path / "run").train_logs)
    assert {"d_loss", "g_loss", "g_l1", "g_adversarial"} <= set(events.Tags()["tensors"])
    generator = _scalars(events, "learning_rate/generator")
    discriminator = _scalars(events, "learning_rate/discriminator")
    assert generator == {2: pytest.approx(1e-3), 4: pytest.approx(1e-3 * 0.96)}
    assert discriminator == {2: pytest.approx(5e-4), 4: pytest.approx(5e-4 * 0.96)}
    assert "val_psnr" in result.history[-1]
    model = load_run_model(tmp_path / "run", "last")
    assert type(model).__name__ == "SinGan"


@pytest.mark.slow
def test_fbnet_writes_flow_images(tiny_data: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_data, model="fbnet", epochs=1, steps_per_epoch=2)
    config.loss.name = "fbnet"  # the slides' loss, which logs each of its terms
    train(config, tmp_path / "run", progress=False, log=lambda _: None)
    events = _events(RunDir.at(tmp_path / "run").validation_logs)
    flow = events.Tensors("flow")
    assert len(flow) == 1
    width, height = (int(v) for v in tf.make_ndarray(flow[0].tensor_proto)[:2])
    assert (width, height) == (4 * 32 + 3 * 2, 32)
    train_tags = set(_events(RunDir.at(tmp_path / "run").train_logs).Tags()["tensors"])
    assert {"loss_ssim", "loss_psnr", "loss_l1", "loss_l2", "psnr", "ssim"} <= train_tags


@pytest.mark.parametrize(
    ("policy", "jit"),
    [("mixed_float16", "false"), ("mixed_bfloat16", "false"), ("float32", "true")],
)
def test_mixed_precision_and_xla_runs_load_back_in_float32(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str, jit: str
) -> None:
    # Force the policy the hardware check would pick on a GPU / a bfloat16 CPU.
    monkeypatch.setattr(trainer_lib, "precision_policy", lambda enabled: (policy, policy))
    config = tiny_config(
        tiny_data, epochs=1, steps_per_epoch=2, mixed_precision=policy != "float32", jit_compile=jit
    )
    lines: list[str] = []
    result = train(config, tmp_path / "run", progress=False, log=lines.append)
    assert math.isfinite(result.history[0]["loss"]) and any(policy in line for line in lines)
    assert keras.config.dtype_policy().name == "float32"  # restored after the run
    model = load_run_model(tmp_path / "run", "last")
    assert model.dtype_policy.name == "float32"
    assert model.layers[0].compute_dtype == "float32"
