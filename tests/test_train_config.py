"""Training configs: typed loading, overrides, precedence, resume base, shipped config files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fbnet.models.registry import list_models
from fbnet.training.cli import build_parser, resolve
from fbnet.training.config import TrainConfig
from fbnet.training.config_io import (
    apply_overrides,
    check_resumable,
    diff,
    from_dict,
    load_config_file,
    parse_override,
    save_config,
    to_dict,
)
from fbnet.training.defaults import default_config

REPO = Path(__file__).resolve().parents[1]


def _resolve(argv: list[str]) -> tuple[TrainConfig, Path]:
    return resolve(build_parser().parse_args(argv))


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    config = default_config("sin_gan")
    config.model.params = {"encoder_filters": [8, 16], "dropout_rate": 0.25}
    config.training.seed = 7
    path = save_config(config, tmp_path / "config.yaml")
    again = from_dict(TrainConfig, load_config_file(path))
    assert again == config
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("optimizer.learning_rate=1e-4", {"optimizer": {"learning_rate": "1e-4"}}),
        ("training.epochs=12", {"training": {"epochs": 12}}),
        ("data.dir=null", {"data": {"dir": None}}),
        ("model.params.filters=[8, 16]", {"model": {"params": {"filters": [8, 16]}}}),
        ("training.mixed_precision=true", {"training": {"mixed_precision": True}}),
    ],
)
def test_parse_override(text: str, expected: dict) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("bad", ["epochs", "=3", "training..epochs=3"])
def test_parse_override_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError, match="section.field=value"):
        parse_override(bad)


def test_overrides_are_typed_and_checked() -> None:
    data = apply_overrides(to_dict(default_config("fbnet")), ["optimizer.learning_rate=3e-4"])
    assert from_dict(TrainConfig, data).optimizer.learning_rate == pytest.approx(3e-4)
    with pytest.raises(ValueError, match=r"training.epochs must be an integer, got 'many'"):
        from_dict(TrainConfig, apply_overrides(data, ["training.epochs=many"]))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['epoch'\] in training"):
        from_dict(TrainConfig, apply_overrides(data, ["training.epoch=3"]))
    with pytest.raises(ValueError, match="training.nan_policy must be one of"):
        from_dict(TrainConfig, apply_overrides(data, ["training.nan_policy=ignore"])).validate()
    with pytest.raises(ValueError, match="data.batch_size must be > 0, got 0"):
        from_dict(TrainConfig, apply_overrides(data, ["data.batch_size=0"])).validate()


def test_precedence_defaults_file_flags_set(tmp_path: Path) -> None:
    config_file = tmp_path / "mine.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {
                "model": {"name": "deep_cnn"},
                "training": {"epochs": 9, "steps_per_epoch": 11},
                "data": {"crop": 48},
            }
        )
    )
    config, run_dir = _resolve(
        [
            "--config", str(config_file),
            "--epochs", "4",
            "--run-dir", str(tmp_path / "run"),
            "--set", "training.epochs=6",
            "--seed", "5",
        ]
    )  # fmt: skip
    assert config.model.name == "deep_cnn"
    assert config.training.epochs == 6  # --set beats --epochs beats the file
    assert config.training.steps_per_epoch == 11  # from the file
    assert config.data.crop == 48
    assert config.optimizer == default_config("deep_cnn").optimizer  # defaults underneath
    assert config.training.seed == 5 and config.training.deterministic
    assert run_dir == tmp_path / "run"


def test_default_run_dir_and_missing_model(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, run_dir = _resolve(["--model", "fbnet"])
    assert run_dir == Path("runs") / "fbnet"
    with pytest.raises(ValueError, match="pass --model NAME"):
        _resolve([])


def test_existing_run_is_the_base_and_guards_its_model(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    saved = default_config("deep_cnn")
    saved.training.epochs = 3
    saved.optimizer.learning_rate = 0.05
    save_config(saved, run / "config.yaml")
    config, _ = _resolve(["--run-dir", str(run), "--epochs", "8"])
    assert config.model.name == "deep_cnn"
    assert config.optimizer.learning_rate == 0.05  # kept from the run, not the defaults
    assert config.training.epochs == 8
    with pytest.raises(ValueError, match="holds a 'deep_cnn' run, not 'fbnet'"):
        _resolve(["--run-dir", str(run), "--model", "fbnet"])


def test_diff_lists_changed_leaves() -> None:
    old = to_dict(default_config("fbnet"))
    new = apply_overrides(old, ["training.epochs=50", "model.params.levels=3"])
    assert diff(old, new) == {"training.epochs": (5, 50), "model.params.levels": (None, 3)}


@pytest.mark.parametrize("model", list_models())
def test_shipped_config_files_are_the_defaults(model: str) -> None:
    path = REPO / "configs" / f"{model}.yaml"
    assert path.is_file(), f"configs/{model}.yaml is missing"
    assert from_dict(TrainConfig, load_config_file(path)) == default_config(model)


def test_default_optimizers_and_losses() -> None:
    fbnet = default_config("fbnet")
    # The seed's clipped Nadam at a rate that lets a fresh flow estimator move, L1 plus a
    # distillation that datasets without teacher flows turn off instead of refusing.
    assert (fbnet.optimizer.name, fbnet.optimizer.learning_rate) == ("nadam", 1e-3)
    assert fbnet.optimizer.clipvalue == 1.0 and fbnet.optimizer.clipnorm == 1.0
    assert fbnet.loss.name == "mae" and fbnet.loss.distills
    assert fbnet.loss.distill_missing == "off"
    assert default_config("deep_cnn").loss.distill_missing == "error"
    gan = default_config("sin_gan")
    for section in (gan.optimizer, gan.discriminator_optimizer):
        assert section.name == "adam" and section.beta_1 == 0.5
        assert section.learning_rate_at(2) == pytest.approx(section.learning_rate * 0.96**2)


def test_synthetic_defaults_match_the_data_pipeline() -> None:
    from data_pipeline.synthetic_build import DEFAULT_SYNTHETIC

    data = default_config("fbnet").data
    assert data.synthetic_windows == DEFAULT_SYNTHETIC["num_windows"]
    assert (data.synthetic_height, data.synthetic_width) == (
        DEFAULT_SYNTHETIC["height"],
        DEFAULT_SYNTHETIC["width"],
    )


def test_resuming_allows_loop_changes_but_not_model_changes() -> None:
    saved = default_config("fbnet")
    longer = default_config("fbnet")
    longer.training.epochs = 40
    assert check_resumable(saved, longer) == {"training.epochs": (5, 40)}
    other = default_config("fbnet")
    other.model.params = {"levels": 3}
    with pytest.raises(ValueError, match=r"model.params.levels: None -> 3.*--run-dir"):
        check_resumable(saved, other)
