"""FBNet's ``flow_finest_level`` option (the ``fbnet_fast`` preset), the weight copy that
warm-starts it from a default FBNet, and the staged split that ``fbnet bench infer
--profile-stages`` times (also with ``flow_coarse_levels``)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fbnet.bench.stages import StagedFBNet
from fbnet.interpolate.runner import KerasInterpolator
from fbnet.layers.bidirectional_flow import BiDirectionalFlowEstimation, upsample_flow
from fbnet.models.fbnet_model import FBNet
from fbnet.models.registry import build_model, list_models, list_presets
from fbnet.models.weight_transfer import copy_matching_weights, variable_paths
from tests.layer_harness import (
    TINY_FBNET,
    check_call_shape,
    check_config_roundtrip,
    check_keras_roundtrip,
    check_one_fit_step,
    fbnet_inputs,
    perturb_fbnet,
)

DEFAULT_PARAMETERS = 1_204_731  # README; the slides: 1,199,971


def _conv_macs(model: keras.Model, inputs: dict, monkeypatch: pytest.MonkeyPatch) -> int:
    """Multiply-adds of every Conv2D in one eager call."""
    counted: list[int] = []
    original = keras.layers.Conv2D.call

    def counting(self, x):
        y = original(self, x)
        counted.append(int(np.prod(self.kernel.shape)) * int(np.prod(y.shape[:3])))
        return y

    monkeypatch.setattr(keras.layers.Conv2D, "call", counting)
    model(inputs)
    monkeypatch.setattr(keras.layers.Conv2D, "call", original)
    return sum(counted)


def test_default_architecture_is_unchanged() -> None:
    model = FBNet()
    model(fbnet_inputs(16, 16, batch=1))
    assert model.count_params() == DEFAULT_PARAMETERS
    assert model.flow_finest_level == 0 and len(model.flow.estimators) == 4
    assert [e.name for e in model.flow.estimators] == [f"estimator_{i}" for i in range(4)]
    # The default's config has no new key, so configs of earlier runs still match it.
    assert "flow_finest_level" not in model.get_config()


def test_fast_preset_is_registered_and_smaller(monkeypatch) -> None:
    assert "fbnet_fast" in list_presets() and "fbnet_fast" not in list_models()
    inputs = fbnet_inputs(32, 32, batch=1)
    default, fast = FBNet(), build_model("fbnet_fast")
    assert isinstance(fast, FBNet) and fast.flow_finest_level == 1
    check_call_shape(fast, inputs, expected_shape=(1, 32, 32, 3))
    default(inputs)
    level0 = default.flow.estimators[0].count_params()
    assert fast.count_params() == default.count_params() - level0
    default_macs = _conv_macs(default, inputs, monkeypatch)
    fast_macs = _conv_macs(fast, inputs, monkeypatch)
    print(f"conv MACs/pixel: default {default_macs / 1024:,.0f}, fast {fast_macs / 1024:,.0f}")
    assert fast_macs < 0.7 * default_macs
    with pytest.raises(ValueError, match="unknown model 'fbnet_slow'"):
        build_model("fbnet_slow")


def test_full_resolution_flow_is_the_upsampled_level_one_flow() -> None:
    model = FBNet(**TINY_FBNET, flow_finest_level=1)
    inputs = fbnet_inputs(24, 40)
    model(inputs)
    perturb_fbnet(model)
    images, _ = model._pad(tf.concat([inputs["frame0"], inputs["frame1"]], 0))
    flows = model.flow(model.features(images))
    np.testing.assert_allclose(flows[0].numpy(), upsample_flow(flows[1]).numpy(), atol=1e-6)
    assert float(tf.reduce_max(tf.abs(flows[1]))) > 0.01


def test_config_and_keras_file_roundtrip(tmp_path) -> None:
    model = FBNet(**TINY_FBNET, flow_finest_level=2)
    assert model.get_config()["flow_finest_level"] == 2
    clone = check_config_roundtrip(model)
    assert clone.flow_finest_level == 2 and len(clone.flow.estimators) == 1
    inputs = fbnet_inputs(21, 30)
    model(inputs)
    perturb_fbnet(model)
    loaded = check_keras_roundtrip(model, inputs, tmp_path)
    assert loaded.flow_finest_level == 2
    layer = BiDirectionalFlowEstimation(levels=3, filters=[8], kernel_sizes=[3], finest_level=1)
    assert check_config_roundtrip(layer).finest_level == 1


def test_bad_finest_levels_are_rejected_with_the_value() -> None:
    with pytest.raises(ValueError, match="got 4"):
        FBNet(flow_finest_level=4)
    with pytest.raises(ValueError, match="got -1"):
        FBNet(flow_finest_level=-1)
    with pytest.raises(ValueError, match=r"\[2, 3\], got 1"):
        FBNet(flow_finest_level=2, flow_shared_from_level=1)
    layer = BiDirectionalFlowEstimation(finest_level=1)
    with pytest.raises(ValueError, match="got 0"):
        layer.estimator_for(0)


def test_one_fit_step() -> None:
    model = FBNet(**TINY_FBNET, flow_finest_level=1)
    inputs = {k: v.numpy() for k, v in fbnet_inputs(16, 16).items()}
    target = 0.5 * (inputs["frame0"] + inputs["frame1"])
    check_one_fit_step(model, inputs, target)


def test_weight_copy_warm_starts_the_fast_model_from_a_default_one() -> None:
    inputs = fbnet_inputs(24, 24)
    default = FBNet(**TINY_FBNET)
    default(inputs)
    perturb_fbnet(default)
    fast = FBNet(**TINY_FBNET, flow_finest_level=1)
    fast(inputs)
    report = copy_matching_weights(default, fast)
    level0 = {p for p in variable_paths(default) if p.startswith("bidirectional_flow/estimator_0/")}
    assert set(report.skipped_source) == level0 and len(level0) == 6  # 2 hidden + to_flow
    assert report.skipped_target == [] and report.shape_mismatch == {}
    assert len(report.copied) == len(fast.weights)
    fast_paths, default_paths = variable_paths(fast), variable_paths(default)
    for path in report.copied:
        np.testing.assert_array_equal(fast_paths[path].numpy(), default_paths[path].numpy())
    # The coarser flows, and so everything but level 0's flow, are the default model's.
    images, _ = default._pad(tf.concat([inputs["frame0"], inputs["frame1"]], 0))
    flows_default = default.flow(default.features(images))
    flows_fast = fast.flow(fast.features(images))
    np.testing.assert_allclose(flows_fast[1].numpy(), flows_default[1].numpy(), atol=1e-6)
    assert report.as_dict()["copied"] == len(report.copied)


def test_weight_copy_reports_shape_mismatches() -> None:
    inputs = fbnet_inputs(16, 16, batch=1)
    narrow = FBNet(**TINY_FBNET)
    wide = FBNet(**{**TINY_FBNET, "fusion_filters": [12, 16, 16]})
    narrow(inputs)
    wide(inputs)
    report = copy_matching_weights(narrow, wide)
    assert "fusion/level_0_conv_0/kernel" in report.shape_mismatch
    with pytest.raises(ValueError, match="level_0_conv_0/kernel"):
        copy_matching_weights(narrow, wide, strict_shapes=True)
    with pytest.raises(ValueError, match="call it once"):
        copy_matching_weights(narrow, FBNet(**TINY_FBNET))


@pytest.mark.parametrize("finest, coarse", [(0, 0), (1, 0), (0, 1)])
def test_staged_run_gives_the_model_output(finest, coarse) -> None:
    model = FBNet(**TINY_FBNET, flow_finest_level=finest, flow_coarse_levels=coarse)
    model(fbnet_inputs(16, 16))
    perturb_fbnet(model)
    rng = np.random.default_rng(1)
    frame0 = rng.integers(0, 256, (2, 27, 45, 3), dtype=np.uint8)
    frame1 = np.roll(frame0, 3, axis=2)
    time = np.array([0.3, 0.6], np.float32)
    staged = StagedFBNet(model)
    names = []
    for name, thunk in staged.calls(frame0, frame1, time):
        names.append(name)
        thunk()
    assert names[:3] == ["uint8_to_float", "pad", "features"]
    levels = [f"flow_level_{level}" for level in reversed(range(3 + coarse))]
    assert names[3 : 3 + len(levels)] == levels
    whole = KerasInterpolator(model).interpolate(frame0, frame1, time)
    np.testing.assert_allclose(staged.run(frame0, frame1, time), whole, atol=1e-5)
