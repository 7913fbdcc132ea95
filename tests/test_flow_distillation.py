"""Flow distillation: closed-form loss values, reliability masks, the schedule, training with it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from data_pipeline.synthetic import shifted_window
from data_pipeline.synthetic_build import build_synthetic_dataset
from data_pipeline.synthetic_scene import SceneConfig
from data_pipeline.teacher_flow import TeacherFlowConfig
from fbnet.losses.flow_distillation import (
    DistillationSchedule,
    FlowDistillationLoss,
    downsample_flow,
)
from fbnet.models.fbnet_model import FBNet
from fbnet.training.config import TrainConfig
from fbnet.training.config_io import from_dict, load_config_file
from fbnet.training.data import prepare_data
from fbnet.training.defaults import default_config
from fbnet.training.trainer import train
from tests.layer_harness import TINY_FBNET
from tests.train_helpers import tiny_config

EPS = 0.01
NO_CHECKS = {"fb_check": False, "photometric_check": False}


def _pyramid(flow: tf.Tensor, levels: int) -> list[tf.Tensor]:
    out = [flow]
    for _ in range(levels - 1):
        out.append(downsample_flow(out[-1]))
    return out


def _constant(batch: int, height: int, width: int, value) -> tf.Tensor:
    return tf.broadcast_to(tf.constant(value, tf.float32), [batch, height, width, 2])


def test_zero_when_the_student_equals_the_teacher() -> None:
    rng = np.random.default_rng(0)
    t01 = tf.constant(rng.normal(0, 2, (2, 16, 24, 2)), tf.float32)
    t10 = tf.constant(rng.normal(0, 2, (2, 16, 24, 2)), tf.float32)
    frames = tf.constant(rng.uniform(size=(2, 2, 16, 24, 3)), tf.float32)
    student = _pyramid(tf.concat([t01, t10], 0), 3)
    for options in ({}, NO_CHECKS):
        loss = FlowDistillationLoss(**options)(student, t01, t10, frames[0], frames[1])
        assert loss.shape == (2,)
        np.testing.assert_allclose(loss.numpy(), 0.0, atol=1e-6)


def test_charbonnier_value_of_a_constant_offset() -> None:
    teacher = _constant(2, 16, 16, [3.0, -2.0])  # level l holds (3, -2) / 2**l
    offset = np.array([0.6, -0.8])  # |offset| = 1
    student = [f + offset for f in _pyramid(tf.concat([teacher, teacher], 0), 3)]
    frames = tf.zeros([2, 16, 16, 3])
    rho = math.sqrt(1.0 + EPS**2) - EPS
    loss = FlowDistillationLoss(epsilon=EPS, **NO_CHECKS)
    np.testing.assert_allclose(loss(student, teacher, teacher, frames, frames), 3 * rho, rtol=1e-5)
    weighted = FlowDistillationLoss(epsilon=EPS, level_weights=[1.0, 0.5, 0.0], **NO_CHECKS)
    np.testing.assert_allclose(
        weighted(student, teacher, teacher, frames, frames), 1.5 * rho, rtol=1e-5
    )
    # level_growth 2: level l weighs 2**l, i.e. every level's error in full-resolution pixels
    grown = FlowDistillationLoss(epsilon=EPS, level_growth=2.0, **NO_CHECKS)
    np.testing.assert_allclose(grown(student, teacher, teacher, frames, frames), 7 * rho, rtol=1e-5)
    with pytest.raises(ValueError, match="level_growth must be > 0, got 0"):
        FlowDistillationLoss(level_growth=0.0)
    with pytest.raises(ValueError, match="one entry per pyramid level"):
        FlowDistillationLoss(level_weights=[1.0], **NO_CHECKS)(
            student, teacher, teacher, frames, frames
        )


def test_the_gradient_reaches_the_student_only() -> None:
    teacher = _constant(1, 8, 8, [1.0, 1.0])
    student = tf.Variable(tf.zeros([2, 8, 8, 2]))
    frames = tf.zeros([1, 8, 8, 3])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(teacher)
        loss = FlowDistillationLoss(**NO_CHECKS)([student], teacher, teacher, frames, frames)
    assert tape.gradient(loss, teacher) is None
    assert float(tf.reduce_sum(tf.abs(tape.gradient(loss, student)))) > 0


def test_reliability_is_zero_where_forward_backward_inconsistent() -> None:
    height, width = 8, 32
    t01 = _constant(1, height, width, [0.0, 2.0])
    columns = np.arange(width)[None, None, :, None]
    # Consistent (-2) in the left half, +3 in the right half.
    t10 = tf.constant(np.where(columns < width // 2, [0.0, -2.0], [0.0, 3.0]), tf.float32)
    t10 = tf.broadcast_to(t10, [1, height, width, 2])
    loss = FlowDistillationLoss(photometric_check=False)
    mask = loss.fb_consistency(t01, t10).numpy()[0, :, :, 0]
    assert (mask[:, 2 : width // 2] == 1).all()
    assert (mask[:, width // 2 + 2 :] == 0).all()
    # The loss ignores the student wherever the teacher pair disagrees.
    frames = tf.zeros([1, height, width, 3])
    reliable = loss.reliability(frames, frames, tf.concat([t01, t10], 0)).numpy()[..., 0]
    student = tf.concat([t01, t10], 0).numpy()
    student[..., width // 2 + 4 :, :] += 5.0  # wrong only where unreliable
    assert (reliable[:, :, width // 2 + 4 :] == 0).all()
    value = loss([tf.constant(student)], t01, t10, frames, frames)
    np.testing.assert_allclose(value.numpy(), 0.0, atol=1e-6)


def test_reliability_is_zero_where_the_teacher_warps_worse_than_the_student() -> None:
    frames = shifted_window(32, 32, (0.0, 1.5), window=3, seed=4)
    frame0, frame1 = (tf.constant(frames[i][None], tf.float32) for i in (0, 2))
    right = _constant(1, 32, 32, [0.0, 3.0])
    wrong = _constant(1, 32, 32, [2.0, -1.0])
    loss = FlowDistillationLoss(fb_check=False)
    interior = (slice(None), slice(4, -4), slice(4, -4))
    good = loss.photometric(frame0, frame1, right, wrong).numpy()[..., 0]
    bad = loss.photometric(frame0, frame1, wrong, right).numpy()[..., 0]
    assert good[interior].mean() > 0.95 and bad[interior].mean() < 0.05
    # Teacher == student: kept (ties go to the teacher).
    assert (loss.photometric(frame0, frame1, right, right).numpy() == 1).all()


def test_schedule_values() -> None:
    cosine = DistillationSchedule(2.0, anneal_steps=100)
    values = [float(cosine(s)) for s in (0, 50, 100, 1000)]
    np.testing.assert_allclose(values, [2.0, 1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(float(cosine(25)), 2.0 * 0.5 * (1 + math.cos(math.pi / 4)))
    linear = DistillationSchedule(1.0, 10, hold_steps=5, final_fraction=0.2, kind="linear")
    np.testing.assert_allclose(
        [float(linear(s)) for s in (0, 5, 10, 15, 30)], [1.0, 1.0, 0.6, 0.2, 0.2], atol=1e-6
    )
    assert float(DistillationSchedule(0.5)(tf.constant(10**6, tf.int64))) == 0.5
    with pytest.raises(ValueError, match="got 'step'"):
        DistillationSchedule(1.0, 10, kind="step")
    with pytest.raises(ValueError, match="got -1"):
        DistillationSchedule(-1)


def test_fbnet_exposes_its_flow_pyramid_on_request() -> None:
    model = FBNet(**TINY_FBNET)
    inputs = {"frame0": tf.zeros([2, 19, 26, 3]), "frame1": tf.zeros([2, 19, 26, 3])}
    plain = model.call_with_aux(inputs)
    assert "flow_pyramid" not in plain
    pyramid = model.call_with_aux(inputs, flow_pyramid=True)["flow_pyramid"]
    assert [tuple(f.shape) for f in pyramid] == [(4, 19, 26, 2), (4, 10, 13, 2), (4, 5, 7, 2)]


@pytest.fixture(scope="module")
def teacher_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("distill") / "shift"
    build_synthetic_dataset(
        8, out, height=32, width=32, motion="shift", scene=SceneConfig(max_translation=2.0),
        teacher_flow=TeacherFlowConfig(), val_fraction=0.25, progress=False,
    )  # fmt: skip
    return out


def _config(data_dir: Path, **loss):
    config = tiny_config(
        data_dir, "fbnet", epochs=1, steps_per_epoch=2, image_windows=0, checkpoint_every_steps=0
    )
    config.model.params = dict(TINY_FBNET)
    config.data.crop = 32
    config.loss.distill_hold_steps = 0
    config.loss.distill_final_fraction = 0.0
    for key, value in loss.items():
        setattr(config.loss, key, value)
    return config.validate()


def test_fbnet_trains_with_distillation(teacher_data: Path, tmp_path: Path) -> None:
    config = _config(teacher_data, distill_weight=0.5, distill_anneal_steps=4)
    result = train(config, tmp_path / "run", progress=False, log=lambda _: None)
    epoch = result.history[-1]
    assert result.step == 2
    assert np.isfinite(epoch["loss"]) and epoch["loss_distill"] > 0
    # Steps 0 and 1 of a 4-step cosine decay from 0.5.
    expected = np.mean([0.5, 0.25 * (1 + math.cos(math.pi / 4))])
    np.testing.assert_allclose(epoch["distill_weight"], expected, rtol=1e-5)
    assert "val_psnr" in epoch and "val_loss_distill" not in epoch


def test_distillation_refuses_a_dataset_without_flows(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    build_synthetic_dataset(4, plain, height=32, width=32, progress=False)
    with pytest.raises(ValueError, match="has no teacher flows"):
        config = _config(plain, distill_weight=1.0, distill_missing="error")
        train(config, tmp_path / "run", progress=False)
    # FBNet's default: train on without distillation, say so, and record it in the run.
    lines: list[str] = []
    result = train(_config(plain, distill_weight=1.0), tmp_path / "off", progress=False,
                   log=lines.append)  # fmt: skip
    assert any("distillation off" in line and str(plain) in line for line in lines)
    assert "loss_distill" not in result.history[-1]
    saved = from_dict(TrainConfig, load_config_file(tmp_path / "off" / "config.yaml"))
    assert saved.loss.distill_weight == 0 and not saved.loss.distills
    with pytest.raises(ValueError, match="distill_missing must be one of .*'skip'"):
        _config(plain, distill_missing="skip")
    with pytest.raises(ValueError, match="distill_weight must be >= 0, got -1"):
        _config(plain, distill_weight=-1.0)


def test_default_fbnet_run_builds_the_synthetic_data_with_teacher_flows(tmp_path: Path) -> None:
    from fbnet.models.registry import get_spec

    config = default_config("fbnet")
    config.data.synthetic_root = str(tmp_path)
    config.data.synthetic_windows = 4
    config.data.synthetic_height = config.data.synthetic_width = 32
    info = prepare_data(config, get_spec("fbnet"))
    assert info.directory == tmp_path / "synthetic-w3-dis" and info.teacher_flows
    # Models that do not distill keep the plain synthetic dataset, without flows.
    plain = default_config("deep_cnn")
    plain.data = config.data
    info = prepare_data(plain, get_spec("deep_cnn"))
    assert info.directory == tmp_path / "synthetic-w3" and not info.teacher_flows
