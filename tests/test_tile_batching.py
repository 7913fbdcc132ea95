"""Tiles batched into one model call give the tile-by-tile result (on real photographs)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fbnet.interpolate.classical import AverageInterpolator
from fbnet.interpolate.tiling import TiledInterpolator

# Batching only regroups the same per-tile calls; float32 convolutions over a different batch
# size may round differently, so allow 1e-5 (well below a grey level, 1/255).
TOLERANCE = 1e-5


class CountingInterpolator:
    """Wraps an interpolator and records the batch size of each call."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.supports_time = True
        self.batches: list[int] = []

    def interpolate(self, frame0, frame1, time):
        self.batches.append(frame0.shape[0])
        return self.inner.interpolate(frame0, frame1, time)


def _real_pair(stills, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A crop of a real photograph and the same crop 3 px right and 2 px down (two pairs)."""
    paths = sorted(stills.glob("*.jpg"))[:2]
    pairs = []
    for path in paths:
        image = cv2.imread(str(path))[:, :, ::-1]
        pairs.append((image[:height, :width], image[2 : height + 2, 3 : width + 3]))
    frame0 = np.ascontiguousarray(np.stack([p[0] for p in pairs]))
    frame1 = np.ascontiguousarray(np.stack([p[1] for p in pairs]))
    return frame0, frame1


def test_tile_batch_groups_calls_and_keeps_the_average_exactly(shared_stills_dir) -> None:
    frame0, frame1 = _real_pair(shared_stills_dir, 70, 90)
    time = np.array([0.3, 0.6], np.float32)
    counting = CountingInterpolator(AverageInterpolator())
    one = TiledInterpolator(counting, tile=32, overlap=8).interpolate(frame0, frame1, time)
    assert counting.batches == [1] * 24  # 3 x 4 tiles, one call per tile of each pair
    counting.batches.clear()
    both = TiledInterpolator(counting, 32, 8, one_pair_per_call=False)
    both_pairs = both.interpolate(frame0, frame1, time)
    assert counting.batches == [2] * 12  # one call per tile, holding both pairs
    counting.batches.clear()
    grouped = TiledInterpolator(counting, 32, 8, tile_batch=5, one_pair_per_call=False)
    grouped = grouped.interpolate(frame0, frame1, time)
    assert counting.batches == [10, 10, 4]
    np.testing.assert_allclose(grouped, one, atol=1e-6)
    np.testing.assert_allclose(both_pairs, one, atol=1e-6)
    np.testing.assert_allclose(one, AverageInterpolator().interpolate(frame0, frame1, time), 1e-5)
    with pytest.raises(ValueError, match="got 0"):
        TiledInterpolator(counting, 32, 8, tile_batch=0)


def test_batched_tiles_match_tile_by_tile_with_the_shipped_fbnet(shared_stills_dir) -> None:
    from fbnet.interpolate.runner import KerasInterpolator
    from fbnet.loading import load_model

    try:
        model = load_model(None)  # the shipped FBNet
    except FileNotFoundError:
        pytest.skip("no shipped FBNet in this install")
    runner = KerasInterpolator(model, name="fbnet")
    frame0, frame1 = _real_pair(shared_stills_dir, 64, 96)
    time = np.array([0.5, 0.5], np.float32)
    one = TiledInterpolator(runner, tile=48, overlap=16).interpolate(frame0, frame1, time)
    grouped = TiledInterpolator(runner, 48, 16, tile_batch=4, one_pair_per_call=False)
    grouped = grouped.interpolate(frame0, frame1, time)
    assert np.abs(grouped - one).max() <= TOLERANCE
