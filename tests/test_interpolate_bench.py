"""fbnet bench infer: the JSON lines it promises, and the mixed-precision copy of a model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fbnet.cli import main as fbnet_main


def test_bench_infer_prints_one_line_per_size(capsys):
    from fbnet.bench.infer import SIZES, TILED_SIZE

    assert SIZES == ((448, 256), (768, 576), (1280, 720), (1920, 1080))
    assert TILED_SIZE == (3840, 2160)
    args = ["bench", "infer", "--model", "average", "--pairs", "1", "--sizes", "448x256,768x576",
            "--tiled-size", "640x480", "--tile", "256", "--tile-batch", "2"]  # fmt: skip
    assert fbnet_main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["size"] for line in lines] == ["448x256", "768x576", "640x480"]
    assert all(line["pairs_per_s"] > 0 and line["model"] == "average" for line in lines)
    assert all(line["cpu_s_per_pair"] >= 0 for line in lines)
    assert all(line["reference"] == "flow" and line["reference_s_per_pair"] > 0 for line in lines)
    assert all(line["precision"] == "float32" and "intra_op_threads" in line for line in lines)
    assert lines[-1]["tiled"] is True and lines[-1]["tile"] == 256
    assert lines[-1]["tile_batch"] == 2
    assert lines[-1]["peak_rss_mib"] >= lines[0]["peak_rss_mib"] > 0
    assert not any("tiled" in line for line in lines[:-1])


def test_bench_infer_stage_profile_lines(capsys):
    args = ["bench", "infer", "--untrained", "fbnet_fast", "--untrained", "fbnet",
            "--sizes", "40x24", "--profile-only", "--profile-repeats", "1"]  # fmt: skip
    assert fbnet_main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [(line["model"], line["profile"]) for line in lines] == [
        ("fbnet_fast", "stages"),
        ("fbnet", "stages"),
    ]
    stages = ["uint8_to_float", "pad", "features", "flow_level_3", "flow_level_2",
              "flow_level_1", "flow_level_0", "warp_features", "fusion", "warp_images",
              "blend_crop", "to_numpy", "float_to_uint8"]  # fmt: skip
    for line in lines:
        assert list(line["stages_ms"]) == stages and list(line["stage_share"]) == stages
        assert line["size"] == "40x24" and line["whole_call_ms"] > 0
        assert line["stages_total_ms"] == pytest.approx(sum(line["stages_ms"].values()), abs=0.1)
        assert {"precision", "peak_rss_mib", "onednn_opts", "inter_op_threads"} <= set(line)


def test_mixed_precision_copy_keeps_weights_and_output():
    import keras

    from fbnet.bench.infer import mixed_precision_copy
    from fbnet.export.saved_model import build_model_once
    from fbnet.loading import KerasInterpolator
    from fbnet.models.registry import build_model

    keras.utils.set_random_seed(2)
    params = {"expansion_filters": 4, "spatial_filters": [4], "spatial_kernel_sizes": [3],
              "head_filters": [4], "output_activation": "sigmoid"}  # fmt: skip
    model = build_model("deep_cnn", **params)
    build_model_once(model)
    clone = mixed_precision_copy(model, "mixed_bfloat16")
    assert any(layer.compute_dtype == "bfloat16" for layer in clone.layers)
    for a, b in zip(model.get_weights(), clone.get_weights()):
        np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 2, 24, 32, 3), dtype=np.uint8)
    time = np.full((2,), 0.5, np.float32)
    full = KerasInterpolator(model).interpolate(frames[0], frames[1], time)
    mixed = KerasInterpolator(clone).interpolate(frames[0], frames[1], time)
    assert mixed.dtype == np.float32
    assert np.abs(full - mixed).max() < 0.05
