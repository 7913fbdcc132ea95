"""``train.py`` as a user runs it: killed with SIGKILL mid-epoch and resumed; seeded runs.

Each test drives real ``train.py`` processes on a tiny model and dataset.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from data_pipeline.synthetic_build import ensure_synthetic_dataset
from fbnet.training.run_dir import load_run_model
from tests.train_helpers import TINY_DEEP_CNN_ARGS

REPO = Path(__file__).resolve().parents[1]
STEPS_PER_EPOCH = 60


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.getbasetemp() / "train-resume-w3"
    return ensure_synthetic_dataset(
        directory, num_windows=20, height=32, width=32, window=3, seed=3, progress=False
    )


def _env() -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    return env


def _command(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, str(REPO / "train.py"), "--model", "deep_cnn", "--data", str(data_dir),
        "--run-dir", str(run_dir), "--epochs", "3", "--steps-per-epoch", str(STEPS_PER_EPOCH),
        "--batch-size", "2", "--crop", "16", "--no-progress",
        "--set", "training.checkpoint_every_steps=5", "--set", "training.validation_steps=1",
        "--set", "training.image_windows=0", "--set", "training.log_every_steps=1",
        "--set", "optimizer.decay_per_epoch=0.5", *TINY_DEEP_CNN_ARGS, *extra,
    ]  # fmt: skip


def _index(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "checkpoints" / "index.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _learning_rates(run_dir: Path) -> dict[int, list[float]]:
    events = EventAccumulator(str(run_dir / "logs" / "train"), size_guidance={"tensors": 0})
    events.Reload()
    rates: dict[int, list[float]] = {}
    for event in events.Tensors("learning_rate"):
        rates.setdefault(event.step, []).append(float(tf.make_ndarray(event.tensor_proto)))
    return rates


# Generous limits: on a loaded 2-core machine TensorFlow's start-up alone can take minutes.
START_LIMIT_S = 600
RESUME_LIMIT_S = 900


@pytest.mark.slow
@pytest.mark.timeout(START_LIMIT_S + RESUME_LIMIT_S + 120)
def test_kill_9_mid_epoch_then_the_same_command_resumes(data_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    command = _command(data_dir, run_dir)
    # stderr goes to a file, not a pipe: a full pipe buffer would block the trainer.
    with open(tmp_path / "stderr.txt", "w+") as stderr:
        process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + START_LIMIT_S
        try:
            while True:  # wait for a checkpoint well inside epoch 2 (or 3), then kill -9
                index = _index(run_dir)
                records = index["checkpoints"] if index else []
                if any(r["epoch"] >= 1 and r["step_in_epoch"] >= 10 for r in records):
                    # Freeze it first, so it cannot finish between this check and the kill.
                    process.send_signal(signal.SIGSTOP)
                    break
                if process.poll() is not None:
                    stderr.seek(0)
                    pytest.fail(f"training ended before it could be killed: {stderr.read()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"no mid-epoch checkpoint within {START_LIMIT_S} s")
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == -signal.SIGKILL, "training finished before it was killed"
    latest = _index(run_dir)["checkpoints"][-1]
    killed_at, epoch = latest["step"], latest["epoch"]
    assert epoch >= 1 and 0 < latest["step_in_epoch"] < STEPS_PER_EPOCH

    resumed = subprocess.run(
        command, env=_env(), capture_output=True, text=True, timeout=RESUME_LIMIT_S
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    out = resumed.stdout
    checkpoint = run_dir / "checkpoints" / f"ckpt-{killed_at:08d}.keras"
    assert f"resuming from {checkpoint}: step {killed_at}, epoch {epoch + 1}" in out
    for done in range(epoch):  # finished epochs are not trained again
        assert f"epoch {done + 1}/3" not in out
    for rest in range(epoch, 3):
        assert f"epoch {rest + 1}/3  step {(rest + 1) * STEPS_PER_EPOCH}" in out

    final = _index(run_dir)["checkpoints"][-1]
    assert final["step"] == 3 * STEPS_PER_EPOCH
    # The optimizer's own step counter went on from the restored value (not from 0).
    assert final["optimizer_iterations"] == {"optimizer": 3 * STEPS_PER_EPOCH}
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))

    # The learning-rate schedule continued: 0.5x per epoch (epoch 2 at 0.5x, epoch 3 at 0.25x).
    rates = _learning_rates(run_dir)
    assert all(
        rates[step][-1] == pytest.approx(1e-3 * 0.5 ** ((step - 1) // STEPS_PER_EPOCH))
        for step in range(killed_at + 1, 3 * STEPS_PER_EPOCH + 1)
    )
    # Steps continue from the checkpoint: every step was logged, none skipped.
    assert set(rates) == set(range(1, 3 * STEPS_PER_EPOCH + 1))


SEEDED_SCRIPT = textwrap.dedent(
    """
    import sys
    from fbnet.training.cli import main
    args, root = sys.argv[1:-1], sys.argv[-1]
    assert main([*args, "--run-dir", f"{root}/a", "--seed", "5"]) == 0
    # b: only the resolved config of a; c: another seed
    assert main(["--config", f"{root}/a/config.yaml", "--run-dir", f"{root}/b"]) == 0
    assert main([*args, "--run-dir", f"{root}/c", "--seed", "6"]) == 0
    """
)


@pytest.mark.slow
def test_seeded_run_is_reproduced_from_its_config_yaml(data_dir: Path, tmp_path: Path) -> None:
    import keras

    script = tmp_path / "seeded.py"
    script.write_text(SEEDED_SCRIPT)
    args = _command(data_dir, tmp_path / "unused")[2:]
    args[args.index("--epochs") + 1] = "1"
    args[args.index("--steps-per-epoch") + 1] = "4"
    run_dir_at = args.index("--run-dir")
    del args[run_dir_at : run_dir_at + 2]
    done = subprocess.run(
        [sys.executable, str(script), *args, str(tmp_path)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    def weights(name: str) -> list[np.ndarray]:
        checkpoint = tmp_path / name / "checkpoints" / "ckpt-00000004.keras"
        model = load_run_model(tmp_path / name, str(checkpoint))
        return [keras.ops.convert_to_numpy(w) for w in model.weights]

    a, b, c = weights("a"), weights("b"), weights("c")
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, z) for x, z in zip(a, c))
