"""Interpolate large frames in overlapping tiles, blended with feathered weights (no seams).

Tiles are ``tile x tile`` (clamped to the frame), placed evenly so neighbours overlap by at
least ``overlap`` pixels, and all of one size so one traced graph serves them all. Inside an
overlap the two tiles' weights ramp linearly in opposite directions and sum to one, so the
result moves smoothly from one tile's prediction to the other's; pixels near a tile border,
where the model saw the least context, get the least weight. Weights are 1 at the frame border.
``tile_batch`` tiles go through the model in one call, of one frame pair by default
(``one_pair_per_call``: peak memory then depends on the tile size only, not on the schedule's
batch size) or of every pair in the batch; the result depends on neither.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_OVERLAP = 64
DEFAULT_MAX_MEGAPIXELS = 2.2  # 1920x1080 runs whole; 4K is tiled
# Largest automatic tile: 4K through the shipped FBNet peaks at 3.5 GiB RSS with 1024 px tiles
# (6.4 GiB with the 1472 px tiles the 2.2 MP budget alone would give).
MAX_AUTO_TILE = 1024
_TILE_STEP = 64


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``[0, size)`` with tiles of ``tile`` overlapping >= ``overlap``."""
    if tile >= size:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile={tile}), got {overlap}")
    count = math.ceil((size - overlap) / (tile - overlap))
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def axis_weights(starts: list[int], tile: int) -> list[np.ndarray]:
    """Per-tile 1-D weights: linear ramps across each overlap, 1 elsewhere."""
    weights = []
    position = np.arange(tile, dtype=np.float32) + 0.5
    for i, start in enumerate(starts):
        weight = np.ones(tile, np.float32)
        if i > 0:
            left = starts[i - 1] + tile - start
            weight = np.minimum(weight, position / left)
        if i + 1 < len(starts):
            right = start + tile - starts[i + 1]
            weight = np.minimum(weight, (tile - position) / right)
        weights.append(weight)
    return weights


def auto_tile(height: int, width: int, max_megapixels: float) -> int | None:
    """Tile size for frames over ``max_megapixels`` (a multiple of 64, at most
    ``MAX_AUTO_TILE``), else ``None``."""
    budget = max_megapixels * 1e6
    if height * width <= budget:
        return None
    fitting = int(math.sqrt(budget) // _TILE_STEP) * _TILE_STEP
    return max(_TILE_STEP * 2, min(MAX_AUTO_TILE, fitting))


class TiledInterpolator:
    """Wraps any interpolator (see :mod:`fbnet.interpolate.runner`) to run it tile by tile."""

    def __init__(
        self,
        inner,
        tile: int,
        overlap: int = DEFAULT_OVERLAP,
        tile_batch: int = 1,
        one_pair_per_call: bool = True,
    ) -> None:
        if tile < 2:
            raise ValueError(f"tile must be >= 2 pixels, got {tile}")
        if not 0 <= overlap < tile:
            raise ValueError(f"tile overlap must be in [0, {tile}), got {overlap}")
        if tile_batch < 1:
            raise ValueError(f"tile_batch must be >= 1, got {tile_batch}")
        self.inner = inner
        self.tile = tile
        self.overlap = overlap
        self.tile_batch = tile_batch
        self.one_pair_per_call = one_pair_per_call
        self.name = f"{inner.name} (tiles {tile}px)"

    @property
    def supports_time(self) -> bool:
        return self.inner.supports_time

    def interpolate(self, frame0: np.ndarray, frame1: np.ndarray, time: np.ndarray) -> np.ndarray:
        batch, height, width, channels = frame0.shape
        tile_h, tile_w = min(self.tile, height), min(self.tile, width)
        overlap_h, overlap_w = min(self.overlap, tile_h - 1), min(self.overlap, tile_w - 1)
        rows = tile_starts(height, tile_h, overlap_h)
        cols = tile_starts(width, tile_w, overlap_w)
        if len(rows) == 1 and len(cols) == 1:
            return self.inner.interpolate(frame0, frame1, time)
        if batch > 1 and self.one_pair_per_call:
            # A model call then holds one pair's tiles, whatever the schedule's batch size,
            # so peak memory follows the tile size alone.
            time = np.broadcast_to(np.asarray(time, np.float32).reshape(-1), (batch,))
            pairs = [
                self.interpolate(frame0[i : i + 1], frame1[i : i + 1], time[i : i + 1])
                for i in range(batch)
            ]
            return np.concatenate(pairs)
        total = np.zeros((batch, height, width, channels), np.float32)
        weight_sum = np.zeros((height, width, 1), np.float32)
        tiles = [
            ((slice(None), slice(top, top + tile_h), slice(left, left + tile_w)), row_w, col_w)
            for top, row_w in zip(rows, axis_weights(rows, tile_h))
            for left, col_w in zip(cols, axis_weights(cols, tile_w))
        ]
        time = np.broadcast_to(np.asarray(time, np.float32).reshape(-1), (batch,))
        for first in range(0, len(tiles), self.tile_batch):
            group = tiles[first : first + self.tile_batch]
            # One call for the group: tile-major, each tile holding the whole batch of pairs.
            outs = self.inner.interpolate(
                np.concatenate([frame0[window] for window, _, _ in group]),
                np.concatenate([frame1[window] for window, _, _ in group]),
                np.tile(time, len(group)),
            )
            for i, (window, row_weight, col_weight) in enumerate(group):
                weight = (row_weight[:, None] * col_weight[None, :])[:, :, None]
                total[window] += outs[i * batch : (i + 1) * batch] * weight
                weight_sum[window[1:]] += weight
        return total / weight_sum
