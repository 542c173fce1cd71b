"""The Visual Wake Words application: task definition for samples.pipeline and the C of its deploy folder.

The model classifies an RGB (or grayscale) image as non_person / person (CLASS_NAMES order). On the device
``vww_image_reader.c`` turns a BMP into the int8 input with the nearest resize of ``load_image``, so training,
evaluation and the Python reference read pixels exactly as the C does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..deploy import DEPLOY_C_DIR, AppC, c_bytes
from ..quantize import quantize_int8
from .data import CLASS_NAMES, load_default_vww, load_image, load_vww
from .image_reader_c import write_image_reader_c

TITLE = "Visual Wake Words (person / no person)"


def _bmp_geometry(data: bytes) -> tuple[int, int]:
    """(width, bits per pixel) of a BMP file's bytes; ValueError when it is not a BMP."""
    if len(data) < 54 or data[:2] != b"BM":
        raise ValueError("the VWW sample input is not a BMP file")
    width = int.from_bytes(data[18:22], "little", signed=True)
    bpp = int.from_bytes(data[28:30], "little")
    if width <= 0 or bpp not in (8, 24):
        raise ValueError(f"the VWW sample BMP must be 8-bit palette or 24-bit with a positive width, got {bpp}-bit, "
                         f"width {width}")
    return width, bpp


def _sample_c(data: bytes) -> tuple[str, str]:
    _bmp_geometry(data)
    header = f"""#ifndef SAMPLE_INPUT_H
#define SAMPLE_INPUT_H

#include <stdint.h>

/* The sample BMP file ({len(data)} bytes), decoded by firmware.c with vww_bmp_decode_memory. */
extern const uint8_t app_sample_input[{len(data)}];
extern const uint32_t app_sample_input_bytes;

#endif /* SAMPLE_INPUT_H */
"""
    source = f"""#include "sample_input.h"

const uint8_t app_sample_input[{len(data)}] = {{
{c_bytes(data)}
}};
const uint32_t app_sample_input_bytes = {len(data)}u;
"""
    return header, source


def _arm_defines(data: bytes) -> str:
    """The firmware reads only the sample BMP: its row buffer needs one row of it, not the reader's 8 KB."""
    width, bpp = _bmp_geometry(data)
    return f" -DVWW_BMP_MAX_ROW_BYTES={(width * bpp + 7) // 8}u"


def _check_input_shape(shape) -> None:
    if shape[2] not in (1, 3):
        raise ValueError(f"the VWW app needs a 1- or 3-channel image input, the model takes {shape}")


VWW_APP = AppC(task="vww", title=TITLE, labels=CLASS_NAMES, template_dir=DEPLOY_C_DIR / "vww",
               write_sources=write_image_reader_c, sample_c=_sample_c, sample_suffix=".bmp",
               arm_defines=_arm_defines, check_input_shape=_check_input_shape)


def write_sample_bmp(image: np.ndarray, path) -> Path:
    """Write one image (H, W, C) float in [0, 1] or uint8 as a BMP (24-bit, or 8-bit palette for C=1) that the
    C reader and load_image decode back to the same pixels."""
    x = np.asarray(image)
    if x.dtype != np.uint8:
        x = np.clip(np.round(x.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    if x.ndim != 3 or x.shape[2] not in (1, 3):
        raise ValueError(f"an image must be (H, W, 1 or 3), got shape {x.shape}")
    im = Image.fromarray(x[..., 0], "L") if x.shape[2] == 1 else Image.fromarray(x, "RGB")
    path = Path(path)
    im.save(path, format="BMP")
    return path


@dataclass
class VWWData:
    """Images at the model's input resolution: train, search (the search's fitness set, split off train) and
    val (held out from everything the search and training see; the reported accuracy)."""
    train: tuple
    search_val: tuple
    val: tuple
    description: str


class VWWTask:
    """samples.pipeline task: Visual Wake Words from a folder (``path``) or the offline proxy."""
    name = "vww"
    title = TITLE
    labels = CLASS_NAMES
    app_c = VWW_APP
    eval_split = "validation"

    def __init__(self, path=None, channels: int = 3, samples_per_class: int = 1000, val_samples_per_class: int = 200,
                 max_images_per_class: int | None = None, search_val_fraction: float = 0.1, seed: int = 0,
                 progress: bool = True):
        if path is not None and not Path(path).exists():
            raise FileNotFoundError(f"VWW data folder {path} does not exist (it must hold person/ and "
                                    "non_person/ image folders)")
        if not 0.0 < search_val_fraction < 1.0:
            raise ValueError(f"search_val_fraction must be in (0, 1), got {search_val_fraction!r}")
        self.path = None if path is None else Path(path)
        self.channels, self.seed, self.progress = channels, seed, progress
        self.samples_per_class, self.val_samples_per_class = samples_per_class, val_samples_per_class
        self.max_images_per_class = max_images_per_class
        self.search_val_fraction = search_val_fraction
        self._cache: dict = {}

    def describe(self) -> str:
        if self.path is None:
            return (f"offline VWW proxy (scikit-image scenes with LFW faces pasted in; not COCO), "
                    f"{self.samples_per_class} train + {self.val_samples_per_class} validation images per class")
        limit = f", at most {self.max_images_per_class} per class" if self.max_images_per_class else ""
        return f"Visual Wake Words folder {self.path}{limit}"

    def search_space(self, budget):
        """(SearchSpace, stage-1 grid) of the search: MCUNet's space for a 2-class image model; the compact
        variant (quick preset) allows 1 or 2 blocks per stage."""
        from keras_mcunet import SearchSpace

        depths = ((1, 2),) * 5 + ((1,),) if budget.compact_space else ((2, 3, 4),) * 5 + ((1,),)
        space = SearchSpace(in_channels=self.channels, num_classes=len(CLASS_NAMES), stage_depths=depths)
        if budget.compact_space:
            grid = {"width_mults": (0.3, 0.4, 0.5, 0.6, 0.7), "resolutions": (48, 64, 80, 96)}
        else:
            grid = {"width_mults": (0.2, 0.3, 0.4, 0.5, 0.6), "resolutions": (48, 64, 80, 96)}
        return space, grid

    def search_resolution(self, resolutions) -> int:
        """The images are loaded at the largest candidate resolution; the search resizes them for the others."""
        return max(int(r) if not isinstance(r, tuple) else max(r) for r in resolutions)

    def data(self, resolution) -> VWWData:
        """The three splits at ``resolution`` (int or (h, w)), loaded with load_vww / load_default_vww."""
        key = resolution if isinstance(resolution, int) else tuple(resolution)
        if key in self._cache:
            return self._cache[key]
        if self.path is None:
            train, val = load_default_vww(resolution, self.channels, seed=self.seed,
                                          samples_per_class=self.samples_per_class,
                                          val_samples_per_class=self.val_samples_per_class)
        else:
            train, val = load_vww(self.path, resolution, self.channels, seed=self.seed,
                                  max_images_per_class=self.max_images_per_class, progress=self.progress)
        x, y = train
        n_search = max(1, int(round(len(x) * self.search_val_fraction)))
        order = np.random.default_rng(self.seed + 1).permutation(len(x))
        search_idx, train_idx = np.sort(order[:n_search]), np.sort(order[n_search:])
        result = VWWData((x[train_idx], y[train_idx]), (x[search_idx], y[search_idx]), val, self.describe())
        self._cache = {key: result}
        return result

    def model_input(self, data: VWWData, shape):
        """(train, eval) float inputs for a model of input (H, W, C); the images are already at H x W."""
        return data.train, data.val

    def write_sample(self, data: VWWData, path_dir, prefer_class: int = 1) -> Path:
        """A validation image of class ``prefer_class`` (person) as sample.bmp in ``path_dir``."""
        x, y = data.val
        idx = np.flatnonzero(y == prefer_class)
        image = x[idx[0] if len(idx) else 0]
        return write_sample_bmp(image, Path(path_dir) / "sample.bmp")

    def reference_input(self, file, shape, scale: float, zero_point: int) -> np.ndarray:
        """What the C computes from an image file, in Python: load_image (nearest resize) then quantize_int8."""
        h, w, c = shape
        return quantize_int8(load_image(file, (h, w), c), scale, zero_point)

