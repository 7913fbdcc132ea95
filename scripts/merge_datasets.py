"""Merge several ``fbnet data build`` datasets into one directory (one ``--data`` for train.py).

Usage: ``python scripts/merge_datasets.py OUT IN [IN ...] [--overwrite]``

Every input must hold the same window length and frame size. The merge goes through the staged
dataset writer (:mod:`data_pipeline.merge`): shards are hard-linked (copied when linking fails)
into a hidden staging folder and renamed when complete, ``manifest.json`` (every shard of every
split, summed drop counts, each input's manifest under ``merged_from``) is written last, so an
interrupted merge never looks finished. An OUT that already holds a dataset is refused unless
``--overwrite``, and a failed merge leaves it intact.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_pipeline.manifest import MANIFEST_NAME
from data_pipeline.merge import merge_datasets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="merged dataset directory")
    parser.add_argument("inputs", type=Path, nargs="+", help="datasets to merge")
    parser.add_argument("--overwrite", action="store_true", help="replace a dataset already in OUT")
    args = parser.parse_args(argv)
    try:
        manifest = merge_datasets(args.out, args.inputs, overwrite=args.overwrite)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"merge_datasets: error: {error}", file=sys.stderr)
        return 2
    counts = {split: info["examples"] for split, info in manifest["splits"].items()}
    print(f"{args.out}: {counts} ({MANIFEST_NAME} written)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
