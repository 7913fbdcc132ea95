"""Data-parallel training: two logical CPU devices (MirroredStrategy) and two local workers.

Both need fresh processes: logical devices must be configured before TensorFlow starts, and
each multi-worker process is one worker of the cluster.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from data_pipeline.synthetic_build import ensure_synthetic_dataset
from tests.train_helpers import TINY_DEEP_CNN_ARGS

REPO = Path(__file__).resolve().parents[1]

MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from fbnet.training.distribute import configure_devices, make_strategy
    configure_devices(2)
    import keras
    import tensorflow as tf
    from fbnet.training.nan_guard import StateRollback
    from fbnet.training.steps import build_training_state, make_train_function

    mirrored = make_strategy("mirrored", logical_cpus=2)
    single = tf.distribute.get_strategy()
    rng = np.random.default_rng(0)
    x = rng.random((8, 5)).astype("float32")
    y = rng.random((8, 1)).astype("float32")
    y_bad = y.copy()
    y_bad[6] = np.nan  # only in the second replica's half of the batch

    def make(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3),
                                      keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
            build_training_state(model, (x, y))
        rollback = StateRollback(model.weights + model.optimizer.variables, strategy)
        step = make_train_function(model, strategy)
        def run(xx, yy):
            data = tf.data.Dataset.from_tensor_slices((xx, yy)).batch(8)
            logs = step(iter(strategy.experimental_distribute_dataset(data)))
            rollback.commit(bool(np.isfinite(float(logs["loss"]))))
            return logs
        return model, run

    results = {"replicas": mirrored.num_replicas_in_sync}
    (m1, run1), (m2, run2) = make(single), make(mirrored)
    results["loss"] = [float(run1(x, y)["loss"]), float(run2(x, y)["loss"])]
    results["max_weight_diff"] = max(
        float(np.max(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b))))
        for a, b in zip(m1.weights, m2.weights))
    before = [keras.ops.convert_to_numpy(w) for w in m2.weights]
    results["bad_loss"] = float(run2(x, y_bad)["loss"])
    results["unchanged_after_bad"] = all(
        np.array_equal(a, keras.ops.convert_to_numpy(b)) for a, b in zip(before, m2.weights))
    results["iterations"] = int(m2.optimizer.iterations.numpy())
    print("RESULTS " + json.dumps(results), flush=True)
    """
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.getbasetemp() / "train-distribute-w3"
    return ensure_synthetic_dataset(
        directory, num_windows=20, height=32, width=32, window=3, seed=3, progress=False
    )


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _train_args(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        "--model", "deep_cnn", "--data", str(data_dir), "--run-dir", str(run_dir),
        "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "--crop", "16",
        "--no-progress", "--set", "training.validation_steps=1",
        "--set", "training.image_windows=1", *TINY_DEEP_CNN_ARGS, *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus(data_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.split("RESULTS ", 1)[1].splitlines()[0])
    assert results["replicas"] == 2
    # Same global batch, same update: the loss is scaled per replica, gradients are summed.
    assert results["loss"][0] == pytest.approx(results["loss"][1], rel=1e-5)
    assert results["max_weight_diff"] < 1e-6
    # A NaN on one replica: the step is undone on both replicas.
    assert not results["bad_loss"] == results["bad_loss"]  # NaN
    assert results["unchanged_after_bad"] and results["iterations"] == 1
    # train.py itself runs data-parallel on the two devices (in its own process: two
    # strategies over the same devices in one process would share collective keys).
    args = _train_args(data_dir, tmp_path / "run", "--distribute", "mirrored",
                       "--set", "training.logical_cpus=2")  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(REPO / "train.py"), *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 replica(s)" in done.stdout
    assert re.search(r"epoch 1/1  step 2 .*ckpt-00000002\.keras", done.stdout)


GAN_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from fbnet.training.distribute import configure_devices, make_strategy
    configure_devices(2)
    import keras
    import tensorflow as tf
    from fbnet.models.sin_gan import SinGan

    mirrored = make_strategy("mirrored", logical_cpus=2)
    rng = np.random.default_rng(0)
    frames = rng.random((3, 8, 16, 16, 3)).astype("float32")
    inputs = {"frame0": frames[0], "frame1": frames[2], "time": np.full(8, 0.5, "float32")}

    def updates(strategy, batch):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = SinGan(encoder_filters=(4, 8), decoder_filters=(8, 4),
                           discriminator_filters=(4, 8), dropout_rate=0.0)
            model.compile(g_optimizer=keras.optimizers.SGD(1e-3),
                          d_optimizer=keras.optimizers.SGD(1e-3))
        weights = model.generator.trainable_weights + model.discriminator.trainable_weights
        before = np.concatenate([keras.ops.convert_to_numpy(w).ravel() for w in weights])
        x = {key: value[batch] for key, value in inputs.items()}
        model.fit(x, frames[1][batch], batch_size=len(frames[1][batch]), epochs=1, verbose=0,
                  shuffle=False)
        after = np.concatenate([keras.ops.convert_to_numpy(w).ravel() for w in weights])
        return after - before

    # Each replica normalises with its own half batch, so the reference for the two-replica
    # update is the mean of the single-device updates on the two halves.
    single = tf.distribute.get_strategy()
    reference = (updates(single, slice(0, 4)) + updates(single, slice(4, 8))) / 2
    multi = updates(mirrored, slice(0, 8))
    ratio = float(np.linalg.norm(multi) / np.linalg.norm(reference))
    error = float(np.linalg.norm(multi - reference) / np.linalg.norm(reference))
    print("RESULTS " + json.dumps({"ratio": ratio, "error": error}), flush=True)
    """
)


@pytest.mark.slow
def test_gan_update_on_two_replicas_matches_one_device(tmp_path: Path) -> None:
    script = tmp_path / "gan_mirrored.py"
    script.write_text(GAN_MIRRORED_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.split("RESULTS ", 1)[1].splitlines()[0])
    # Losses scaled per replica and gradients summed: the update equals the mean of the
    # per-half updates (an unscaled per-replica loss would make it twice as large).
    assert abs(results["ratio"] - 1.0) < 0.02 and results["error"] < 0.02, results


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# What a worker prints when another process took its port between _free_ports and its bind.
PORT_TAKEN = ("Address already in use", "Failed to bind", "address is already in use")


def _run_workers(data_dir: Path, run_dir: Path, ports: list[int]) -> list[tuple[int, str, str]]:
    """Run both workers of a two-worker cluster to the end; ``[(returncode, stdout, stderr)]``.

    Output goes to files (a full pipe would block a worker while the other is polled).
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes, logs = [], []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        out = open(run_dir.parent / f"{run_dir.name}-{index}.out", "w+")
        err = open(run_dir.parent / f"{run_dir.name}-{index}.err", "w+")
        logs.append((out, err))
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(REPO / "train.py"),
                    *_train_args(data_dir, run_dir, "--distribute", "multiworker"),
                ],
                env=_env(TF_CONFIG=tf_config),
                stdout=out,
                stderr=err,
                text=True,
            )  # fmt: skip
        )
    deadline = time.monotonic() + 600
    try:
        # A worker that failed (e.g. could not bind) leaves its peer waiting: stop the peer too.
        while any(p.poll() is None for p in processes):
            if any(p.returncode not in (None, 0) for p in processes):
                break
            if time.monotonic() > deadline:
                pytest.fail("the two workers did not finish within 600 s")
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
    outputs = []
    for process, (out, err) in zip(processes, logs):
        out.seek(0)
        err.seek(0)
        outputs.append((process.returncode, out.read(), err.read()))
        out.close()
        err.close()
    return outputs


@pytest.mark.slow
@pytest.mark.timeout(3 * 600 + 120)
def test_two_workers_on_localhost(data_dir: Path, tmp_path: Path) -> None:
    # A freed port can be taken by another process before a worker binds it (other test runs on
    # a loaded machine): then start again on fresh ports, up to three times.
    for attempt in range(3):
        run_dir = tmp_path / f"run-{attempt}"
        outputs = _run_workers(data_dir, run_dir, _free_ports(2))
        if not any(rc != 0 and any(t in err for t in PORT_TAKEN) for rc, _, err in outputs):
            break
    for returncode, _stdout, stderr in outputs:
        assert returncode == 0, stderr[-3000:]
    chief, worker = outputs[0][1], outputs[1][1]
    assert "2 replica(s)" in chief
    chief_line = re.search(r"epoch 1/1  step 2  (.*?) \|", chief).group(1)
    worker_line = re.search(r"epoch 1/1  step 2  (.*?) \|", worker).group(1)
    assert chief_line == worker_line  # both workers report the all-reduced loss
    checkpoints = run_dir / "checkpoints"
    assert (checkpoints / "ckpt-00000002.keras").is_file()
    assert "[worker 1] epoch 1/1" in worker and "->" not in worker.split("[worker 1]")[1]
    assert not list(run_dir.glob("worker-*"))
