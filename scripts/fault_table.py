"""Fault table: inject faults into the long-running commands and record how each one ends.

Usage::

    python scripts/fault_table.py [--work DIR] [--seed N] [--json FILE] [--only NAME ...]

For every long-running command (``fbnet data build``, single-process and ``--runner beam``;
``train.py``; ``fbnet interpolate``; ``export.py``) it runs a clean baseline, then ``kill -9`` at a
random point of a second run (uniform over the baseline's duration, seeded), a full disk (the
output on a small tmpfs; without the rights to mount one, a file-size limit of the same size
with ``SIGXFSZ`` ignored, so writes fail with ``EFBIG`` as they would with ``ENOSPC``), and bad
inputs: truncated/corrupt video, 0/1/2-frame videos, mismatched frame sizes in a folder, RGBA and
16-bit PNGs, a truncated shard, a manifest that names a missing shard, a diverging (NaN) run.

Each row records the exit code, whether the message names the file or argument at fault, and
whether anything half-written looks complete or earlier output was lost; its verdict is
``clear error, nothing lost``, ``resumed``, ``accepted`` (an input the command is meant to take,
converted) or ``FAIL: ...``. The table is printed as Markdown (the README's copy) and written as
JSON with ``--json``; the exit code is 1 if any row fails. ``tests/test_fault_table.py`` runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
FBNET = [sys.executable, "-m", "fbnet"]
TINY_DEEP_CNN = [
    "--set", "model.params.expansion_filters=4", "--set", "model.params.spatial_filters=[4, 4]",
    "--set", "model.params.spatial_kernel_sizes=[3, 3]", "--set", "model.params.head_filters=[4]",
]  # fmt: skip
DISK_BYTES = 192 << 10  # the "full disk": 192 KiB


@dataclass
class Row:
    command: str
    fault: str
    exit_code: int | None
    names_it: bool | None
    nothing_lost: bool
    verdict: str


@dataclass
class Outcome:
    code: int | None
    output: str
    seconds: float
    killed: bool = False


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run(
    cmd: list[str],
    *,
    kill_at: float | None = None,
    kill_after: Callable[[], bool] | None = None,
    file_limit: int | None = None,
    timeout: float = 300.0,
) -> Outcome:
    """Run ``cmd`` in the checkout. SIGKILL it ``kill_at`` seconds after the start, or (with
    ``kill_after``) that many seconds after ``kill_after()`` first holds; output goes to a file,
    so a chatty command never blocks on a full pipe."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_limit_file_size(file_limit) if file_limit else None,
        )
        deadline = None if kill_at is None or kill_after is not None else start + kill_at
        killed = False
        while process.poll() is None:
            now = time.perf_counter()
            if deadline is None and kill_after is not None and kill_after():
                deadline = now + (kill_at or 0.0)
            if (deadline is not None and now >= deadline) or now - start > timeout:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed = True
                break
            time.sleep(0.02)
        log.seek(0)
        output = log.read()
    return Outcome(process.returncode, output, time.perf_counter() - start, killed=killed)


@contextlib.contextmanager
def small_disk(root: Path, size: int = DISK_BYTES) -> Iterator[tuple[Path, int | None]]:
    """A folder on a ``size``-byte tmpfs, or (without mount rights) a plain folder and the
    file-size limit that stands in for it."""
    folder = Path(tempfile.mkdtemp(prefix="disk-", dir=root))
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
        ).returncode
        == 0
        if shutil.which("mount") and os.geteuid() == 0
        else False
    )
    try:
        yield folder, None if mounted else size
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], capture_output=True)


def names_disk(outcome: Outcome, disk: Path) -> bool:
    """Whether a full-disk failure says where or what: the path on the disk, or the error."""
    return any(text in outcome.output for text in (str(disk), "space", "too large"))


def full_disk(limit: int | None, size: int) -> str:
    """The row's fault name: which stand-in for a full disk was used, and its size."""
    return f"full disk ({size >> 10} KiB {'file-size limit' if limit else 'tmpfs'})"


# ---------------------------------------------------------------------------------------------
# Inputs.


def frames(count: int, width: int, height: int, seed: int = 0) -> list[np.ndarray]:
    """A smooth texture panning 2 px per frame (BGR uint8)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(
        rng.integers(0, 256, (height + 8, width + 2 * count + 8, 3), np.uint8), (0, 0), 2.0
    )
    return [np.ascontiguousarray(base[4 : 4 + height, 2 * i : 2 * i + width]) for i in range(count)]


def write_video(path: Path, images: list[np.ndarray]) -> Path:
    height, width = images[0].shape[:2] if images else (48, 64)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (width, height))
    for image in images:
        writer.write(image)
    writer.release()
    return path


def write_folder(path: Path, images: list[np.ndarray]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(path / f"{i:04d}.png"), image)
    return path


def make_inputs(root: Path) -> dict[str, Path]:
    clip = frames(90, 256, 192)
    inputs = {
        "video": write_video(root / "clip.avi", clip),
        "small": write_video(root / "small.avi", frames(24, 64, 48, seed=1)),
        "video0": write_video(root / "zero.avi", []),
        "video1": write_video(root / "one.avi", clip[:1]),
        "video2": write_video(root / "two.avi", clip[:2]),
        "mixed": write_folder(root / "mixed", [*frames(3, 64, 48), frames(1, 32, 24)[0]]),
        "rgba": write_folder(
            root / "rgba",
            [np.dstack([f, np.full(f.shape[:2], 200, np.uint8)]) for f in frames(6, 64, 48)],
        ),
        "png16": write_folder(
            root / "png16", [f.astype(np.uint16) * 257 for f in frames(6, 64, 48)]
        ),
    }
    data = inputs["video"].read_bytes()
    corrupt = root / "corrupt.avi"
    corrupt.write_bytes(data[: len(data) // 3] + bytes(random.Random(0).randbytes(4096)))
    inputs["corrupt"] = corrupt
    empty = root / "empty.avi"
    empty.write_bytes(b"")
    inputs["empty"] = empty
    return inputs


# ---------------------------------------------------------------------------------------------
# Checks.


def looks_like_dataset(folder: Path) -> bool:
    return (folder / "manifest.json").exists()


def dataset_complete(folder: Path) -> bool:
    """A manifest whose shards all pass the checks of ``fbnet data inspect --verify`` (each
    shard present with its recorded size and CRC-32)."""
    if not looks_like_dataset(folder):
        return False
    from data_pipeline.manifest import read_manifest, shard_files

    try:
        manifest = read_manifest(folder)
        for split in manifest["splits"]:
            shard_files(folder, manifest, split, verify="full")
    except (OSError, ValueError):
        return False
    return True


def dataset_intact(folder: Path, manifest: str) -> bool:
    """The dataset that was there, unchanged: the same manifest, every shard verified."""
    if not looks_like_dataset(folder) or (folder / "manifest.json").read_text() != manifest:
        return False
    return dataset_complete(folder)


def verdict(outcome: Outcome, names_it: bool | None, nothing_lost: bool, ok: str) -> str:
    if outcome.killed:
        return ok if nothing_lost else "FAIL: killed run left output that looks complete"
    if outcome.code == 0 and ok.startswith("accepted"):
        return ok if nothing_lost else "FAIL: output incomplete"
    if outcome.code in (0, None):
        return f"FAIL: exit code {outcome.code}"
    if not names_it:
        return "FAIL: message names neither the file nor the argument"
    return "clear error, nothing lost" if nothing_lost else "FAIL: output lost or half-written"


def _warned(outcome: Outcome, path: Path) -> str:
    """A truncated video is read up to its damage; the command must say so, naming the file."""
    if path.name in outcome.output and "warning" in outcome.output.lower():
        return "accepted with a warning naming the file"
    return "FAIL: truncated input accepted without a warning"


# ---------------------------------------------------------------------------------------------
# The commands.


class Table:
    def __init__(self, work: Path, rng: random.Random) -> None:
        self.work = work
        self.rng = rng
        self.rows: list[Row] = []

    def add(
        self,
        command: str,
        fault: str,
        outcome: Outcome,
        names_it: bool | None,
        nothing_lost: bool,
        ok: str = "clear error, nothing lost",
    ) -> None:
        row = Row(
            command,
            fault,
            outcome.code,
            names_it,
            nothing_lost,
            verdict(outcome, names_it, nothing_lost, ok),
        )
        if row.verdict.startswith("FAIL"):
            print(f"{command} / {fault}:\n{outcome.output[-2000:]}", file=sys.stderr)
        self.rows.append(row)

    def killed_run(
        self,
        baseline: Outcome,
        attempt: Callable[[float], Outcome],
        reset: Callable[[], None] = lambda: None,
    ) -> Outcome:
        """``attempt(kill_at)`` with a kill point drawn from the baseline's duration. A warm
        rerun can finish before it: then ``reset()`` and try again at half the point (4 tries)."""
        kill_at = self.rng.uniform(0.2, 0.9) * baseline.seconds
        for _ in range(4):
            outcome = attempt(kill_at)
            if outcome.killed:
                break
            reset()
            kill_at /= 2
        return outcome


def build_rows(table: Table, inputs: dict[str, Path], runner: str) -> Path:
    """``fbnet data build``; returns the clean dataset (for the training rows)."""
    name = "fbnet data build" + (" --runner beam" if runner == "beam" else "")
    extra = ["--runner", "beam"] if runner == "beam" else []
    root = table.work / f"build-{runner}"
    root.mkdir()

    def build(source: Path, out: Path, *more: str, **kwargs) -> Outcome:
        cmd = [*FBNET, "data", "build", "--source", str(source), "--out", str(out), *extra]
        return run([*cmd, "--size", "128x96", *more], **kwargs)

    dataset = root / "dataset"
    baseline = build(inputs["video"], dataset)
    if baseline.code != 0:
        raise RuntimeError(f"{name}: the clean build failed:\n{baseline.output}")
    manifest = (dataset / "manifest.json").read_text()
    table.add(
        name, "none (baseline)", baseline, None, dataset_intact(dataset, manifest), "accepted"
    )
    killed = table.killed_run(
        baseline, lambda at: build(inputs["video"], dataset, "--overwrite", kill_at=at)
    )
    # Either the old dataset, untouched, or (killed after publishing) the complete new one.
    table.add(name, "kill -9 during --overwrite", killed, None, dataset_complete(dataset))
    if not dataset_complete(dataset):  # already a FAIL row; rebuild so the other rows can run
        build(inputs["video"], dataset, "--overwrite")
    manifest = (dataset / "manifest.json").read_text()
    with small_disk(root, size := DISK_BYTES) as (disk, limit):
        out = disk / "dataset"
        full = build(inputs["video"], out, file_limit=limit)
        table.add(
            name, full_disk(limit, size), full, names_disk(full, disk), not looks_like_dataset(out)
        )
    bad = [
        ("corrupt", "truncated/corrupt video"),
        ("empty", "empty (0-byte) video"),
        ("video0", "0-frame video"),
        ("video1", "1-frame video"),
        ("video2", "2-frame video"),
        ("mixed", "mismatched frame sizes in a folder"),
    ]
    if runner == "local":
        bad += [("rgba", "RGBA PNG folder"), ("png16", "16-bit PNG folder")]
    for key, fault in bad:
        out = root / f"bad-{key}"
        outcome = build(inputs[key], out, "--size", "64x48", "--val-fraction", "0")
        if outcome.code == 0:
            ok = "accepted" if key != "corrupt" else _warned(outcome, inputs[key])
            table.add(name, fault, outcome, None, dataset_complete(out), ok)
        else:
            table.add(
                name,
                fault,
                outcome,
                inputs[key].name in outcome.output,
                not looks_like_dataset(out),
            )
    overwrite = build(inputs["mixed"], dataset, "--overwrite")
    table.add(
        name,
        "failed --overwrite rebuild",
        overwrite,
        inputs["mixed"].name in overwrite.output,
        dataset_intact(dataset, manifest),
    )
    return dataset


def train_rows(table: Table, dataset: Path) -> Path:
    """``train.py`` (a tiny Deep CNN); returns a checkpoint for the export rows."""
    root = table.work / "train"
    root.mkdir()

    def train(run_dir: Path, data: Path, *more: str, **kwargs) -> Outcome:
        cmd = [
            sys.executable,
            "train.py",
            "--model",
            "deep_cnn",
            "--data",
            str(data),
            "--run-dir",
            str(run_dir),
            "--epochs",
            "3",
            "--steps-per-epoch",
            "40",
            "--batch-size",
            "2",
            "--crop",
            "32",
            "--no-progress",
            *TINY_DEEP_CNN,
            "--set",
            "training.checkpoint_every_steps=5",
            *more,
        ]
        return run(cmd, **kwargs)

    baseline = train(root / "baseline", dataset)
    if baseline.code != 0:
        raise RuntimeError(f"train.py: the clean run failed:\n{baseline.output}")
    best = _newest_checkpoint(root / "baseline")
    table.add("train.py", "none (baseline)", baseline, None, best is not None, "accepted")
    # Killed at a random point after its first checkpoint, so there is something to resume.
    checkpoints = root / "killed" / "checkpoints"
    killed = train(
        root / "killed",
        dataset,
        kill_at=table.rng.uniform(0.0, 0.5),
        kill_after=lambda: any(checkpoints.glob("ckpt-*.keras")),
    )
    resumed = train(root / "killed", dataset)
    final = _newest_checkpoint(root / "killed")
    ok = resumed.code == 0 and final is not None and final.name == best.name and _loads(final)
    row_outcome = Outcome(killed.code, killed.output, killed.seconds, killed.killed)
    table.add(
        "train.py",
        "kill -9, then the same command",
        row_outcome,
        None,
        ok,
        "resumed" if "resum" in resumed.output.lower() else "clear error, nothing lost",
    )
    with small_disk(root, size := DISK_BYTES) as (disk, limit):
        full = train(disk / "run", dataset, file_limit=limit)
        checkpoints = _visible_checkpoints(disk / "run")
        table.add(
            "train.py",
            full_disk(limit, size),
            full,
            names_disk(full, disk),
            all(_loads(p) for p in checkpoints),
        )
    shards = sorted(dataset.glob("train-*.tfrecord"))

    def truncate(path: Path) -> None:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    for fault, damage in (
        ("truncated shard", truncate),
        ("manifest names a missing shard", Path.unlink),
    ):
        broken = root / f"data-{len(table.rows)}"
        shutil.copytree(dataset, broken)
        damage(broken / shards[0].name)
        outcome = train(root / f"run-{len(table.rows)}", broken)
        table.add(
            "train.py",
            fault,
            outcome,
            shards[0].name in outcome.output,
            not (root / f"run-{len(table.rows)}" / "checkpoints" / "best.keras").exists(),
        )
    nan_run = root / "nan"
    outcome = train(
        nan_run,
        dataset,
        "--set",
        "optimizer.learning_rate=.inf",  # the first update makes every weight inf or NaN
        "--set",
        "optimizer.clipnorm=null",
    )
    checkpoints = _visible_checkpoints(nan_run)
    table.add(
        "train.py",
        "diverging run (NaN/inf weights and losses)",
        outcome,
        any(word in outcome.output for word in ("NaN", "non-finite", "not finite")),
        all(_loads(p) for p in checkpoints),
    )
    return best


def _visible_checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoint files that look complete (temporaries are hidden ``.tmp-*``)."""
    return [p for p in (run_dir / "checkpoints").glob("*.keras") if not p.name.startswith(".")]


def _newest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted((run_dir / "checkpoints").glob("ckpt-*.keras"))
    return found[-1] if found else None


def _loads(path: Path) -> bool:
    """Whether a checkpoint file is a complete, finite model (a killed write would not be)."""
    code = (
        "import sys, numpy as np; from fbnet.loading import load_model; "
        "m = load_model(sys.argv[1]); "
        "sys.exit(0 if all(np.all(np.isfinite(np.asarray(w))) for w in m.weights) else 3)"
    )
    return run([sys.executable, "-c", code, str(path)]).code == 0


def interpolate_rows(table: Table, inputs: dict[str, Path]) -> None:
    name = "fbnet interpolate"
    root = table.work / "interpolate"
    root.mkdir()

    def interpolate(source: Path, out: Path, *more: str, **kwargs) -> Outcome:
        cmd = [
            *FBNET,
            "interpolate",
            str(source),
            "-o",
            str(out),
            "--model",
            "flow",
            "--no-audio",
            "--quiet",
            *more,
        ]
        return run(cmd, **kwargs)

    target = root / "out.avi"
    baseline = interpolate(inputs["video"], target)
    if baseline.code != 0:
        raise RuntimeError(f"{name}: the clean run failed:\n{baseline.output}")
    table.add(name, "none (baseline)", baseline, None, target.exists(), "accepted")
    again = root / "killed.avi"
    killed = table.killed_run(
        baseline,
        lambda at: interpolate(inputs["video"], again, kill_at=at),
        reset=lambda: again.unlink(missing_ok=True),
    )
    table.add(name, "kill -9", killed, None, not again.exists())
    with small_disk(root, size := DISK_BYTES) as (disk, limit):
        out = disk / "out.avi"
        full = interpolate(inputs["video"], out, file_limit=limit)
        table.add(name, full_disk(limit, size), full, names_disk(full, disk), not out.exists())
    cases = [
        ("corrupt", "truncated/corrupt video"),
        ("empty", "empty (0-byte) video"),
        ("video0", "0-frame video"),
        ("video1", "1-frame video"),
        ("mixed", "mismatched frame sizes in a folder"),
        ("rgba", "RGBA PNG folder"),
        ("png16", "16-bit PNG folder"),
    ]
    for key, fault in cases:
        out = root / f"bad-{key}"
        outcome = interpolate(inputs[key], out)
        if outcome.code == 0:
            ok = "accepted" if key != "corrupt" else _warned(outcome, inputs[key])
            table.add(name, fault, outcome, None, len(list(out.glob("*.png"))) > 0, ok)
        else:
            table.add(name, fault, outcome, inputs[key].name in outcome.output, not out.exists())


def export_rows(table: Table, checkpoint: Path) -> None:
    root = table.work / "export"
    root.mkdir()

    def export(base: Path, **kwargs) -> Outcome:
        return run(
            [sys.executable, "export.py", "--model-file", str(checkpoint), "--out", str(base)],
            **kwargs,
        )

    def versions(base: Path) -> list[Path]:
        return [p for p in base.glob("[0-9]*") if p.is_dir()] if base.exists() else []

    base = root / "serving"
    baseline = export(base)
    if baseline.code != 0:
        raise RuntimeError(f"export.py: the clean export failed:\n{baseline.output}")
    table.add("export.py", "none (baseline)", baseline, None, len(versions(base)) == 1, "accepted")
    before = {p.name for p in versions(base)}
    killed = table.killed_run(baseline, lambda at: export(base, kill_at=at))
    after = versions(base)
    complete = all((p / "saved_model.pb").exists() for p in after)
    table.add("export.py", "kill -9", killed, None, before <= {p.name for p in after} and complete)
    with small_disk(root, size := 16 << 10) as (disk, limit):
        full = export(disk / "serving", file_limit=limit)
        table.add(
            "export.py",
            full_disk(limit, size),
            full,
            names_disk(full, disk),
            not versions(disk / "serving"),
        )


def markdown(rows: list[Row]) -> str:
    def mark(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "no")

    lines = [
        "| command | fault | exit code | names the file/argument | nothing lost | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        code = "killed" if r.exit_code == -signal.SIGKILL else r.exit_code
        lines.append(
            f"| `{r.command}` | {r.fault} | {code} | {mark(r.names_it)} | "
            f"{mark(r.nothing_lost)} | {r.verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill points")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument(
        "--only", action="append", choices=["build", "beam", "train", "interpolate", "export"]
    )
    args = parser.parse_args(argv)
    only = set(args.only or ["build", "beam", "train", "interpolate", "export"])
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="faults-")))
        work.mkdir(parents=True, exist_ok=True)
        table = Table(work, random.Random(args.seed))
        inputs = make_inputs(work)
        dataset = (
            build_rows(table, inputs, "local") if only & {"build", "train", "export"} else None
        )
        if "beam" in only:
            build_rows(table, inputs, "beam")
        if only & {"train", "export"}:
            checkpoint = train_rows(table, dataset)
            if "export" in only:
                export_rows(table, checkpoint)
        if "interpolate" in only:
            interpolate_rows(table, inputs)
    print(markdown(table.rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in table.rows], indent=2) + "\n")
    return 1 if any(r.verdict.startswith("FAIL") for r in table.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
