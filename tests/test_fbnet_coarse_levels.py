"""FBNet's ``flow_coarse_levels``: flow-only pyramid levels below the coarsest, no new weights."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fbnet.layers.bidirectional_flow import swap_pair, upsample_flow
from fbnet.models.fbnet_model import FBNet
from fbnet.models.params import check_keras_file_matches
from fbnet.models.weight_transfer import variable_paths
from fbnet.training.init_from import init_weights
from tests.layer_harness import (
    TINY_FBNET,
    check_config_roundtrip,
    check_keras_roundtrip,
    check_one_fit_step,
    fbnet_inputs,
    perturb_fbnet,
)


def test_coarse_levels_add_no_weights_and_share_the_coarsest_estimator() -> None:
    plain = FBNet(**TINY_FBNET)
    plain(fbnet_inputs(16, 16))
    for extra in (1, 2):
        coarse = FBNet(**TINY_FBNET, flow_coarse_levels=extra)
        coarse(fbnet_inputs(16, 16))
        assert coarse.flow_levels == 3 + extra and coarse.size_multiple == 2 ** (2 + extra)
        shapes = {path: tuple(v.shape) for path, v in variable_paths(coarse).items()}
        assert shapes == {path: tuple(v.shape) for path, v in variable_paths(plain).items()}
        assert coarse.count_params() == plain.count_params()
        for level in range(2, 3 + extra):
            assert coarse.flow.estimator_for(level) is coarse.flow.estimator_for(2)


def test_flow_pyramid_runs_the_shared_estimator_from_the_extra_level_down() -> None:
    model = FBNet(**TINY_FBNET, flow_coarse_levels=1)
    inputs = fbnet_inputs(32, 48)
    model(inputs)
    perturb_fbnet(model)
    aux = model.call_with_aux(inputs, flow_pyramid=True)
    pyramid = aux["flow_pyramid"]
    assert [tuple(f.shape[1:3]) for f in pyramid] == [(32, 48), (16, 24), (8, 12), (4, 6)]
    # By hand: the extra level 3 starts from zero with level 2's estimator, which then refines
    # its x2 upsampled flow at level 2.
    features = model.features(tf.concat([inputs["frame0"], inputs["frame1"]], axis=0))
    estimator = model.flow.estimator_for(2)
    level3 = estimator((swap_pair(features[3]), features[3]))
    level2 = estimator((swap_pair(features[2]), features[2], upsample_flow(level3)))
    np.testing.assert_allclose(pyramid[3], level3, atol=1e-5)
    np.testing.assert_allclose(pyramid[2], level2, atol=1e-5)
    # The extra level changes the result: it is not ignored.
    plain = FBNet(**TINY_FBNET)
    plain(inputs)
    plain.set_weights(model.get_weights())
    plain_flow = plain.call_with_aux(inputs)["flow0"]
    assert float(tf.reduce_max(tf.abs(plain_flow - aux["flow0"]))) > 1e-3


def test_odd_sizes_are_padded_to_the_deeper_multiple_and_cropped_back() -> None:
    model = FBNet(**TINY_FBNET, flow_coarse_levels=2)
    inputs = fbnet_inputs(21, 37)
    model(inputs)
    perturb_fbnet(model)
    aux = model.call_with_aux(inputs)
    assert aux["frame"].shape == (2, 21, 37, 3) and aux["flow0"].shape == (2, 21, 37, 2)


def test_config_and_keras_file_roundtrip(tmp_path) -> None:
    model = FBNet(**TINY_FBNET, flow_coarse_levels=1)
    assert model.get_config()["flow_coarse_levels"] == 1
    assert "flow_coarse_levels" not in FBNet(**TINY_FBNET).get_config()  # old configs unchanged
    assert check_config_roundtrip(model).flow_coarse_levels == 1
    inputs = fbnet_inputs(24, 40)
    model(inputs)
    perturb_fbnet(model)
    assert check_keras_roundtrip(model, inputs, tmp_path).flow_coarse_levels == 1


def test_bad_values_are_rejected_with_the_value() -> None:
    with pytest.raises(ValueError, match="got -1"):
        FBNet(flow_coarse_levels=-1)
    with pytest.raises(ValueError, match="got 4"):
        FBNet(levels=4, flow_coarse_levels=1, flow_shared_from_level=4)


def test_a_plain_model_warm_starts_a_coarse_one(tmp_path) -> None:
    plain = FBNet(**TINY_FBNET)
    plain(fbnet_inputs(16, 16))
    perturb_fbnet(plain)
    path = tmp_path / "plain.keras"
    plain.save(path)
    coarse = FBNet(**TINY_FBNET, flow_coarse_levels=1)
    coarse(fbnet_inputs(16, 16))
    assert init_weights(coarse, path) == path
    for got, want in zip(coarse.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(got, want)
    # Only the weight-free arguments may differ.
    with pytest.raises(ValueError, match="activation"):
        check_keras_file_matches(
            path, FBNet(**TINY_FBNET, activation="elu"), FBNet.WEIGHT_FREE_ARGS
        )
    with pytest.raises(ValueError, match="flow_coarse_levels"):
        check_keras_file_matches(path, coarse)


def test_one_fit_step() -> None:
    model = FBNet(**TINY_FBNET, flow_coarse_levels=1)
    inputs = {k: v.numpy() for k, v in fbnet_inputs(16, 16).items()}
    target = 0.5 * (inputs["frame0"] + inputs["frame1"])
    check_one_fit_step(model, inputs, target)
