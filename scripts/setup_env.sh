#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv and install the package with its
# development tools and the Apache Beam extra (`fbnet data build --runner beam`). Safe to run
# again: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "setup_env: no python3.11 or python3 on PATH" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup_env: creating .venv with $("$PYTHON" --version 2>&1)" >&2
  "$PYTHON" -m venv .venv
fi

stamp="$(sha1sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat .venv/.installed 2>/dev/null || true)" != "$stamp" ]; then
  echo "setup_env: installing frame-booster and its dependencies into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev,beam]"
  # The TF Serving protos (used by the export tests) pin the full `tensorflow` wheel; the
  # project already has tensorflow(-cpu) of the same version, so the protos come without it.
  .venv/bin/python -m pip install --quiet --no-deps "tensorflow-serving-api==2.21.*"
  echo "$stamp" > .venv/.installed
fi
