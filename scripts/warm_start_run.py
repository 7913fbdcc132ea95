"""Start a run directory from another run's checkpoints (fine-tuning with train.py's resume).

Usage: ``python scripts/warm_start_run.py SOURCE_CHECKPOINTS_DIR NEW_RUN_DIR``

Copies the source's ``ckpt-*.keras`` files and ``index.json`` into ``NEW_RUN_DIR/checkpoints``
without the ``best`` record (it was scored on the source run's validation data), and no
``config.yaml``, so ``train.py --run-dir NEW_RUN_DIR --config NEW.yaml`` resumes the weights,
optimizer state and step counter under the new config. ``NEW_RUN_DIR/warm_start.json`` records
where the run started (model cards list the earlier stages from it).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def warm_start(source: Path, run_dir: Path) -> Path:
    index = json.loads((source / "index.json").read_text(encoding="utf-8"))
    target = run_dir / "checkpoints"
    if target.exists():
        raise FileExistsError(f"{target} exists; remove it to start again")
    target.mkdir(parents=True)
    for record in index.get("checkpoints", []):
        shutil.copy2(source / record["file"], target / record["file"])
    index.pop("best", None)
    (target / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    steps = [record["step"] for record in index.get("checkpoints", [])]
    origin = {"run_dir": str(source.parent), "step": max(steps, default=0)}
    (run_dir / "warm_start.json").write_text(json.dumps(origin) + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"warm start: {warm_start(Path(args[0]), Path(args[1]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
