"""fbnet.loading: one load_model for shipped names, files, runs and exports; ship.py via RunDir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fbnet import loading, pretrained
from fbnet.export.saved_model import export_saved_model
from fbnet.interpolate.runner import load_interpolator
from fbnet.pretrained.ship import ship
from fbnet.training.config import ModelConfig, TrainConfig, TrainingConfig
from fbnet.training.config_io import save_config
from fbnet.training.run_dir import RunDir
from tests.model_helpers import TINY_PARAMS, make_run, random_pair, tiny_model


def test_sources_resolve_by_what_they_are(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert loading.resolve_source(None).kind == "shipped"
    assert loading.resolve_source(None).shipped_name == pretrained.DEFAULT_MODEL
    (tmp_path / "fbnet").mkdir()  # a plain folder (the package, seen from the checkout's root)
    shipped = loading.resolve_source("fbnet")
    assert (shipped.kind, shipped.label) == ("shipped", "pretrained:fbnet")
    tiny_model().save(tmp_path / "m.keras")
    assert loading.resolve_source("m.keras").kind == "file"
    run = make_run(tmp_path, "deep_cnn", TINY_PARAMS["deep_cnn"])
    source = loading.resolve_source(run, "best")
    assert (source.kind, source.run_dir, source.label) == ("run", run, "deep_cnn:best")
    assert source.path == run / "checkpoints" / "best.keras"
    with pytest.raises(FileNotFoundError, match="no-such-model.*shipped model name"):
        loading.resolve_source("no-such-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not an export .* and not a run directory"):
        loading.resolve_source(tmp_path / "empty")
    (tmp_path / "m.h5").write_text("x")
    with pytest.raises(ValueError, match=r"must be \.keras, got '\.h5'"):
        loading.resolve_source("m.h5")


def test_load_model_gives_the_same_model_from_file_run_and_export(tmp_path):
    run = make_run(tmp_path, "deep_cnn", TINY_PARAMS["deep_cnn"])
    from_run = loading.load_model(run)
    from_file = loading.load_model(run / "checkpoints" / "best.keras")
    version = export_saved_model(from_run, tmp_path / "export")
    from_export = loading.load_model(tmp_path / "export")
    assert isinstance(from_export, loading.SavedModelInterpolator)
    assert from_export.path == version
    frame0, frame1 = random_pair(1, 16, 24, seed=3)
    time = np.array([0.5], np.float32)
    want = loading.as_interpolator(from_run).interpolate(frame0, frame1, time)
    for model in (from_file, from_export):
        got = loading.as_interpolator(model).interpolate(frame0, frame1, time)
        assert np.abs(got - want).max() <= 1.5 / 255


def test_context_models_are_refused_only_where_two_frames_are_needed(tmp_path):
    run = make_run(tmp_path, "dncnn", TINY_PARAMS["dncnn"])
    assert type(loading.load_model(run)).__name__ == "DnCNN"
    with pytest.raises(ValueError, match="'dncnn' takes a 6-frame context"):
        loading.load_model(run, two_frame=True)
    with pytest.raises(ValueError, match="context"):
        load_interpolator(str(run))


def test_default_model_is_checked_against_its_card(tmp_path, monkeypatch):
    # A mislabelled default: deep_cnn's weights under the name fbnet, with fbnet's card.
    folder = tmp_path / "pretrained"
    folder.mkdir()
    shutil.copyfile(pretrained.model_path("deep_cnn"), folder / "fbnet.keras")
    shutil.copyfile(pretrained.pretrained_dir() / "fbnet.json", folder / "fbnet.json")
    monkeypatch.setattr(pretrained, "pretrained_dir", lambda: folder)
    with pytest.raises(ValueError, match="model card says registry model 'fbnet'.*'deep_cnn'"):
        load_interpolator(None)
    with pytest.raises(ValueError, match="model card"):
        loading.load_model("fbnet")


def test_ship_reads_the_run_through_rundir_and_lists_init_from_stages(tmp_path):
    first = make_run(tmp_path, "deep_cnn", TINY_PARAMS["deep_cnn"])
    second = RunDir.at(tmp_path / "stage2").create()
    config = TrainConfig(
        model=ModelConfig(name="deep_cnn", params=TINY_PARAMS["deep_cnn"]),
        training=TrainingConfig(init_from=str(first)),
    )
    save_config(config, second.config_path)
    shutil.copyfile(first / "checkpoints" / "best.keras", second.checkpoints / "best.keras")
    card = ship(second.root, "tiny", out_dir=tmp_path / "out")
    assert (tmp_path / "out" / "tiny.keras").is_file()
    assert json.loads((tmp_path / "out" / "tiny.json").read_text()) == card
    assert card["registry_model"] == "deep_cnn"
    assert card["config"]["training"]["init_from"] == str(first)
    assert [stage["run_dir"] for stage in card["stages"]] == [str(first), str(second.root)]
    assert card["stages"][1]["init_from"] == str(first)
    assert "init_from" not in card["stages"][0]
    model = pretrained.load_keras_file(Path(tmp_path / "out" / "tiny.keras"))
    assert model.count_params() == card["parameters"]
