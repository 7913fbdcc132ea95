"""export.py: versioned SavedModel layout, the serving signature, reload without this package."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from export import main as export_main
from fbnet.export.saved_model import METADATA_FILE, export_saved_model, next_version
from fbnet.export.serving import TIME_SIGNATURE
from fbnet.interpolate.runner import SavedModelInterpolator, load_interpolator
from tests.model_helpers import TinyBlend, keras_grey_levels, random_pair, tiny_model

# setup_env.sh installs it with --no-deps: its declared dependency is the full tensorflow wheel.
SERVING_API = "tensorflow-serving-api is not installed (scripts/setup_env.sh installs it)"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[TinyBlend, Path]:
    model = tiny_model()
    base = tmp_path_factory.mktemp("export")
    return model, export_saved_model(model, base)


def test_versions_count_up_and_are_never_overwritten(tmp_path):
    model = tiny_model()
    assert next_version(tmp_path / "missing") == 1
    assert export_saved_model(model, tmp_path).name == "1"
    assert export_saved_model(model, tmp_path).name == "2"
    assert export_saved_model(model, tmp_path, version=7).name == "7"
    assert next_version(tmp_path) == 8
    with pytest.raises(FileExistsError, match="7"):
        export_saved_model(model, tmp_path, version=7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2", "7"]  # no staging left
    record = json.loads((tmp_path / "1" / "assets.extra" / METADATA_FILE).read_text())
    assert record["outputs"] == ["frame", "frame_float"]


FRESH_PROCESS = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    data = np.load(sys.argv[2])
    loaded = tf.saved_model.load(sys.argv[1])
    at_time = loaded.signatures["interpolate_at_time"]
    out = {}
    for key in ("small", "large"):
        result = at_time(frame0=tf.constant(data[key + "0"]), frame1=tf.constant(data[key + "1"]),
                         time=tf.constant(data[key + "_time"]))
        out[key] = result["frame"].numpy()
        out[key + "_float"] = result["frame_float"].numpy()
    # the README's plain-TensorFlow call: serving_default without time gives the middle frame
    middle = loaded.signatures["serving_default"](frame0=tf.constant(data["small0"]),
                                                  frame1=tf.constant(data["small1"]))
    out["default"] = middle["frame"].numpy()
    assert not any(name.split(".")[0] == "fbnet" for name in sys.modules), "fbnet imported"
    np.savez(sys.argv[3], **out)
    """
)


@pytest.mark.slow
def test_fresh_tensorflow_process_matches_keras(exported, tmp_path):
    model, version_dir = exported
    small = random_pair(1, 37, 53, seed=1)
    large = random_pair(2, 256, 448, seed=2)
    times = {"small_time": np.array([0.5], np.float32), "large_time": np.array([0.3, 0.8], "f4")}
    inputs = tmp_path / "inputs.npz"
    outputs = tmp_path / "outputs.npz"
    np.savez(inputs, small0=small[0], small1=small[1], large0=large[0], large1=large[1], **times)
    subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(version_dir), str(inputs), str(outputs)],
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    got = np.load(outputs)
    for key, pair in (("small", small), ("large", large)):
        assert got[key].dtype == np.uint8 and got[key].shape == pair[0].shape
        want = keras_grey_levels(model, *pair, times[key + "_time"])
        assert np.abs(got[key].astype(np.int32) - want).max() <= 1
        assert 0.0 <= got[key + "_float"].min() and got[key + "_float"].max() <= 1.0
    np.testing.assert_array_equal(got["default"], got["small"])  # small used t = 0.5


def test_saved_model_cli_lists_the_signature(exported):
    _, version_dir = exported
    cli = Path(sys.executable).with_name("saved_model_cli")
    if not cli.exists():
        pytest.skip("saved_model_cli not installed beside this python")
    result = subprocess.run(
        [str(cli), "show", "--dir", str(version_dir), "--all"],
        check=True,
        capture_output=True,
        text=True,
    )
    text = result.stdout
    blocks = dict(re.findall(r"signature_def\['(\w+)'\]:(.*?)(?=signature_def\[|\Z)", text, re.S))
    default, at_time = blocks["serving_default"], blocks["interpolate_at_time"]
    for name in ("inputs['frame0']", "inputs['frame1']"):
        assert name in default and name in at_time
    assert "inputs['time']" in at_time and "inputs['time']" not in default
    assert "outputs['frame']" in text and "outputs['frame_float']" in text
    assert "DT_UINT8" in text and "tensorflow/serving/predict" in text


def serve_like_tf_serving(version_dir: Path, request_bytes: bytes) -> bytes:
    """What TF Serving does with a PredictRequest: feed the signature's inputs, Session.run."""
    predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2", reason=SERVING_API)

    request = predict_pb2.PredictRequest.FromString(request_bytes)
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(version_dir))
        signature = meta_graph.signature_def[request.model_spec.signature_name]
        feeds = {}
        for alias, info in signature.inputs.items():
            if alias not in request.inputs:
                raise tf.errors.InvalidArgumentError(None, None, f"input {alias!r} is missing")
            feeds[info.name] = tf.make_ndarray(request.inputs[alias])
        names = sorted(signature.outputs)
        values = session.run([signature.outputs[n].name for n in names], feed_dict=feeds)
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for name, value in zip(names, values):
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
    return response.SerializeToString()


def test_predict_request_round_trips_through_the_signature(exported):
    predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2", reason=SERVING_API)

    model, version_dir = exported
    frame0, frame1 = random_pair(2, 21, 30, seed=3)
    for time in (None, np.array([0.25, 0.75], np.float32)):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "fbnet"
        request.model_spec.signature_name = "serving_default" if time is None else TIME_SIGNATURE
        request.inputs["frame0"].CopyFrom(tf.make_tensor_proto(frame0))
        request.inputs["frame1"].CopyFrom(tf.make_tensor_proto(frame1))
        if time is not None:
            request.inputs["time"].CopyFrom(tf.make_tensor_proto(time))
        response_bytes = serve_like_tf_serving(version_dir, request.SerializeToString())
        response = predict_pb2.PredictResponse.FromString(response_bytes)
        frame = tf.make_ndarray(response.outputs["frame"])
        assert frame.dtype == np.uint8 and frame.shape == frame0.shape
        want = keras_grey_levels(model, frame0, frame1, 0.5 if time is None else time)
        assert np.abs(frame.astype(np.int32) - want).max() <= 1


@pytest.mark.parametrize(
    ("frame0_shape", "frame1_shape", "time", "message"),
    [
        ((37, 53, 3), (37, 53, 3), [0.5], "frame0 must be uint8 \\[B, H, W, 3\\]"),
        ((1, 37, 53, 4), (1, 37, 53, 4), [0.5], "RGB"),
        ((1, 37, 53, 3), (1, 37, 52, 3), [0.5], "same shape"),
        ((1, 1, 53, 3), (1, 1, 53, 3), [0.5], "H and W >= 2"),
        ((2, 8, 8, 3), (2, 8, 8, 3), [0.5, 0.5, 0.5], "time must be float32 \\[B\\] or \\[1\\]"),
        ((1, 8, 8, 3), (1, 8, 8, 3), [1.5], "time must be in \\[0, 1\\]"),
    ],
)
def test_malformed_requests_get_clear_errors(exported, frame0_shape, frame1_shape, time, message):
    predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2", reason=SERVING_API)

    _, version_dir = exported
    request = predict_pb2.PredictRequest()
    request.model_spec.signature_name = TIME_SIGNATURE
    request.inputs["frame0"].CopyFrom(tf.make_tensor_proto(np.zeros(frame0_shape, np.uint8)))
    request.inputs["frame1"].CopyFrom(tf.make_tensor_proto(np.zeros(frame1_shape, np.uint8)))
    request.inputs["time"].CopyFrom(tf.make_tensor_proto(np.asarray(time, np.float32)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        serve_like_tf_serving(version_dir, request.SerializeToString())
    if "time" not in message:  # the same frames through the two-frame signature
        del request.inputs["time"]
        request.model_spec.signature_name = "serving_default"
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            serve_like_tf_serving(version_dir, request.SerializeToString())


def test_wrong_dtype_is_rejected(exported):
    _, version_dir = exported
    signatures = tf.saved_model.load(str(version_dir)).signatures
    frames = tf.zeros((1, 8, 8, 3), tf.float32)
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="uint8"):
        signatures[TIME_SIGNATURE](frame0=frames, frame1=frames, time=tf.constant([0.5]))
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="uint8"):
        signatures["serving_default"](frame0=frames, frame1=frames)


def test_plain_tensorflow_call_without_time_returns_the_middle_frame(exported):
    model, version_dir = exported
    frame0, frame1 = random_pair(2, 19, 26, seed=5)
    serve = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    frame = serve(frame0=tf.constant(frame0), frame1=tf.constant(frame1))["frame"].numpy()
    want = keras_grey_levels(model, frame0, frame1, [0.5, 0.5])
    assert np.abs(frame.astype(np.int32) - want).max() <= 1
    # and not some other time: t = 0.25 differs from the blend at 0.5 on random frames
    assert (
        np.abs(frame.astype(np.int32) - keras_grey_levels(model, frame0, frame1, [0.25])).max() > 8
    )


def test_runner_loads_base_and_version_directories(exported):
    model, version_dir = exported
    frame0, frame1 = random_pair(1, 16, 24, seed=4)
    want = keras_grey_levels(model, frame0, frame1, [0.5])
    for path in (version_dir.parent, version_dir):
        runner = load_interpolator(str(path))
        assert isinstance(runner, SavedModelInterpolator)
        assert runner.path == version_dir
        got = np.round(runner.interpolate(frame0, frame1, [0.5]) * 255.0).astype(np.int32)
        assert np.abs(got - want).max() <= 1


def test_context_models_are_refused(tmp_path):
    from fbnet.interpolate.runner import check_two_frame_model

    fake = type("DnCNN", (), {"__module__": "fbnet.models.dncnn"})()
    with pytest.raises(ValueError, match="dncnn.*6-frame context"):
        check_two_frame_model(fake)
    with pytest.raises(ValueError, match="context"):
        export_saved_model(fake, tmp_path)
    assert not any(tmp_path.iterdir())


def test_cli_exports_a_keras_file_and_verifies_it(tmp_path, capsys):
    model_file = tmp_path / "tiny.keras"
    tiny_model().save(model_file)
    base = tmp_path / "serving"
    assert export_main(["--model-file", str(model_file), "--out", str(base)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["export"] == str(base / "1")
    assert summary["max_grey_level_error"] <= 1
    assert export_main(["--model-file", str(model_file), "--out", str(base), "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert export_main(["--pretrained", "no-such-model", "--out", str(base)]) == 2
    assert "no such shipped model" in capsys.readouterr().err


def rest_json_to_request(body: str, version_dir: Path):
    """A REST ``:predict`` body as TF Serving turns it into tensors.

    ``{"signature_name"?, "instances": [{name: value, ...}, ...]}`` (row format: each instance is
    one batch element, stacked along a new first axis) or ``{"signature_name"?, "inputs": {name:
    batched value}}`` (columnar format). Each value is read with the dtype the signature
    declares for that input; ``signature_name`` defaults to ``serving_default``.
    """
    predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2", reason=SERVING_API)

    parsed = json.loads(body)
    name = parsed.get("signature_name", "serving_default")
    signature = tf.saved_model.load(str(version_dir)).signatures[name]
    dtypes = {key: spec.dtype for key, spec in signature.structured_input_signature[1].items()}
    if "instances" in parsed:
        columns = {key: np.stack([np.asarray(row[key]) for row in parsed["instances"]])
                   for key in parsed["instances"][0]}  # fmt: skip
    else:
        columns = {key: np.asarray(value) for key, value in parsed["inputs"].items()}
    request = predict_pb2.PredictRequest()
    request.model_spec.signature_name = name
    for key, value in columns.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value, dtype=dtypes[key]))
    return request


@pytest.mark.parametrize("form", ["instances", "inputs"])
@pytest.mark.parametrize("with_time", [False, True])
def test_rest_json_bodies_as_documented_run_through_the_signatures(exported, form, with_time):
    """The README's REST bodies, row and columnar, with and without ``time``."""
    predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2", reason=SERVING_API)

    model, version_dir = exported
    frame0, frame1 = random_pair(2, 12, 17, seed=8)
    times = [0.25, 0.75]
    if form == "instances":
        rows = [{"frame0": frame0[i].tolist(), "frame1": frame1[i].tolist()} for i in range(2)]
        if with_time:
            for row, t in zip(rows, times):
                row["time"] = t
        body = {"instances": rows}
    else:
        body = {"inputs": {"frame0": frame0.tolist(), "frame1": frame1.tolist()}}
        if with_time:
            body["inputs"]["time"] = times
    if with_time:
        body["signature_name"] = TIME_SIGNATURE
    request = rest_json_to_request(json.dumps(body), version_dir)
    response = predict_pb2.PredictResponse.FromString(
        serve_like_tf_serving(version_dir, request.SerializeToString())
    )
    frame = tf.make_ndarray(response.outputs["frame"])
    assert frame.shape == frame0.shape
    want = keras_grey_levels(model, frame0, frame1, times if with_time else [0.5, 0.5])
    assert np.abs(frame.astype(np.int32) - want).max() <= 1
