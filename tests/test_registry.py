"""Model registry: every model reachable by name, built with keyword arguments, honouring the
input mode of its spec."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fbnet.models.registry import ModelSpec, build_model, get_spec, list_models

SMALL_PARAMS = {
    "sin_gan": dict(encoder_filters=(4, 8), decoder_filters=(8, 4), discriminator_filters=(4,)),
    "deep_cnn": dict(spatial_filters=(8, 8), spatial_kernel_sizes=(3, 2), head_filters=(8,)),
    "dncnn": dict(depth=3, filters=8),
    "fbnet": {},
}


def _inputs_for(spec: ModelSpec, height: int, width: int) -> dict:
    rng = np.random.default_rng(0)
    if spec.input_mode == "pair":
        frames = rng.uniform(size=(2, 2, height, width, 3)).astype(np.float32)
        return {"frame0": frames[0], "frame1": frames[1], "time": np.full(2, 0.5, np.float32)}
    context = rng.uniform(size=(2, spec.window - 1, height, width, 3)).astype(np.float32)
    return {"context": context}


def test_all_four_models_are_registered():
    assert list_models() == ["fbnet", "sin_gan", "deep_cnn", "dncnn"]
    assert get_spec("sin_gan").trainer == "gan"
    assert get_spec("dncnn").window == 7 and get_spec("dncnn").input_mode == "context"


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="deep_cnn"):
        get_spec("no_such_model")


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="window"):
        ModelSpec("x", "m:C", 4, "pair", "supervised", "")
    with pytest.raises(ValueError, match="input_mode"):
        ModelSpec("x", "m:C", 3, "triplet", "supervised", "")


@pytest.mark.parametrize("name", list_models())
def test_build_by_name_follows_the_spec_contract(name):
    spec = get_spec(name)
    model = build_model(name, **SMALL_PARAMS[name])
    assert isinstance(model, keras.Model)
    assert type(model).__name__ == spec.factory.partition(":")[2]
    out = model(_inputs_for(spec, 19, 22), training=False)
    print(f"\n{name}: {model.count_params():,} parameters (small test configuration)")
    assert tuple(out.shape) == (2, 19, 22, 3)
    assert out.dtype == "float32"
    # Keyword arguments reach the constructor and the config.
    config = model.get_config()
    for key, value in SMALL_PARAMS[name].items():
        assert config[key] == (list(value) if isinstance(value, tuple) else value)
