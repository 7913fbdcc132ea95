"""``training.init_from`` / ``train.py --init-from``: a new run starts from trained weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_pipeline.synthetic_build import ensure_synthetic_dataset
from fbnet.training.config import TrainConfig
from fbnet.training.defaults import default_config
from fbnet.training.init_from import init_source
from fbnet.training.run_dir import RunDir, load_run_model
from fbnet.training.trainer import train

TINY = {
    "expansion_filters": 4,
    "spatial_filters": [4, 4],
    "spatial_kernel_sizes": [3, 3],
    "head_filters": [4],
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_synthetic_dataset(
        tmp_path_factory.mktemp("init-from") / "w3",
        num_windows=12, height=32, width=32, window=3, seed=5, progress=False,
    )  # fmt: skip


def config(data_dir: Path, init_from: str | None = None, epochs: int = 1, **params) -> TrainConfig:
    config = default_config("deep_cnn")
    config.model.params = {**TINY, **params}
    config.data.dir = str(data_dir)
    config.data.crop = 16
    config.data.batch_size = 2
    config.training.epochs = epochs
    config.training.steps_per_epoch = 2
    config.training.validation_steps = 1
    config.training.checkpoint_every_steps = 2
    config.training.image_windows = 0
    config.training.seed = 3
    config.training.init_from = init_from
    return config.validate()


def weights(run_dir: Path, which: str = "last") -> list[np.ndarray]:
    return load_run_model(run_dir, which).get_weights()


def test_new_run_starts_from_the_source_weights_and_resume_ignores_it(data_dir, tmp_path):
    source = tmp_path / "source"
    train(config(data_dir), source, progress=False, log=lambda _: None)
    start = weights(source, "best")

    lines: list[str] = []
    stage = tmp_path / "stage"
    tiny_steps = config(data_dir, init_from=str(source))
    tiny_steps.optimizer.learning_rate = 1e-12  # two steps that cannot move the weights
    train(tiny_steps, stage, progress=False, log=lines.append)
    best = RunDir.at(source).checkpoints / "best.keras"
    assert any(line == f"new run: weights initialised from {best}" for line in lines)
    for got, want in zip(weights(stage), start):
        np.testing.assert_allclose(got, want, atol=1e-6)

    # A fresh run without init_from (another seed) starts elsewhere, so the check above can fail.
    fresh = tmp_path / "fresh"
    other_seed = config(data_dir)
    other_seed.training.seed = 4
    train(other_seed, fresh, progress=False, log=lambda _: None)
    assert max(np.abs(a - b).max() for a, b in zip(weights(fresh), start)) > 1e-3

    # Resuming the stage reads its own checkpoint; init_from is not applied again.
    lines.clear()
    more = config(data_dir, init_from=str(fresh), epochs=2)
    more.optimizer.learning_rate = 1e-12
    train(more, stage, progress=False, log=lines.append)
    assert any("resuming from" in line for line in lines)
    assert not any("initialised" in line for line in lines)
    for got, want in zip(weights(stage), start):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_source_must_exist_and_match_the_model(data_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-run"):
        init_source(tmp_path / "no-such-run")
    with pytest.raises(FileNotFoundError, match="weights.h5"):
        (tmp_path / "weights.h5").write_bytes(b"")
        init_source(tmp_path / "weights.h5")
    source = tmp_path / "source"
    train(config(data_dir), source, progress=False, log=lambda _: None)
    assert init_source(source) == RunDir.at(source).checkpoints / "best.keras"
    wider = config(data_dir, init_from=str(source), expansion_filters=6)
    with pytest.raises(ValueError, match="expansion_filters"):
        train(wider, tmp_path / "wider", progress=False, log=lambda _: None)
