"""Pixel operations shared by the VWW loaders and mirrored exactly by the C reader (image_c/vww_image_reader.c).

- Nearest resize: output pixel (y, x) takes source pixel (floor((y + 0.5) * H / h), floor((x + 0.5) * W / w)),
  computed in integers: (2 * y + 1) * H // (2 * h).
- RGB -> gray: ITU-R 601-2 luma as Pillow computes it, (19595 R + 38470 G + 7471 B + 32768) >> 16.
- Gray -> 3 channels: the gray value is repeated.
- uint8 -> float: float32(v) / float32(255), in [0, 1].
"""
from __future__ import annotations

import numpy as np


def normalize_resolution(resolution) -> tuple[int, int]:
    """(height, width) from an int (square) or a pair; raises ValueError on anything else."""
    if isinstance(resolution, (int, np.integer)):
        resolution = (int(resolution), int(resolution))
    try:
        h, w = (int(v) for v in resolution)
    except (TypeError, ValueError):
        raise ValueError(f"resolution must be an int or a (height, width) pair, got {resolution!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"resolution must be positive, got {resolution!r}")
    return h, w


def check_channels(channels: int) -> int:
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    return int(channels)


def nearest_indices(src: int, dst: int) -> np.ndarray:
    """Source index of each of ``dst`` output positions for a nearest resize from ``src`` positions."""
    return ((2 * np.arange(dst, dtype=np.int64) + 1) * src) // (2 * dst)


def resize_nearest(pixels: np.ndarray, resolution) -> np.ndarray:
    """Nearest resize of an (H, W, C) array to ``resolution`` with the rule in the module docstring."""
    h, w = normalize_resolution(resolution)
    return pixels[nearest_indices(pixels.shape[0], h)][:, nearest_indices(pixels.shape[1], w)]


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 (..., 3) RGB -> uint8 (..., 1) luma, the integer formula of Pillow's convert('L')."""
    c = rgb.astype(np.uint32)
    y = (c[..., 0] * 19595 + c[..., 1] * 38470 + c[..., 2] * 7471 + 32768) >> 16
    return y.astype(np.uint8)[..., None]


def to_channels(rgb: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> (H, W, channels)."""
    return rgb_to_gray(rgb) if check_channels(channels) == 1 else rgb


def to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1] (float32 division by 255, as the C reader does)."""
    return pixels.astype(np.float32) / np.float32(255)
