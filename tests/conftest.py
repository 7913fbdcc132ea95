"""Shared pytest configuration: quiet TensorFlow, paths to the sample data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _shared_dir() -> Path | None:
    env = os.environ.get("FBNET_SHARED_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared")
    for candidate in candidates:
        if (candidate / "data").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_clips_dir() -> Path:
    """``shared/data/clips`` beside the checkout (or $FBNET_SHARED_DIR); skips when absent."""
    shared = _shared_dir()
    if shared is None or not (shared / "data" / "clips").is_dir():
        pytest.skip("shared sample clips not available")
    return shared / "data" / "clips"


@pytest.fixture(scope="session")
def shared_stills_dir() -> Path:
    """``shared/data/stills`` beside the checkout (or $FBNET_SHARED_DIR); skips when absent."""
    shared = _shared_dir()
    if shared is None or not (shared / "data" / "stills").is_dir():
        pytest.skip("shared sample stills not available")
    return shared / "data" / "stills"
