"""The ``fbnet`` command line: one sub-command per tool, each defined in its own module.

Each module named in ``COMMANDS`` exposes ``add_parser(subparsers) -> None``; the parser it adds
sets ``func`` (called with the parsed namespace, returning an exit code). Modules import
TensorFlow lazily inside their ``func`` so that ``fbnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "data": "data_pipeline.cli",
    "bench": "fbnet.bench.cli",
    "interpolate": "fbnet.interpolate.cli",
    "evaluate": "fbnet.evaluate.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fbnet", description="Frame Booster: video frame interpolation tools."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue  # tool not installed in this build
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"fbnet {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a full disk: the message names the file
        print(f"fbnet {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
