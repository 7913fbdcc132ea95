"""export.py and fbnet interpolate on training run directories of the registered models."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from export import main as export_main
from fbnet.interpolate.runner import KerasInterpolator, load_interpolator
from tests.model_helpers import TINY_PARAMS, make_run, random_pair


def test_run_dir_export_matches_the_run_model(tmp_path, capsys):
    from fbnet.training.run_dir import load_run_model

    run = make_run(tmp_path, "deep_cnn", TINY_PARAMS["deep_cnn"])
    base = tmp_path / "serving"
    assert export_main(["--run-dir", str(run), "--out", str(base)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["export"] == str(base / "1") and summary["max_grey_level_error"] <= 1
    assert summary["checkpoint"].endswith("best.keras")
    frame0, frame1 = random_pair(2, 37, 53, seed=5)
    time = np.array([0.5, 0.5], np.float32)
    want = KerasInterpolator(load_run_model(run)).interpolate(frame0, frame1, time)
    for source in (base, run):
        got = load_interpolator(str(source)).interpolate(frame0, frame1, time)
        assert np.abs(np.round(got * 255) - np.round(want * 255)).max() <= 1


@pytest.mark.slow
def test_fbnet_run_export_runs_in_a_fresh_process_on_odd_sizes(tmp_path, capsys):
    from fbnet.training.run_dir import load_run_model

    run = make_run(tmp_path, "fbnet", TINY_PARAMS["fbnet"])
    assert export_main(["--run-dir", str(run), "--out", str(tmp_path / "serving")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["max_grey_level_error"] <= 1
    version_dir = Path(summary["export"])
    # Servers without XLA JIT (TF Serving's default) must be able to run every function.
    assert b"_XlaMustCompile" not in (version_dir / "saved_model.pb").read_bytes()
    model = load_run_model(run)
    assert model.get_config()["warp_jit_compile"], "training keeps the fast XLA warp"
    pairs = {"small": random_pair(1, 37, 53, seed=6), "large": random_pair(2, 256, 448, seed=7)}
    arrays = {f"{k}{i}": pair[i] for k, pair in pairs.items() for i in (0, 1)}
    np.savez(tmp_path / "in.npz", **arrays)
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import tensorflow as tf
        data = np.load(sys.argv[2])
        serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
        out = {}
        for key in ("small", "large"):
            frame0, frame1 = data[key + "0"], data[key + "1"]
            out[key] = serve(frame0=frame0, frame1=frame1)["frame"].numpy()  # the middle frame
        np.savez(sys.argv[3], **out)
        """
    )
    subprocess.run(
        [sys.executable, "-c", script, str(version_dir), str(tmp_path / "in.npz"),
         str(tmp_path / "out.npz")],
        check=True, env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
    )  # fmt: skip
    got = np.load(tmp_path / "out.npz")
    runner = KerasInterpolator(model)
    for key, (frame0, frame1) in pairs.items():
        want = np.round(runner.interpolate(frame0, frame1, [0.5]) * 255).astype(np.int32)
        assert got[key].shape == frame0.shape
        assert np.abs(got[key].astype(np.int32) - want).max() <= 1


def test_mismatched_checkpoint_is_an_error_not_a_partial_load(tmp_path, capsys):
    wider = {**TINY_PARAMS["deep_cnn"], "spatial_filters": [6, 4]}
    run = make_run(tmp_path, "deep_cnn", TINY_PARAMS["deep_cnn"], checkpoint_params=wider)
    base = tmp_path / "serving"
    assert export_main(["--run-dir", str(run), "--out", str(base)]) == 2
    assert "does not match" in capsys.readouterr().err
    assert not base.exists() or not any(base.iterdir())
    with pytest.raises(ValueError, match="does not match"):
        load_interpolator(str(run))


def test_context_model_runs_are_refused(tmp_path, capsys):
    run = make_run(tmp_path, "dncnn", TINY_PARAMS["dncnn"])
    assert export_main(["--run-dir", str(run), "--out", str(tmp_path / "serving")]) == 2
    assert "6-frame context" in capsys.readouterr().err
    with pytest.raises(ValueError, match="context"):
        load_interpolator(str(run))


def test_missing_checkpoint_names_the_file(tmp_path, capsys):
    run = make_run(tmp_path, "deep_cnn", TINY_PARAMS["deep_cnn"])
    argv = ["--run-dir", str(run), "--checkpoint", "nope.keras", "--out", str(tmp_path / "s")]
    assert export_main(argv) == 2
    assert "nope.keras" in capsys.readouterr().err
