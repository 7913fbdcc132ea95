"""Textures for the synthetic scenes: procedural random fields or photographs.

A texture is a continuous RGB image defined on texture coordinates (rows, columns in texture
pixels). ``sample_affine(matrix, height, width)`` renders it on an output grid through a 2x3 affine
map from output pixel ``(x, y)`` to texture coordinates (OpenCV's ``(x, y)`` column-first order).
Every frame of a scene samples the same continuous image at its own exact pose, so intermediate
frames are true renders, never blends of their neighbours. Samples are float32 ``[H, W, 3]`` in
[0, 1].

Procedural textures are band-limited random fields (no energy near Nyquist, so bicubic
interpolation of the field is accurate at any sub-pixel offset) passed through a smooth pointwise
squashing; a high gain turns the smooth field into cartoon-like regions with sharp, still exactly
positioned, edges. Photographs are sampled bilinearly through a random scale and offset, which lets
a folder of photos replace the procedural textures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from data_pipeline.synthetic import band_limited_field


@dataclass(frozen=True)
class ProceduralTexture:
    """A squashed band-limited field: ``0.5 + 0.5 * tanh(gain * (field + offset))``."""

    field: np.ndarray  # float32 [H, W, 3], zero mean, unit standard deviation
    gain: np.ndarray  # float32 [3]
    offset: np.ndarray  # float32 [3]

    def sample_affine(self, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
        raw = cv2.warpAffine(
            self.field,
            np.asarray(matrix, np.float64),
            (width, height),
            flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        return (0.5 + 0.5 * np.tanh(self.gain * (raw + self.offset))).astype(np.float32)


@dataclass(frozen=True)
class ImageTexture:
    """A photograph (float32 [H, W, 3] in [0, 1]) seen through ``photo = scale * q + shift``."""

    image: np.ndarray
    scale: float
    shift: tuple[float, float]  # (x, y) in photo pixels

    def sample_affine(self, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
        to_photo = np.asarray(matrix, np.float64) * self.scale
        to_photo[:, 2] += self.shift
        out = cv2.warpAffine(
            self.image,
            to_photo,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        return np.clip(out, 0.0, 1.0)


Texture = ProceduralTexture | ImageTexture


def procedural_texture(rng: np.random.Generator, height: int, width: int) -> ProceduralTexture:
    """A random field covering ``height x width`` texture pixels, with a random look."""
    beta = rng.uniform(0.7, 1.6)  # spectral slope: larger is smoother
    cutoff = rng.uniform(0.12, 0.24)  # cycles/pixel, below Nyquist (0.5)
    field = band_limited_field(rng, height, width, cutoff=cutoff, beta=beta)
    gain = np.full(3, rng.choice([0.8, 1.2, 3.0]), np.float32) * rng.uniform(0.8, 1.2, 3)
    offset = rng.uniform(-0.4, 0.4, 3).astype(np.float32)
    return ProceduralTexture(field=field, gain=gain.astype(np.float32), offset=offset)


def image_texture(rng: np.random.Generator, images: list[np.ndarray]) -> ImageTexture:
    """Pick one of ``images`` with a random scale (0.6-1.4 photo px per texture px) and offset."""
    image = images[int(rng.integers(len(images)))]
    height, width = image.shape[:2]
    scale = float(rng.uniform(0.6, 1.4))
    shift = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
    return ImageTexture(image=image, scale=scale, shift=shift)


def as_texture_images(textures: list | tuple | None) -> list[np.ndarray]:
    """Normalise photographs (uint8, uint16 or float arrays, or image paths) to float32 RGB."""
    if not textures:
        return []
    from data_pipeline.media import read_image  # local: only photo textures need file IO

    images = []
    for item in textures:
        array = read_image(item) if not isinstance(item, np.ndarray) else item
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=-1)
        if array.ndim != 3 or array.shape[-1] not in (3, 4) or min(array.shape[:2]) < 2:
            raise ValueError(f"texture images must be [H, W, 3] arrays, got shape {array.shape}")
        array = array[..., :3]
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / 255.0
        elif array.dtype == np.uint16:
            array = array.astype(np.float32) / 65535.0
        images.append(np.ascontiguousarray(array, dtype=np.float32))
    return images
