"""fbnet evaluate: the benchmark layouts (as fake tiny trees), scoring, the report."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fbnet.cli import main as fbnet_main
from fbnet.evaluate.datasets import Triplet, detect_layout, iter_triplets
from fbnet.evaluate.scoring import batches, score_batch
from tests.model_helpers import texture

HEIGHT, WIDTH = 24, 40


def pan_triplet(seed: int, shift: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames 0, 1, 2 of a texture panning ``shift`` px per frame (frame 1 is the truth)."""
    base = texture(HEIGHT, WIDTH + 2 * shift, seed, blur=3.0)
    frames = [np.ascontiguousarray(base[:, i * shift : i * shift + WIDTH]) for i in (2, 1, 0)]
    return frames[0], frames[1], frames[2]


def save(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])


def make_vimeo(root: Path, clips: list[str], interp_test: bool = False) -> None:
    for i, clip in enumerate(clips):
        a, mid, b = pan_triplet(i)
        if interp_test:
            save(root / "input" / clip / "im1.png", a)
            save(root / "input" / clip / "im3.png", b)
            save(root / "target" / clip / "im2.png", mid)
        else:
            for name, frame in (("im1", a), ("im2", mid), ("im3", b)):
                save(root / "sequences" / clip / f"{name}.png", frame)
    (root / "tri_testlist.txt").write_text("\n".join(clips) + "\n\n")


def make_middlebury(root: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        a, mid, b = pan_triplet(10 + i)
        save(root / "other-data" / name / "frame10.png", a)
        save(root / "other-data" / name / "frame11.png", b)
        save(root / "other-gt-interp" / name / "frame10i11.png", mid)
    save(root / "other-data" / "NoTruth" / "frame10.png", a)  # only in other-data: skipped


def make_ucf101(root: Path, ids: list[str]) -> None:
    for i, item in enumerate(ids):
        a, mid, b = pan_triplet(20 + i)
        for name, frame in (("frame_00", a), ("frame_01_gt", mid), ("frame_02", b)):
            save(root / item / f"{name}.png", frame)


def make_triplets(root: Path, names: list[str], stems=("f0", "f1", "f2"), suffix=".png") -> None:
    for i, item in enumerate(names):
        for stem, frame in zip(stems, pan_triplet(30 + i)):
            save(root / item / f"{stem}{suffix}", frame)


@pytest.mark.parametrize(
    ("build", "layout", "names", "first_seed"),
    [
        (lambda r: make_vimeo(r, ["00001/0001", "00001/0002"]), "vimeo90k",
         ["00001/0001", "00001/0002"], 0),
        (lambda r: make_vimeo(r, ["00002/0007"], interp_test=True), "vimeo90k", ["00002/0007"], 0),
        (lambda r: make_middlebury(r, ["Beanbags", "Walking"]), "middlebury",
         ["Beanbags", "Walking"], 10),
        (lambda r: make_ucf101(r, ["1", "2", "10"]), "ucf101", ["1", "2", "10"], 20),
        (lambda r: make_triplets(r, ["a", "b"]), "triplets", ["a", "b"], 30),
        (lambda r: make_triplets(r, ["x"], ("im1", "im2", "im3"), ".jpg"), "triplets", ["x"],
         None),
    ],
    ids=["vimeo-triplet", "vimeo-interp-test", "middlebury", "ucf101", "f0f1f2", "im123-jpg"],
)  # fmt: skip
def test_layouts_are_detected_and_read(tmp_path, build, layout, names, first_seed):
    build(tmp_path)
    assert detect_layout(tmp_path) == layout
    found, items = iter_triplets(tmp_path)
    items = list(items)
    assert found == layout
    assert [item.name for item in items] == names  # natural order, other folders ignored
    for item in items:
        assert item.frame0.shape == item.target.shape == (HEIGHT, WIDTH, 3)
        assert item.frame0.dtype == np.uint8 and item.time == 0.5
    if first_seed is not None:  # PNG is lossless: the truth comes back exactly
        np.testing.assert_array_equal(items[0].target, pan_triplet(first_seed)[1])


def test_a_single_triplet_folder_is_one_item(tmp_path):
    for stem, frame in zip(("f0", "f1", "f2"), pan_triplet(3)):
        save(tmp_path / f"{stem}.png", frame)
    layout, items = iter_triplets(tmp_path)
    assert layout == "triplets" and len(list(items)) == 1


def test_unknown_layouts_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="no known layout"):
        detect_layout(tmp_path)
    make_vimeo(tmp_path / "v", ["00001/0001"])
    (tmp_path / "v" / "sequences" / "00001" / "0001" / "im3.png").unlink()
    _, items = iter_triplets(tmp_path / "v")
    with pytest.raises(FileNotFoundError, match="0001/im3.png"):
        list(items)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        iter_triplets(tmp_path / "nowhere")


def test_scores_match_closed_forms():
    target = np.random.default_rng(0).integers(20, 200, (2, 16, 16, 3), dtype=np.uint8)
    same = score_batch(target, target / 255.0)
    np.testing.assert_allclose(same["psnr"], 100.0)
    np.testing.assert_allclose(same["ssim"], 1.0, atol=1e-6)
    np.testing.assert_allclose(same["ie"], 0.0)
    offset = score_batch(target, (target.astype(np.float32) + 10.0) / 255.0)
    np.testing.assert_allclose(offset["ie"], 10.0, atol=1e-9)
    np.testing.assert_allclose(offset["psnr"], 20 * np.log10(255.0 / 10.0), atol=1e-3)
    assert np.all(offset["ssim"] < 1.0)


def test_batches_group_items_of_one_size_and_time():
    def item(name, size=16, time=0.5):
        frame = np.zeros((size, size, 3), np.uint8)
        return Triplet(name, frame, frame, frame, time)

    items = [item("a"), item("b"), item("c"), item("d", 20), item("e", 20, 0.25), item("f")]
    grouped = [[i.name for i in batch] for batch in batches(items, batch_size=2)]
    assert grouped == [["a", "b"], ["c"], ["d"], ["e"], ["f"]]


def run_evaluate(capsys, *argv: str) -> tuple[dict, str]:
    out = Path(argv[argv.index("--out") + 1])
    assert fbnet_main(["evaluate", *argv, "--quiet"]) == 0
    return json.loads(out.read_text()), capsys.readouterr().out


def test_report_puts_the_first_method_on_top_and_flow_beats_average(tmp_path, capsys):
    make_triplets(tmp_path / "data", [f"t{i}" for i in range(5)])
    out = tmp_path / "results.json"
    report, table = run_evaluate(
        capsys, "--data", str(tmp_path / "data"), "--method", "flow", "--method", "average",
        "--out", str(out), "--batch-size", "2",
    )  # fmt: skip
    assert report["method"] == "flow" and report["layout"] == "triplets"
    assert report["count"] == 5 and len(report["items"]) == 5
    assert set(report["items"][0]) == {"name", "psnr", "ssim"}  # no IE outside Middlebury
    assert report["psnr"] == pytest.approx(np.mean([i["psnr"] for i in report["items"]]))
    average = report["references"]["average"]
    assert average["count"] == 5
    assert report["psnr"] > average["psnr"] + 3.0  # motion-compensated beats blending on a pan
    assert "flow" in table and "average" in table and "PSNR" in table


def test_middlebury_report_has_interpolation_error(tmp_path, capsys):
    make_middlebury(tmp_path / "mb", ["Beanbags", "DogDance"])
    report, table = run_evaluate(
        capsys, "--data", str(tmp_path / "mb"), "--method", "average", "--out",
        str(tmp_path / "r.json"), "--show-items",
    )  # fmt: skip
    assert report["layout"] == "middlebury" and "ie" in report and "ie" in report["items"][0]
    assert report["ie"] > 0 and "Beanbags" in table and "IE" in table


def test_exported_model_is_scored_next_to_the_references(tmp_path, capsys):
    from fbnet.export.saved_model import export_saved_model
    from tests.model_helpers import tiny_model

    export_saved_model(tiny_model(), tmp_path / "serving")
    make_ucf101(tmp_path / "ucf", ["1", "2", "3"])
    report, _ = run_evaluate(
        capsys, "--data", str(tmp_path / "ucf"), "--model", str(tmp_path / "serving"),
        "--out", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert report["method"] == "model" and report["model"].startswith("saved_model:")
    assert sorted(report["references"]) == ["average", "flow"]
    assert report["count"] == 3 and 0 < report["ssim"] <= 1


def test_tfrecord_shards_are_read_through_the_data_pipeline(tmp_path, capsys):
    import data_pipeline

    manifest = data_pipeline.build_synthetic_dataset(
        8, tmp_path / "shards", height=32, width=32, window=3, val_fraction=0.5, progress=False
    )
    report, _ = run_evaluate(
        capsys, "--data", str(tmp_path / "shards"), "--method", "average", "--out",
        str(tmp_path / "r.json"),
    )  # fmt: skip
    assert report["layout"] == "tfrecord"
    assert report["count"] == manifest["splits"]["val"]["examples"] > 0
    assert report["items"][0]["name"] == "val/000000"


def test_empty_data_and_bad_out_folder_fail_clearly(tmp_path, capsys):
    (tmp_path / "empty_vimeo").mkdir()
    (tmp_path / "empty_vimeo" / "tri_testlist.txt").write_text("\n")
    argv = ["evaluate", "--data", str(tmp_path / "empty_vimeo"), "--method", "average", "--quiet"]
    assert fbnet_main(argv) == 2
    assert "no test items" in capsys.readouterr().err
    assert fbnet_main([*argv, "--out", str(tmp_path / "missing" / "r.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
